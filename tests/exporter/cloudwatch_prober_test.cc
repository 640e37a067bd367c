// The cloudwatch prober against the CloudWatch contract fake (tests/support/fake_cloudwatch.h):
// the lag of a fresh datapoint in seconds with its age, DynamoDB's per-receiving-region
// series, a stale or missing datapoint that must not read as 0 lag, throttling, a wrong
// secret, credentials from STS (fetched off the loop), a silent endpoint, and config
// errors that name file, line and key.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "common/aws_credentials.h"
#include "exporter/probers/cloudwatch.h"
#include "tests/exporter/probe_runner.h"
#include "tests/exporter/prober_checks.h"
#include "tests/support/fake_cloudwatch.h"
#include "tests/support/fake_sts.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"

namespace failover {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::BuildProber;
using testing::Describe;
using testing::FailedWith;
using testing::HasSubstr;
using testing::ProbeRunner;
using testing::RenderSamples;

const std::map<std::string, std::string> kWest = {{"DBClusterIdentifier", "orders-west"}};

std::string Keys() {
  return std::string("    access_key_id: ") + testing::kFakeAwsAccessKeyId +
         "\n    secret_access_key: \"" + testing::kFakeAwsSecretAccessKey + "\"\n";
}

std::string AuroraYaml(const std::string& url, const std::string& extra = "") {
  return "cloudwatch:\n    region: us-west-2\n    url: " + url + "\n" + Keys() + extra +
         "    metrics:\n"
         "      - namespace: AWS/RDS\n"
         "        metric_name: AuroraGlobalDBReplicationLag\n"
         "        dimensions: {DBClusterIdentifier: orders-west}\n";
}

Result<std::shared_ptr<Prober>> Build(const std::string& yaml,
                                      Duration timeout = std::chrono::seconds(5)) {
  return BuildProber(yaml, &NewCloudWatchProber, timeout);
}

// The value of the series `metric{...labels...}` in `text` (labels as rendered, after
// kind="k"), or -1 when there is no such line.
double Value(const std::string& text, const std::string& metric, const std::string& labels) {
  std::string prefix = metric + "{probe=\"p\",kind=\"k\"" + labels + "} ";
  size_t at = text.find(prefix);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + prefix.size()));
}

// The samples of one run of `p` as /metrics renders them; a failed run fails the test and
// gives "".
std::string SamplesOfGoodRun(const Result<std::shared_ptr<Prober>>& p) {
  ProbeRunner runner;
  ProbeResult r = runner.Run(p);
  EXPECT_TRUE(r.success) << Describe(r);
  return r.success ? RenderSamples(r) : "";
}

WallTime Ago(Duration d) { return std::chrono::system_clock::now() - d; }

TEST(CloudWatchProberTest, AuroraLagInSecondsWithTheAgeOfItsDatapoint) {
  testing::FakeCloudWatch cw;
  // Two minutes of history, the newest datapoint 70 s ago (CloudWatch's publishing delay).
  cw.Put("AWS/RDS", "AuroraGlobalDBReplicationLag", kWest, "Milliseconds", Ago(seconds(190)), 9000);
  cw.Put("AWS/RDS", "AuroraGlobalDBReplicationLag", kWest, "Milliseconds", Ago(seconds(70)), 1500);
  // Another cluster's lag must not leak in.
  cw.Put("AWS/RDS", "AuroraGlobalDBReplicationLag", {{"DBClusterIdentifier", "orders-ap"}},
         "Milliseconds", Ago(seconds(70)), 77000);
  auto p = Build(AuroraYaml(cw.base_url()));
  std::string text = SamplesOfGoodRun(p);
  const std::string labels = ",db_cluster_identifier=\"orders-west\"";
  EXPECT_DOUBLE_EQ(Value(text, "failover_replication_lag_seconds", labels), 1.5) << text;
  // The age counts from the start of the datapoint's 60 s period: 70..130 s, plus the run.
  double age = Value(text, "failover_replication_sample_age_seconds", labels);
  EXPECT_GE(age, 70) << text;
  EXPECT_LE(age, 140) << text;

  // What was asked: the unit (so a wrong one gives no data, not a lag off by 1000), period,
  // stat, newest first, a window that ends now.
  auto params = cw.LastParams();
  EXPECT_EQ(params["MetricDataQueries.member.1.MetricStat.Unit"], "Milliseconds");
  EXPECT_EQ(params["MetricDataQueries.member.1.MetricStat.Period"], "60");
  EXPECT_EQ(params["MetricDataQueries.member.1.MetricStat.Stat"], "Maximum");
  EXPECT_EQ(params["MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name"],
            "DBClusterIdentifier");
  EXPECT_EQ(params["ScanBy"], "TimestampDescending");
  auto end = ParseAwsTimestamp(params["EndTime"]);
  ASSERT_TRUE(end) << params["EndTime"];
  EXPECT_LE(std::chrono::abs(*end - std::chrono::system_clock::now()), seconds(10));
  EXPECT_EQ(cw.RejectedAuth(), 0);
}

