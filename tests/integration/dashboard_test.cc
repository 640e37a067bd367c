// dashboards/failover.json against real data: every PromQL expression of the dashboard
// (panel targets, annotations, template variables), with Grafana's variables substituted,
// runs against a real Prometheus that scrapes a running failover_exporter (probing the
// stack's nginx regions, PowerDNS, a MariaDB primary/replica, the Redis replica, an HTTPS
// server and the CloudWatch fake) and a running failover_actuator, and evaluates
// rules/failover.rules.yml. Every query must parse and return data: a panel that stays
// empty on a healthy system is a broken panel. The RPO guards that docs/actuator-steps.md
// shows for aurora_global_failover run against the same Prometheus.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/http_client.h"
#include "tests/support/fake_cloudwatch.h"
#include "tests/support/http_call.h"
#include "tests/support/stack.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"
#include "tests/support/tls_cert.h"
#include "tests/support/wait.h"

namespace failover::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const std::string kDashboard = std::string(FAILOVER_SOURCE_DIR) + "/dashboards/failover.json";
const std::string kRules = std::string(FAILOVER_SOURCE_DIR) + "/rules/failover.rules.yml";
const std::string kSteps = std::string(FAILOVER_SOURCE_DIR) + "/docs/actuator-steps.md";

json LoadDashboard() {
  std::ifstream in(kDashboard);
  if (!in) {
    ADD_FAILURE() << "cannot read " << kDashboard;
    return json::object();
  }
  return json::parse(in);
}

// One PromQL expression of the dashboard and where it is.
struct Query {
  std::string where;  // e.g. `panel "Replication lag" target A`
  std::string expr;
  std::string label;  // template variables: the label label_values() lists
};

void CollectPanels(const json& panels, std::vector<Query>* out) {
  for (const json& p : panels) {
    std::string title = p.value("title", "");
    if (p.contains("targets")) {
      for (const json& t : p["targets"]) {
        if (!t.contains("expr")) continue;
        out->push_back({"panel \"" + title + "\" target " + t.value("refId", "?"),
                        t["expr"].get<std::string>(), ""});
      }
    }
    if (p.contains("panels")) CollectPanels(p["panels"], out);  // rows
  }
}

// label_values(metric{selector}, label) -> {metric{selector}, label}.
bool ParseLabelValues(const std::string& q, std::string* expr, std::string* label) {
  static const std::regex re(R"(^\s*label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$)");
  std::smatch m;
  if (!std::regex_match(q, m, re)) return false;
  *expr = m[1];
  *label = m[2];
  return true;
}

std::vector<Query> ExtractQueries(const json& dash) {
  std::vector<Query> out;
  if (dash.contains("panels")) CollectPanels(dash["panels"], &out);
  json annotations = dash.contains("annotations") ? dash["annotations"].value("list", json::array())
                                                  : json::array();
  for (const json& a : annotations) {
    std::string expr = a.value("expr", "");
    if (expr.empty() && a.contains("target")) expr = a["target"].value("expr", "");
    if (!expr.empty()) out.push_back({"annotation \"" + a.value("name", "") + "\"", expr, ""});
  }
  json variables =
      dash.contains("templating") ? dash["templating"].value("list", json::array()) : json::array();
  for (const json& v : variables) {
    if (v.value("type", "") != "query") continue;
    std::string q = v["query"].is_object() ? v["query"].value("query", "") : v.value("query", "");
    Query query{"variable $" + v.value("name", ""), "", ""};
    EXPECT_TRUE(ParseLabelValues(q, &query.expr, &query.label))
        << query.where << ": not label_values(metric{...}, label): " << q;
    out.push_back(query);
  }
  return out;
}

// Grafana's variable substitution, for single values: $__rate_interval, $__interval,
// $__range, then $name / ${name} / [[name]] (longest names first).
std::string Substitute(std::string expr, const std::map<std::string, std::string>& vars) {
  std::map<std::string, std::string> all = {
      {"__rate_interval", "1m"}, {"__interval", "15s"}, {"__range", "1h"}};
  all.insert(vars.begin(), vars.end());
  std::vector<std::string> names;
  for (const auto& [k, v] : all) names.push_back(k);
  std::sort(names.begin(), names.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  auto replace_all = [&expr](const std::string& from, const std::string& to) {
    for (size_t at = expr.find(from); at != std::string::npos; at = expr.find(from, at + to.size()))
      expr.replace(at, from.size(), to);
  };
  for (const std::string& n : names) {
    replace_all("${" + n + "}", all[n]);
    replace_all("[[" + n + "]]", all[n]);
    replace_all("$" + n, all[n]);
  }
  return expr;
}

// The answer of Prometheus' instant query API: HTTP status and body.
struct Answer {
  int http = 0;
  json body;
  std::string raw;
  bool ok() const { return http == 200 && body.value("status", "") == "success"; }
  // The samples (vector) or the one scalar; empty when nothing came back.
  json Samples() const {
    if (!ok()) return json::array();
    const json& data = body["data"];
    if (data.value("resultType", "") == "scalar") return json::array({data["result"]});
    return data["result"];
  }
};

Answer Instant(const std::string& prometheus, const std::string& expr) {
  auto r = Http("POST", prometheus + "/api/v1/query", "query=" + UrlEncode(expr),
                {{"Content-Type", "application/x-www-form-urlencoded"}});
  Answer a;
  if (!r) {
    a.raw = r.error().message;
    return a;
  }
  a.http = r->status;
  a.raw = r->body;
  a.body = json::parse(r->body, nullptr, false);
  if (a.body.is_discarded()) a.body = json::object();
  return a;
}

// ---- the JSON itself ---------------------------------------------------------------------

TEST(DashboardJson, IsAnImportableGrafanaDashboard) {
  json d = LoadDashboard();
  ASSERT_TRUE(d.is_object());
  EXPECT_GE(d.value("schemaVersion", 0), 39);
  EXPECT_FALSE(d.value("uid", "").empty());
  ASSERT_TRUE(d.contains("__inputs"));
  bool ds_input = false;
  for (const json& in : d["__inputs"]) {
    ds_input = ds_input ||
               (in.value("name", "") == "DS_PROMETHEUS" && in.value("type", "") == "datasource" &&
                in.value("pluginId", "") == "prometheus");
  }
  EXPECT_TRUE(ds_input) << "__inputs needs the DS_PROMETHEUS datasource input";

  std::set<std::string> vars;
  for (const json& v : d["templating"]["list"]) vars.insert(v.value("name", ""));
  EXPECT_TRUE(vars.count("region")) << "variable region";
  EXPECT_TRUE(vars.count("probe")) << "variable probe";

  // A `datasource` variable (type prometheus) that every panel, query, annotation and other
  // variable uses: imported, the DS_PROMETHEUS input sets its value; provisioned from a file
  // (which fills no __inputs), Grafana picks the default Prometheus data source instead of
  // showing "datasource not found". So ${DS_PROMETHEUS} appears only as its current value.
  const json& first_var = d["templating"]["list"][0];
  EXPECT_EQ(first_var.value("name", ""), "datasource");
  EXPECT_EQ(first_var.value("type", ""), "datasource");
  EXPECT_EQ(first_var.value("query", ""), "prometheus");
  json without_current = d;
  without_current["templating"]["list"][0].erase("current");
  without_current.erase("__inputs");
  EXPECT_EQ(without_current.dump().find("DS_PROMETHEUS"), std::string::npos)
      << "a panel or query names the import input instead of the datasource variable";
  for (const json& a : d["annotations"]["list"]) {
    if (a["datasource"].value("type", "") == "prometheus") {
      EXPECT_EQ(a["datasource"].value("uid", ""), "${datasource}") << a.value("name", "");
    }
  }

  // Every panel and query uses the datasource variable; ids are unique; panels fit the grid.
  std::set<int> ids;
  for (const json& p : d["panels"]) {
    std::string title = p.value("title", "");
    EXPECT_TRUE(ids.insert(p.value("id", -1)).second) << "duplicate id: " << title;
    const json& g = p["gridPos"];
    EXPECT_LE(g.value("x", 0) + g.value("w", 0), 24) << title;
    if (p.value("type", "") == "row") continue;
    EXPECT_EQ(p["datasource"].value("uid", ""), "${datasource}") << title;
    ASSERT_TRUE(p.contains("targets")) << title;
    for (const json& t : p["targets"])
      EXPECT_EQ(t["datasource"].value("uid", ""), "${datasource}") << title;
  }
  for (const json& v : d["templating"]["list"]) {
    if (v.value("type", "") == "datasource") continue;
    EXPECT_EQ(v["datasource"].value("uid", ""), "${datasource}") << v.value("name", "");
  }
}

// What issue 6 asks the dashboard to show, by the metric each view is built on.
TEST(DashboardJson, ShowsWhatAnOperatorNeedsDuringAFailover) {
  json d = LoadDashboard();
  std::map<std::string, std::string> type_of_expr;  // expr -> panel type
  double lag_threshold = -1;
  for (const json& p : d["panels"]) {
    if (!p.contains("targets")) continue;
    for (const json& t : p["targets"]) {
      std::string expr = t.value("expr", "");
      type_of_expr[expr] = p.value("type", "");
      if (expr.find("failover_replication_lag_seconds") == std::string::npos) continue;
      // The RPO budget line: a drawn threshold step.
      const json& defaults = p["fieldConfig"]["defaults"];
      EXPECT_NE(defaults["custom"]["thresholdsStyle"].value("mode", "off"), "off");
      for (const json& s : defaults["thresholds"]["steps"])
        if (s["value"].is_number()) lag_threshold = s["value"].get<double>();
    }
  }
  auto panel_with = [&](const std::string& needle, const std::string& type) {
    for (const auto& [expr, t] : type_of_expr)
      if (expr.find(needle) != std::string::npos && (type.empty() || t == type)) return true;
    return false;
  };
  EXPECT_TRUE(panel_with("failover_probe_success", "stat")) << "region status";
  EXPECT_TRUE(panel_with("failover_dns_record_target", "table")) << "DNS target per nameserver";
  EXPECT_TRUE(panel_with("failover_probe_latency_seconds_bucket", "heatmap")) << "latency";
  EXPECT_TRUE(panel_with("failover_probe_http_phase_seconds", "")) << "HTTP phases";
  EXPECT_TRUE(panel_with("failover_actuator_brake_engaged", "stat")) << "brake";
  // Issue 20: Redis and CloudWatch lag next to the databases' lag, and how old CloudWatch's
  // datapoint is.
  auto lag_panel = [&](const std::string& kind) {
    for (const auto& [expr, t] : type_of_expr)
      if (expr.find("failover_replication_lag_seconds{") != std::string::npos &&
          expr.find(kind) != std::string::npos && t == "timeseries")
        return true;
    return false;
  };
  EXPECT_TRUE(lag_panel("kind=~\"mysql|postgres\"")) << "database lag";
  EXPECT_TRUE(lag_panel("kind=\"redis\"")) << "Redis lag";
  EXPECT_TRUE(lag_panel("kind=\"cloudwatch\"")) << "CloudWatch lag";
  EXPECT_TRUE(panel_with("failover_replication_sample_age_seconds{", "timeseries"))
      << "CloudWatch datapoint age";
  bool executions_annotation = false;
  for (const json& a : d["annotations"]["list"])
    executions_annotation =
        executions_annotation ||
        a.value("expr", "").find("failover_actuator_executions_total") != std::string::npos;
  EXPECT_TRUE(executions_annotation) << "failover executions as annotations";

  // The RPO line is the rules' ReplicationLagHigh threshold.
  std::ifstream in(kRules);
  std::stringstream rules;
  rules << in.rdbuf();
  std::smatch m;
  std::string text = rules.str();
  ASSERT_TRUE(std::regex_search(
      text, m,
      std::regex(R"(max by \(region, probe\) \(failover_replication_lag_seconds\) > ([0-9.]+))")))
      << "ReplicationLagHigh not found in " << kRules;
  EXPECT_EQ(lag_threshold, std::stod(m[1])) << "RPO line vs ReplicationLagHigh";
}

TEST(DashboardJson, SubstitutesGrafanaVariables) {
  std::map<std::string, std::string> v = {{"region", "us-east"}, {"probe", ".*"}};
  EXPECT_EQ(Substitute("x{region=~\"$region\",probe=~\"${probe}\"}[$__rate_interval]", v),
            "x{region=~\"us-east\",probe=~\".*\"}[1m]");
  EXPECT_EQ(Substitute("increase(x[$__range]) + y[$__interval] + [[region]]", v),
            "increase(x[1h]) + y[15s] + us-east");
  std::string expr, label;
  ASSERT_TRUE(ParseLabelValues("label_values(up{job=\"a\"}, instance)", &expr, &label));
  EXPECT_EQ(expr, "up{job=\"a\"}");
  EXPECT_EQ(label, "instance");
}

// ---- the queries against the running stack -----------------------------------------------

class DashboardQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = &Stack::Get({"prometheus", "nginx", "powerdns", "mariadb", "redis"});
    prometheus_ = stack_->Env("PROMETHEUS_URL");
    cert_ = std::make_unique<TlsCert>(dir_.path());
    https_ = std::make_unique<TestHttpServer>(cert_.get());
    // A datapoint a minute for the next 20 minutes: always a fresh one (CloudWatch's
    // publishing delay included), however long the test takes.
    for (int k = 0; k < 20; ++k) {
      cloudwatch_.Put("AWS/RDS", "AuroraGlobalDBReplicationLag",
                      {{"DBClusterIdentifier", "orders-west"}}, "Milliseconds",
                      std::chrono::system_clock::now() - seconds(70) + std::chrono::minutes(k),
                      1200);
    }

    std::string nginx_port = stack_->Env("NGINX_PORT");
    std::string exporter_cfg =
        "defaults: {interval: 1s, timeout: 900ms}\n"
        "regions:\n"
        "  us-east: {addresses: [" +
        stack_->Env("REGION_US_EAST_ADDR") +
        "]}\n"
        "  eu-west: {addresses: [" +
        stack_->Env("REGION_EU_WEST_ADDR") +
        "]}\n"
        "probes:\n"
        "  - name: us-east-web\n"
        "    region: us-east\n"
        "    http: {url: \"http://" +
        stack_->Env("REGION_US_EAST_ADDR") + ":" + nginx_port +
        "/healthz\", fail_if_body_not_matches_regexp: [ok]}\n"
        "  - name: us-east-api\n"
        "    region: us-east\n"
        "    http: {url: \"" +
        https_->url("/healthz") + "\", tls: {ca_file: \"" + cert_->cert_path() +
        "\"}}\n"
        "  - name: eu-west-web\n"
        "    region: eu-west\n"
        "    http: {url: \"http://" +
        stack_->Env("REGION_EU_WEST_ADDR") + ":" + nginx_port +
        "/healthz\"}\n"
        "  - name: www-dns\n"
        "    dns: {name: www.example.test, type: A, nameservers: [\"" +
        stack_->Env("PDNS_DNS_ADDR") +
        "\"], expect_region: us-east}\n"
        "  - name: us-east-db\n"
        "    region: us-east\n"
        "    mysql: {address: \"" +
        stack_->Env("MARIADB_PRIMARY_ADDR") + "\", user: monitor, password_file: \"" +
        stack_->Env("MARIADB_MONITOR_PASSWORD_FILE") +
        "\"}\n"
        "  - name: eu-west-db\n"
        "    region: eu-west\n"
        "    mysql: {address: \"" +
        stack_->Env("MARIADB_REPLICA_ADDR") + "\", user: monitor, password_file: \"" +
        stack_->Env("MARIADB_MONITOR_PASSWORD_FILE") +
        "\"}\n"
        "  - name: eu-west-redis\n"
        "    region: eu-west\n"
        "    redis: {address: \"" +
        stack_->Env("REDIS_REPLICA_ADDR") +
        "\"}\n"
        "  - name: orders-aurora-lag\n"
        "    region: eu-west\n"
        "    cloudwatch:\n"
        "      region: us-west-2\n"
        "      url: " +
        cloudwatch_.base_url() + "\n      access_key_id: " + kFakeAwsAccessKeyId +
        "\n      secret_access_key: \"" + kFakeAwsSecretAccessKey +
        "\"\n"
        "      metrics: [{namespace: AWS/RDS, metric_name: AuroraGlobalDBReplicationLag,\n"
        "                 dimensions: {DBClusterIdentifier: orders-west}}]\n";
    exporter_ = std::make_unique<Daemon>("failover_exporter",
                                         dir_.Write("exporter.yml", exporter_cfg), dir_.path());

    // A runbook no alert matches, run by hand below so the execution panels and the
    // executions annotation have something to show.
    std::string actuator_cfg = "prometheus: {url: \"" + prometheus_ +
                               "\", timeout: 3s}\n"
                               "journal: " +
                               dir_.path() +
                               "/journal.db\n"
                               "runbooks:\n"
                               "  - name: drill\n"
                               "    match: {alertname: DashboardTestDrill}\n"
                               "    steps:\n"
                               "      - wait_for: {promql: \"vector(1)\", timeout: 20s}\n";
    actuator_ = std::make_unique<Daemon>("failover_actuator",
                                         dir_.Write("actuator.yml", actuator_cfg), dir_.path());
    ASSERT_FALSE(HasFailure());

    // Prometheus scrapes both every second and evaluates the default rules.
    std::string prom_cfg =
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "rule_files: [\"" +
        kRules +
        "\"]\n"
        "scrape_configs:\n"
        "  - job_name: failover_exporter\n"
        "    static_configs: [{targets: [\"" +
        exporter_->address() +
        "\"]}]\n"
        "  - job_name: failover_actuator\n"
        "    static_configs: [{targets: [\"" +
        actuator_->address() + "\"]}]\n";
    std::ofstream(stack_->Env("PROMETHEUS_CONFIG"), std::ios::trunc) << prom_cfg;
    auto r = Http("POST", prometheus_ + "/-/reload");
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : r.error().message);
    ASSERT_TRUE(WaitFor(
        [&] {
          return Instant(prometheus_, "up{job=~\"failover_exporter|failover_actuator\"} == 1")
                     .Samples()
                     .size() == 2;
        },
        seconds(60)))
        << "Prometheus does not scrape the exporter and the actuator:\n"
        << Instant(prometheus_, "up").raw;
  }

  Stack* stack_ = nullptr;
  std::string prometheus_;
  TempDir dir_;
  FakeCloudWatch cloudwatch_;
  std::unique_ptr<TlsCert> cert_;
  std::unique_ptr<TestHttpServer> https_;
  std::unique_ptr<Daemon> exporter_;
  std::unique_ptr<Daemon> actuator_;
};