TEST(CloudWatchProberTest, DynamoDbReplicationLatencyPerReceivingRegion) {
  testing::FakeCloudWatch cw("us-east-1");
  cw.Put("AWS/DynamoDB", "ReplicationLatency",
         {{"TableName", "carts"}, {"ReceivingRegion", "eu-west-1"}}, "Milliseconds",
         Ago(seconds(65)), 850);
  cw.Put("AWS/DynamoDB", "ReplicationLatency",
         {{"TableName", "carts"}, {"ReceivingRegion", "eu-west-1"}}, "Milliseconds",
         Ago(seconds(64)), 1250);  // same period: Maximum takes 1250
  cw.Put("AWS/DynamoDB", "ReplicationLatency",
         {{"TableName", "carts"}, {"ReceivingRegion", "ap-south-1"}}, "Milliseconds",
         Ago(seconds(65)), 4000);
  auto p = Build("cloudwatch:\n    region: us-east-1\n    url: " + cw.base_url() + "\n" + Keys() +
                 "    metrics:\n"
                 "      - {namespace: AWS/DynamoDB, metric_name: ReplicationLatency,\n"
                 "         dimensions: {TableName: carts, ReceivingRegion: eu-west-1}}\n"
                 "      - {namespace: AWS/DynamoDB, metric_name: ReplicationLatency,\n"
                 "         dimensions: {TableName: carts, ReceivingRegion: ap-south-1}}\n");
  std::string text = SamplesOfGoodRun(p);
  EXPECT_DOUBLE_EQ(Value(text, "failover_replication_lag_seconds",
                         ",receiving_region=\"eu-west-1\",table_name=\"carts\""),
                   1.25)
      << text;
  EXPECT_DOUBLE_EQ(Value(text, "failover_replication_lag_seconds",
                         ",receiving_region=\"ap-south-1\",table_name=\"carts\""),
                   4)
      << text;
  EXPECT_EQ(cw.RequestCount(), 1) << "one GetMetricData call for both metrics";
}

TEST(CloudWatchProberTest, StaleDatapointIsNotZeroLag) {
  testing::FakeCloudWatch cw;
  // The last value CloudWatch has is a reassuring 0, but from 20 minutes ago.
  cw.Put("AWS/RDS", "AuroraGlobalDBReplicationLag", kWest, "Milliseconds", Ago(minutes(20)), 0);
  auto p = Build(AuroraYaml(cw.base_url(), "    max_age: 15m\n"));
  ProbeRunner runner;
  ProbeResult r = runner.Run(p);
  EXPECT_TRUE(FailedWith(r, "sample_stale", "not 0"));
  std::string text = RenderSamples(r);
  EXPECT_EQ(text.find("failover_replication_lag_seconds{"), std::string::npos) << text;
  EXPECT_GE(Value(text, "failover_replication_sample_age_seconds",
                  ",db_cluster_identifier=\"orders-west\""),
            20 * 60)
      << text;
}

TEST(CloudWatchProberTest, DefaultMaxAgeIsFivePeriods) {
  testing::FakeCloudWatch cw;
  cw.Put("AWS/RDS", "AuroraGlobalDBReplicationLag", kWest, "Milliseconds", Ago(seconds(400)), 10);
  auto p = Build(AuroraYaml(cw.base_url()));  // period 60s: max_age 5m
  ProbeRunner runner;
  ProbeResult r = runner.Run(p);
  EXPECT_EQ(r.reason, "sample_stale") << Describe(r);
  EXPECT_TRUE(HasSubstr(r.detail, "max_age 5m")) << r.detail;
}