TEST_F(DashboardQueriesTest, EveryQueryParsesAndReturnsData) {
  // A finished execution, after Prometheus has seen the counters at 0.
  auto run = Http("POST", "http://" + actuator_->address() + "/api/v1/runbooks/drill/run",
                  R"({"labels":{"region":"us-east"}})", {{"Content-Type", "application/json"}});
  ASSERT_TRUE(run && run->status / 100 == 2) << (run ? run->body : run.error().message);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = Http("GET", "http://" + actuator_->address() + "/api/v1/executions");
        return r && r->status == 200 && r->body.find("\"succeeded\"") != std::string::npos;
      },
      seconds(30)))
      << actuator_->Log();

  json dash = LoadDashboard();
  std::vector<Query> queries = ExtractQueries(dash);
  ASSERT_GE(queries.size(), 20u);

  // "All" for both variables: what the dashboard shows when opened.
  const std::map<std::string, std::string> all = {{"region", ".*"}, {"probe", ".*"}};
  for (const Query& q : queries) {
    std::string expr = Substitute(q.expr, all);
    Answer a;
    // Rates need two scrapes, the executions annotation the scrape after the run, the
    // recording rules one evaluation: poll until the query has data (or give up).
    bool has_data = WaitFor(
        [&] {
          a = Instant(prometheus_, expr);
          return !a.ok() || !a.Samples().empty();
        },
        seconds(60));
    ASSERT_TRUE(a.ok()) << q.where << ": Prometheus refused\n  " << expr << "\n  " << a.raw;
    EXPECT_TRUE(has_data) << q.where << ": no data\n  " << expr;
    if (!q.label.empty()) {
      std::set<std::string> values;
      for (const json& s : a.Samples()) values.insert(s["metric"].value(q.label, ""));
      if (q.label == "region") {
        EXPECT_EQ(values, (std::set<std::string>{"us-east", "eu-west"})) << q.where;
      } else if (q.label == "probe") {
        for (const char* p : {"us-east-web", "us-east-api", "eu-west-web", "www-dns"})
          EXPECT_TRUE(values.count(p)) << q.where << " lacks " << p;
      }
    }
  }

  // The drill's execution shows as an annotation: Grafana draws one where the annotation
  // query's value is >= 1.
  const Query* annotation = nullptr;
  for (const Query& q : queries)
    if (q.where == "annotation \"Failover executions\"") annotation = &q;
  ASSERT_NE(annotation, nullptr);
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const json& s : Instant(prometheus_, Substitute(annotation->expr, all)).Samples()) {
          if (s["metric"].value("runbook", "") == "drill" &&
              s["metric"].value("result", "") == "succeeded" &&
              std::stod(s["value"][1].get<std::string>()) >= 1)
            return true;
        }
        return false;
      },
      seconds(30)))
      << Instant(prometheus_, Substitute(annotation->expr, all)).raw;

  // Each single region (and a single probe of it) as a user picks them: every query parses,
  // and returns data for at least one region (replication lag, say, exists only where the
  // replica is).
  const std::map<std::string, std::string> first_probe = {{"us-east", "us-east-web"},
                                                          {"eu-west", "eu-west-web"}};
  for (const Query& q : queries) {
    bool any = false;
    for (const auto& [region, probe] : first_probe) {
      for (const std::string& p : {std::string(".*"), probe}) {
        std::string expr = Substitute(q.expr, {{"region", region}, {"probe", p}});
        Answer a = Instant(prometheus_, expr);
        EXPECT_TRUE(a.ok()) << q.where << " (region " << region << ", probe " << p
                            << "): Prometheus refused\n  " << expr << "\n  " << a.raw;
        any = any || !a.Samples().empty();
      }
    }
    EXPECT_TRUE(any) << q.where << ": no data for any single region\n  " << q.expr;
  }
}

// The RPO guards docs/actuator-steps.md shows for aurora_global_failover (on the CloudWatch
// lag and on its datapoint's age) hold on the exporter's real series: a runbook copied
// from the docs is not refused for a wrong metric or label name.
TEST_F(DashboardQueriesTest, TheDocumentedCloudWatchGuardsHold) {
  std::ifstream in(kSteps);
  std::stringstream text;
  text << in.rdbuf();
  std::string doc = text.str();
  static const std::regex guard(R"(promql: '([^']*kind="cloudwatch"[^']*)')");
  std::vector<std::string> guards;
  for (std::sregex_iterator it(doc.begin(), doc.end(), guard), end; it != end; ++it)
    guards.push_back((*it)[1]);
  ASSERT_GE(guards.size(), 2u) << "no cloudwatch guards in " << kSteps;
  bool on_lag = false, on_age = false;
  for (const std::string& g : guards) {
    on_lag = on_lag || g.find("failover_replication_lag_seconds{") != std::string::npos;
    on_age = on_age || g.find("failover_replication_sample_age_seconds{") != std::string::npos;
    Answer a;
    bool holds = WaitFor(
        [&] {
          a = Instant(prometheus_, g);
          return !a.ok() || !a.Samples().empty();
        },
        seconds(60));
    ASSERT_TRUE(a.ok()) << g << ": Prometheus refused\n  " << a.raw;
    EXPECT_TRUE(holds) << g << ": the guard would refuse\n  " << a.raw;
  }
  EXPECT_TRUE(on_lag) << "a guard on the lag";
  EXPECT_TRUE(on_age) << "a guard on the datapoint's age";
}

}  // namespace
}  // namespace failover::testing