TEST(CloudWatchProberTest, NoDatapointAndWrongUnitFailWithoutALag) {
  testing::FakeCloudWatch cw;
  // Published in Seconds; the probe asks for Milliseconds (the default for this metric):
  // CloudWatch gives nothing rather than a number read in the wrong unit.
  cw.Put("AWS/RDS", "AuroraGlobalDBReplicationLag", kWest, "Seconds", Ago(seconds(70)), 2);
  auto p = Build(AuroraYaml(cw.base_url()));
  ProbeRunner runner;
  ProbeResult r = runner.Run(p);
  EXPECT_TRUE(FailedWith(r, "no_datapoints", "unit Milliseconds"));
  EXPECT_TRUE(HasSubstr(r.detail, "DBClusterIdentifier=orders-west"));
  std::string text = RenderSamples(r);
  EXPECT_EQ(text.find("failover_replication_lag_seconds{"), std::string::npos) << text;
  EXPECT_EQ(text.find("failover_replication_sample_age_seconds{"), std::string::npos) << text;

  // Told the right unit, the same datapoint is 2 s.
  auto ok = Build(AuroraYaml(cw.base_url()) + "        unit: Seconds\n");
  ASSERT_TRUE(ok) << ok.error().message;
  ProbeResult r2 = runner.Run(**ok);
  ASSERT_TRUE(r2.success) << Describe(r2);
  EXPECT_DOUBLE_EQ(Value(RenderSamples(r2), "failover_replication_lag_seconds",
                         ",db_cluster_identifier=\"orders-west\""),
                   2);
}

TEST(CloudWatchProberTest, ThrottlingIsSaidAsSuch) {
  testing::FakeCloudWatch cw;
  cw.Put("AWS/RDS", "AuroraGlobalDBReplicationLag", kWest, "Milliseconds", Ago(seconds(70)), 10);
  cw.FailNext(1, 400, "Throttling", "Rate exceeded");
  auto p = Build(AuroraYaml(cw.base_url()));
  ProbeRunner runner;
  ProbeResult r = runner.Run(p);
  EXPECT_TRUE(FailedWith(r, "throttled", "HTTP 400 Throttling: Rate exceeded"));
  EXPECT_EQ(RenderSamples(r).find("failover_replication_lag_seconds{"), std::string::npos);
  // The next run asks again and gets the value.
  ProbeResult again = runner.Run(**p);
  EXPECT_TRUE(again.success) << Describe(again);
}

TEST(CloudWatchProberTest, WrongSecretIsAuthFailedAndNeverShown) {
  testing::FakeCloudWatch cw;
  const std::string secret = "wRoNg/SecretNeverToBeShown+0000000000000";
  auto p =
      Build("cloudwatch:\n    region: us-west-2\n    url: " + cw.base_url() +
            "\n    access_key_id: " + testing::kFakeAwsAccessKeyId + "\n    secret_access_key: \"" +
            secret +
            "\"\n    metrics: [{namespace: AWS/RDS, metric_name: AuroraGlobalDBReplicationLag, "
            "dimensions: {DBClusterIdentifier: orders-west}}]\n");
  ProbeRunner runner;
  ProbeResult r = runner.Run(p);
  EXPECT_EQ(r.reason, "auth_failed") << Describe(r);
  EXPECT_TRUE(HasSubstr(r.detail, "SignatureDoesNotMatch"));
  EXPECT_EQ(r.detail.find(secret), std::string::npos);
  EXPECT_EQ(cw.RejectedAuth(), 1);
}

TEST(CloudWatchProberTest, CredentialsFromStsAreFetchedAndCached) {
  testing::TempDir dir;
  std::string token_file = dir.Write("token", "jwt");
  testing::FakeSts sts("arn:aws:iam::1:role/r", "jwt");
  sts.IssueKeys(testing::kFakeAwsAccessKeyId, testing::kFakeAwsSecretAccessKey);
  sts.SetExpiration(std::chrono::system_clock::now() + std::chrono::hours(1));
  testing::FakeCloudWatch cw;
  cw.Put("AWS/RDS", "AuroraGlobalDBReplicationLag", kWest, "Milliseconds", Ago(seconds(70)), 300);
  auto p = Build("cloudwatch:\n    region: us-west-2\n    url: " + cw.base_url() +
                 "\n    credential_source: web_identity\n    role_arn: arn:aws:iam::1:role/r\n"
                 "    web_identity_token_file: " +
                 token_file + "\n    sts_url: " + sts.base_url() +
                 "\n    metrics: [{namespace: AWS/RDS, metric_name: AuroraGlobalDBReplicationLag, "
                 "dimensions: {DBClusterIdentifier: orders-west}}]\n");
  ASSERT_TRUE(p) << p.error().message;
  ProbeRunner runner;
  for (int i = 0; i < 2; ++i) {
    ProbeResult r = runner.Run(**p);
    ASSERT_TRUE(r.success) << Describe(r);
    EXPECT_DOUBLE_EQ(Value(RenderSamples(r), "failover_replication_lag_seconds",
                           ",db_cluster_identifier=\"orders-west\""),
                     0.3);
  }
  EXPECT_EQ(sts.Calls(), 1) << "the credentials are cached between runs";
}

TEST(CloudWatchProberTest, SilentEndpointTimesOutAtTheDeadline) {
  testing::TestHttpServer server;
  auto p = Build(AuroraYaml(server.url("/hang")), milliseconds(500));
  ProbeRunner runner;
  ProbeResult r = runner.Run(p, milliseconds(500));
  EXPECT_TRUE(FailedWith(r, "timeout"));
}

// Every key of a cloudwatch block set (ParseCwSpec): the request asks for the configured
// period, stat and unit over a window of twice max_age, and the series carries the
// configured labels instead of the dimensions'.
TEST(CloudWatchProberTest, EveryKeySetIsWhatIsAskedAndExported) {
  testing::FakeCloudWatch cw;
  // Two datapoints in one 300 s period, 10 to 15 minutes ago: their Average is 3 s.
  auto now_s = std::chrono::duration_cast<seconds>(Ago(minutes(10)).time_since_epoch()).count();
  WallTime bucket{seconds(now_s - now_s % 300)};
  cw.Put("AWS/RDS", "ReplicaLag", kWest, "Seconds", bucket + seconds(10), 2);
  cw.Put("AWS/RDS", "ReplicaLag", kWest, "Seconds", bucket + seconds(20), 4);
  auto p = Build("cloudwatch:\n    region: us-west-2\n    url: " + cw.base_url() + "/\n" + Keys() +
                 "    period: 5m\n    stat: Average\n    max_age: 20m\n"
                 "    metrics:\n"
                 "      - namespace: AWS/RDS\n"
                 "        metric_name: ReplicaLag\n"
                 "        dimensions: {DBClusterIdentifier: orders-west}\n"
                 "        unit: Seconds\n"
                 "        labels: {cluster: orders}\n");
  std::string text = SamplesOfGoodRun(p);
  EXPECT_DOUBLE_EQ(Value(text, "failover_replication_lag_seconds", ",cluster=\"orders\""), 3)
      << text;
  EXPECT_EQ(text.find("db_cluster_identifier"), std::string::npos) << text;
  auto params = cw.LastParams();
  EXPECT_EQ(params["MetricDataQueries.member.1.MetricStat.Period"], "300");
  EXPECT_EQ(params["MetricDataQueries.member.1.MetricStat.Stat"], "Average");
  EXPECT_EQ(params["MetricDataQueries.member.1.MetricStat.Unit"], "Seconds");
  EXPECT_EQ(params["MetricDataQueries.member.1.MetricStat.Metric.MetricName"], "ReplicaLag");
  auto start = ParseAwsTimestamp(params["StartTime"]);
  auto end = ParseAwsTimestamp(params["EndTime"]);
  ASSERT_TRUE(start && end) << params["StartTime"] << " " << params["EndTime"];
  // Twice max_age (40m) and one period, and at most one more period for the alignment.
  EXPECT_GE(*end - *start, minutes(45)) << params["StartTime"];
  EXPECT_LE(*end - *start, minutes(50)) << params["StartTime"];
}

// The keys a cloudwatch block and a metric take are the keys the parser reads: an unknown
// one is refused with all of them named.
TEST(CloudWatchConfigTest, UnknownKeyNamesEveryKeyTheBlockTakes) {
  const std::string metric =
      "    metrics: [{namespace: AWS/RDS, metric_name: AuroraGlobalDBReplicationLag}]\n";
  auto p = Build("cloudwatch:\n    region: us-west-2\n    namespace: x\n" + metric);
  ASSERT_FALSE(p);
  // The probe's own keys, then the credential keys (common/aws_credentials.h).
  EXPECT_TRUE(HasSubstr(p.error().message,
                        "probe.yml:3:5: cloudwatch.namespace: unknown key \"namespace\" (known "
                        "keys: region, url, period, stat, max_age, metrics, access_key_id, "))
      << p.error().message;
  p = Build(
      "cloudwatch:\n    region: us-west-2\n    metrics: [{namespace: AWS/RDS, metric_name: "
      "AuroraGlobalDBReplicationLag, stat: Maximum}]\n");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message,
            "probe.yml:3:79: cloudwatch.metrics[0].stat: unknown key \"stat\" (known keys: "
            "namespace, metric_name, dimensions, unit, labels)");
}

TEST(CloudWatchConfigTest, RefusesBadBlocksNamingTheKey) {
  const std::string head = "cloudwatch:\n    region: us-west-2\n";
  const std::string metric =
      "    metrics: [{namespace: AWS/RDS, metric_name: AuroraGlobalDBReplicationLag}]\n";
  struct Case {
    std::string yaml, error;
  } cases[] = {
      {head + "    perod: 60s\n" + metric, "probe.yml:3:5: cloudwatch.perod: unknown key"},
      {"cloudwatch:\n    region: US West\n" + metric,
       "probe.yml:2:13: cloudwatch.region: expected an AWS region"},
      {head + "    period: 45s\n" + metric, "probe.yml:3:13: cloudwatch.period: period must be"},
      {head + "    stat: Max\n" + metric, "probe.yml:3:11: cloudwatch.stat: stat must be"},
      {head + "    max_age: 30s\n" + metric,
       "probe.yml:3:14: cloudwatch.max_age: max_age 30s is shorter than the period"},
      {head + "    url: ftp://x\n" + metric, "cloudwatch.url: expected an http:// or https://"},
      {head, "cloudwatch: missing required key \"metrics\""},
      {head + "    metrics: []\n", "cloudwatch.metrics: metrics is empty"},
      {head + "    metrics: [{namespace: AWS/X, metric_name: Lag}]\n",
       "cloudwatch.metrics[0]: unit is required for Lag"},
      {head + "    metrics: [{namespace: AWS/X, metric_name: Lag, unit: Minutes}]\n",
       "cloudwatch.metrics[0].unit: unit must be Seconds, Milliseconds or Microseconds"},
      {head + "    metrics: [{namespace: AWS/X, metric_name: Lag, unit: Seconds,\n"
              "               dimensions: {Region: x}}]\n",
       "would be label \"region\", which is reserved"},
      {head + "    metrics: [{namespace: AWS/X, metric_name: Lag, unit: Seconds,\n"
              "               labels: {job: x}}]\n",
       "label \"job\" is reserved"},
      {head + "    metrics:\n      - {namespace: AWS/X, metric_name: A, unit: Seconds}\n"
              "      - {namespace: AWS/X, metric_name: B, unit: Seconds}\n",
       "probe.yml:5:9: cloudwatch.metrics[1]: metrics 1 and 2 would export the same series"},
      {head + "    profile: x\n    access_key_id: y\n" + metric, "choose one of"},
  };
  for (const Case& c : cases) {
    auto p = Build(c.yaml);
    ASSERT_FALSE(p) << c.yaml;
    EXPECT_TRUE(HasSubstr(p.error().message, c.error)) << c.yaml;
  }
}

TEST(CloudWatchConfigTest, DimensionNamesBecomeSnakeCaseLabels) {
  EXPECT_EQ(SnakeCase("DBClusterIdentifier"), "db_cluster_identifier");
  EXPECT_EQ(SnakeCase("ReceivingRegion"), "receiving_region");
  EXPECT_EQ(SnakeCase("TableName"), "table_name");
  EXPECT_EQ(SnakeCase("Role"), "role");
  EXPECT_EQ(SnakeCase("instance-id"), "instance_id");
}

}  // namespace
}  // namespace failover
