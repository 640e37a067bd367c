// The route53 DNS provider against the Route 53 fake (tests/support/fake_route53.h), which
// checks every request's SigV4 signature with the test secret.
#include "actuator/dns/route53.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "actuator/steps/dns_update.h"
#include "common/aws_api.h"
#include "tests/actuator/hosted_dns_test_util.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_route53.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

using testing::FakeRoute53;
using testing::FakeRoute53RecordSet;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class Route53Test : public ::testing::Test {
 protected:
  void SetUp() override {
    id_file_ = dir_.Write("aws.id", std::string(testing::kFakeAwsAccessKeyId) + "\n");
    secret_file_ = dir_.Write("aws.secret", std::string(testing::kFakeAwsSecretAccessKey) + "\n");
  }

  std::string Config(const std::string& extra = "", const std::string& secret_file = "") {
    return "{hosted_zone_id: " + std::string(FakeRoute53::kZoneId) + ", url: " + fake_.base_url() +
           ", access_key_id_file: " + id_file_ +
           ", secret_access_key_file: " + (secret_file.empty() ? secret_file_ : secret_file) +
           ", poll_interval: 2s" + extra + "}";
  }

  std::shared_ptr<DnsProvider> Make(const std::string& yaml) {
    auto node = YamlNode::LoadString(yaml, "actuator.yml");
    EXPECT_TRUE(node) << node.error().message;
    DnsProviderContext ctx{&http_, &clock_};
    auto p = NewRoute53Provider(*node, ctx);
    EXPECT_TRUE(p) << p.error().message;
    return p ? *p : nullptr;
  }

  MonoTime Deadline(Duration d = std::chrono::seconds(60)) { return clock_.Now() + d; }

  testing::TempDir dir_;
  std::string id_file_;
  std::string secret_file_;
  FakeRoute53 fake_{"example.com."};
  testing::FakeClock clock_;
  CurlHttpClient http_;
};

TEST_F(Route53Test, CreateReplaceAndDelete) {
  auto p = Make(Config());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind(), "route53");
  auto none = p->Get("example.com.", "www.example.com.", "A", Deadline());
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(*none);

  DnsRecordSet set{"www.example.com.", "A", 30, {"192.0.2.20", "192.0.2.10"}};
  auto s = p->Set("example.com.", set, Deadline());
  ASSERT_TRUE(s) << s.error().message;
  auto held = fake_.Find("www.example.com.", "A");
  ASSERT_TRUE(held);
  EXPECT_EQ(held->ttl, 30);
  EXPECT_EQ(held->values, (std::vector<std::string>{"192.0.2.20", "192.0.2.10"}));
  EXPECT_TRUE(Contains(fake_.ChangeBodies().back(), "<Action>UPSERT</Action>"));

  auto got = p->Get("example.com.", "www.example.com.", "A", Deadline());
  ASSERT_TRUE(got && *got) << (got ? "absent" : got.error().message);
  EXPECT_EQ((*got)->records, (std::vector<std::string>{"192.0.2.10", "192.0.2.20"}));
  EXPECT_EQ((*got)->ttl, 30);

  ASSERT_TRUE(p->Set("example.com.", {"www.example.com.", "A", 60, {"192.0.2.30"}}, Deadline()));
  EXPECT_EQ(fake_.Find("www.example.com.", "A")->values, std::vector<std::string>{"192.0.2.30"});
  EXPECT_EQ(fake_.Find("www.example.com.", "A")->ttl, 60);

  // No records wanted: the current set is deleted (Route 53 needs its exact values).
  ASSERT_TRUE(p->Set("example.com.", {"www.example.com.", "A", 0, {}}, Deadline()));
  EXPECT_FALSE(fake_.Find("www.example.com.", "A"));
  EXPECT_TRUE(Contains(fake_.ChangeBodies().back(), "<Action>DELETE</Action>"));
  EXPECT_EQ(fake_.WriteCount(), 3);
  // Deleting what is not there writes nothing.
  ASSERT_TRUE(p->Set("example.com.", {"www.example.com.", "A", 0, {}}, Deadline()));
  EXPECT_EQ(fake_.WriteCount(), 3);
}

TEST_F(Route53Test, ListingFromNameAndTypeDoesNotTakeTheNextRecordSet) {
  // Route 53 lists from name+type onwards, one set per page here (maxitems=1) with
  // IsTruncated/NextRecordName: a missing set must not be confused with its neighbour.
  fake_.Put("a.example.com.", "A", 300, {"192.0.2.1"});
  fake_.Put("www.example.com.", "A", 300, {"192.0.2.2"});
  fake_.Put("www.example.com.", "TXT", 300, {"\"v=1\""});
  fake_.Put("*.example.com.", "A", 300, {"192.0.2.9"});
  fake_.Put("zzz.example.com.", "AAAA", 300, {"2001:db8::1"});
  auto p = Make(Config());
  ASSERT_TRUE(p);
  auto www_txt = p->Get("example.com.", "www.example.com.", "TXT", Deadline());
  ASSERT_TRUE(www_txt && *www_txt);
  EXPECT_EQ((*www_txt)->records, std::vector<std::string>{"\"v=1\""});
  auto www_aaaa = p->Get("example.com.", "www.example.com.", "AAAA", Deadline());
  ASSERT_TRUE(www_aaaa) << www_aaaa.error().message;
  EXPECT_FALSE(*www_aaaa);  // the listing continues with www TXT: not ours
  auto b = p->Get("example.com.", "b.example.com.", "A", Deadline());
  ASSERT_TRUE(b);
  EXPECT_FALSE(*b);
  // Route 53 shows '*' as \052; the provider reads it back as '*'.
  auto wild = p->Get("example.com.", "*.example.com.", "A", Deadline());
  ASSERT_TRUE(wild && *wild) << (wild ? "absent" : wild.error().message);
  EXPECT_EQ((*wild)->name, "*.example.com.");
  EXPECT_EQ((*wild)->records, std::vector<std::string>{"192.0.2.9"});
  EXPECT_EQ(fake_.WriteCount(), 0);
}

FakeRoute53RecordSet Routed(const std::string& id, std::vector<std::string> values,
                            std::optional<int> weight, std::string failover = "",
                            std::string health_check = "") {
  FakeRoute53RecordSet s;
  s.name = "api.example.com.";
  s.type = "A";
  s.ttl = 60;
  s.values = std::move(values);
  s.set_identifier = id;
  s.weight = weight;
  s.failover = std::move(failover);
  s.health_check_id = std::move(health_check);
  return s;
}

TEST_F(Route53Test, WeightedRecordSetsAreListedNotTakenForASimpleSet) {
  fake_.Put(Routed("one", {"192.0.2.1"}, 10));
  fake_.Put(Routed("two", {"192.0.2.2"}, 20));
  auto p = Make(Config());
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->Supports(DnsFeature::kWeighted));
  // Get is for the simple set: a routing set there is an error that says what to use.
  auto got = p->Get("example.com.", "api.example.com.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "routing policy")) << got.error().message;
  EXPECT_TRUE(Contains(got.error().message, "SetIdentifier")) << got.error().message;
  // ListSets reads both, with their weights, following the pages.
  auto all = p->ListSets("example.com.", "api.example.com.", "A", Deadline());
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].set_identifier, "one");
  EXPECT_EQ((*all)[0].weight, 10);
  EXPECT_EQ((*all)[1].set_identifier, "two");
  EXPECT_EQ((*all)[1].weight, 20);
  EXPECT_EQ((*all)[1].records, std::vector<std::string>{"192.0.2.2"});

  // Both weights in one atomic batch.
  DnsRecordSet one = (*all)[0], two = (*all)[1];
  one.weight = 0;
  two.weight = 100;
  ASSERT_TRUE(p->Upsert("example.com.", {one, two}, Deadline()));
  EXPECT_EQ(fake_.WriteCount(), 1);
  EXPECT_EQ(fake_.Find("api.example.com.", "A", "one")->weight, 0);
  EXPECT_EQ(fake_.Find("api.example.com.", "A", "two")->weight, 100);
  EXPECT_EQ(fake_.Find("api.example.com.", "A", "two")->values,
            std::vector<std::string>{"192.0.2.2"});
  const std::string body = fake_.ChangeBodies().back();
  EXPECT_TRUE(Contains(body, "<SetIdentifier>one</SetIdentifier><Weight>0</Weight>")) << body;

  // A weight Route 53 refuses comes back with its message, nothing changed.
  two.weight = 256;
  auto bad = p->Upsert("example.com.", {two}, Deadline());
  ASSERT_FALSE(bad);
  EXPECT_FALSE(bad.error().retryable);
  EXPECT_TRUE(Contains(bad.error().message, "less than or equal to 255")) << bad.error().message;
  EXPECT_EQ(fake_.WriteCount(), 1);
}

TEST_F(Route53Test, DnsUpdateSwitchesAnAliasToAnotherAlb) {
  const std::string us = "us-east-alb-1.us-east-1.elb.amazonaws.com.";
  const std::string eu = "eu-west-alb-2.eu-west-1.elb.amazonaws.com.";
  fake_.AddAliasTarget("Z35SXDOTRQ7X7K", us);
  fake_.AddAliasTarget("Z32O12XQLNTSW2", eu);
  FakeRoute53RecordSet www;
  www.name = "www.example.com.";
  www.type = "A";
  www.alias_zone_id = "Z35SXDOTRQ7X7K";
  www.alias_dns_name = us;
  www.evaluate_target_health = true;
  fake_.Put(www);
  auto provider = Make(Config());
  ASSERT_TRUE(provider);
  auto got = provider->Get("example.com.", "www.example.com.", "A", Deadline());
  ASSERT_TRUE(got && *got) << (got ? "absent" : got.error().message);
  ASSERT_TRUE((*got)->alias);
  EXPECT_EQ((*got)->alias->dns_name, us);

  ProviderMap providers{{"r53", provider}};
  StepFactoryContext fctx;
  fctx.providers = &providers;
  auto load = [&](const std::string& dns_name) {
    auto node = YamlNode::LoadString(
        "{provider: r53, zone: example.com, name: www.example.com., type: A,"
        " AliasTarget: {HostedZoneId: Z32O12XQLNTSW2, DNSName: " +
            dns_name + ", EvaluateTargetHealth: true}}",
        "actuator.yml");
    auto step = NewDnsUpdateStep(*node, fctx);
    EXPECT_TRUE(step) << step.error().message;
    return step ? std::move(*step) : nullptr;
  };
  auto run = [&](Step& step) { return testing::RunStep(step, clock_, nullptr, &http_); };
  auto step = load("EU-West-ALB-2.eu-west-1.elb.amazonaws.com");
  ASSERT_TRUE(step);
  StepOutcome out = run(*step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_TRUE(Contains(out.message, "alias to " + us)) << out.message;
  EXPECT_TRUE(Contains(out.message, "-> alias to " + eu)) << out.message;
  auto held = fake_.Find("www.example.com.", "A");
  ASSERT_TRUE(held);
  EXPECT_EQ(held->alias_dns_name, eu);
  EXPECT_EQ(held->alias_zone_id, "Z32O12XQLNTSW2");
  EXPECT_TRUE(held->values.empty());
  const std::string body = fake_.ChangeBodies().back();
  EXPECT_TRUE(Contains(body, "<AliasTarget><HostedZoneId>Z32O12XQLNTSW2</HostedZoneId><DNSName>" +
                                 eu + "</DNSName><EvaluateTargetHealth>true"))
      << body;
  EXPECT_FALSE(Contains(body, "<TTL>")) << body;
  EXPECT_EQ(out.details["after"]["alias_target"]["dns_name"], eu);
  EXPECT_EQ(out.details["before"]["alias_target"]["dns_name"], us);

  // Again: already there, nothing written.
  StepOutcome again = run(*step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_TRUE(Contains(again.message, "nothing to do")) << again.message;
  EXPECT_EQ(fake_.WriteCount(), 1);

  // An alias to a name Route 53 does not know: its InvalidChangeBatch, not retried.
  auto typo = load("eu-west-alb-3.eu-west-1.elb.amazonaws.com.");
  ASSERT_TRUE(typo);
  StepOutcome bad = run(*typo);
  ASSERT_EQ(bad.status, StepStatus::kFailed) << bad.message;
  EXPECT_TRUE(Contains(bad.message, "InvalidChangeBatch")) << bad.message;
  EXPECT_TRUE(Contains(bad.message, "does not lie within the target zone")) << bad.message;
  EXPECT_EQ(fake_.Find("www.example.com.", "A")->alias_dns_name, eu);
}

TEST_F(Route53Test, DnsUpdateFlipsWhichFailoverRecordIsPrimary) {
  fake_.Put(Routed("us-east", {"192.0.2.10"}, std::nullopt, "PRIMARY", "hc-us-east"));
  fake_.Put(Routed("eu-west", {"198.51.100.10"}, std::nullopt, "SECONDARY", "hc-eu-west"));
  auto provider = Make(Config());
  ASSERT_TRUE(provider);

  // Route 53 keeps one PRIMARY: making eu-west PRIMARY alone is refused, nothing changes.
  auto all = provider->ListSets("example.com.", "api.example.com.", "A", Deadline());
  ASSERT_TRUE(all && all->size() == 2u);
  DnsRecordSet eu = (*all)[0].set_identifier == "eu-west" ? (*all)[0] : (*all)[1];
  eu.failover = "PRIMARY";
  auto two_primaries = provider->Upsert("example.com.", {eu}, Deadline());
  ASSERT_FALSE(two_primaries);
  EXPECT_TRUE(Contains(two_primaries.error().message, "InvalidChangeBatch"))
      << two_primaries.error().message;
  EXPECT_EQ(fake_.WriteCount(), 0);

  auto step = testing::NewDnsUpdateStepWith(
      "r53", provider,
      "{provider: r53, zone: example.com, name: api.example.com., type: A,"
      " SetIdentifier: eu-west, Failover: PRIMARY}");
  ASSERT_TRUE(step) << step.error().message;
  auto run = [&] { return testing::RunStep(**step, clock_, nullptr, &http_); };
  StepOutcome out = run();
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_EQ(fake_.WriteCount(), 1);  // both sets in one batch
  auto new_primary = fake_.Find("api.example.com.", "A", "eu-west");
  auto new_secondary = fake_.Find("api.example.com.", "A", "us-east");
  ASSERT_TRUE(new_primary && new_secondary);
  EXPECT_EQ(new_primary->failover, "PRIMARY");
  EXPECT_EQ(new_secondary->failover, "SECONDARY");
  // Records and health checks are kept as they were.
  EXPECT_EQ(new_primary->values, std::vector<std::string>{"198.51.100.10"});
  EXPECT_EQ(new_primary->health_check_id, "hc-eu-west");
  EXPECT_EQ(new_secondary->health_check_id, "hc-us-east");
  EXPECT_TRUE(Contains(out.message, "[SetIdentifier eu-west, PRIMARY")) << out.message;
  EXPECT_TRUE(Contains(out.message, "[SetIdentifier us-east, SECONDARY")) << out.message;
  ASSERT_EQ(out.details["before"].size(), 2u);
  ASSERT_EQ(out.details["after"].size(), 2u);

  StepOutcome again = run();
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_TRUE(Contains(again.message, "nothing to do")) << again.message;
  EXPECT_EQ(fake_.WriteCount(), 1);
}

TEST_F(Route53Test, WaitsForInSync) {
  fake_.SetPendingPolls(3);
  auto p = Make(Config());
  ASSERT_TRUE(p);
  MonoTime start = clock_.Now();
  ASSERT_TRUE(p->Set("example.com.", {"www.example.com.", "A", 30, {"192.0.2.1"}}, Deadline()));
  EXPECT_EQ(fake_.GetChangeRequests(), 4);                   // 3 x PENDING, then INSYNC
  EXPECT_GE(clock_.Now() - start, std::chrono::seconds(8));  // every poll_interval (2s)

  // A change still PENDING at the deadline is a retryable error that says so.
  fake_.SetPendingPolls(100);
  auto s = p->Set("example.com.", {"www.example.com.", "A", 30, {"192.0.2.2"}},
                  Deadline(std::chrono::seconds(7)));
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().retryable);
  EXPECT_TRUE(Contains(s.error().message, "still PENDING")) << s.error().message;
  EXPECT_EQ(fake_.Find("www.example.com.", "A")->values, std::vector<std::string>{"192.0.2.2"});
}

TEST_F(Route53Test, ThrottlingAnd5xxAreRetriedHonouringRetryAfter) {
  auto p = Make(Config());
  ASSERT_TRUE(p);
  fake_.FailNext(2, 400, "Throttling", 5);
  MonoTime start = clock_.Now();
  ASSERT_TRUE(p->Set("example.com.", {"www.example.com.", "A", 30, {"192.0.2.1"}}, Deadline()));
  EXPECT_GE(clock_.Now() - start, std::chrono::seconds(10));  // 2 x Retry-After: 5
  EXPECT_EQ(fake_.WriteCount(), 1);

  fake_.FailNext(1, 429, "", 1);
  auto got = p->Get("example.com.", "www.example.com.", "A", Deadline());
  ASSERT_TRUE(got && *got);
  fake_.FailNext(2, 503, "");
  got = p->Get("example.com.", "www.example.com.", "A", Deadline());
  ASSERT_TRUE(got && *got);
  fake_.FailNext(1, 400, "PriorRequestNotComplete");
  ASSERT_TRUE(p->Set("example.com.", {"www.example.com.", "A", 30, {"192.0.2.3"}}, Deadline()));
  EXPECT_EQ(fake_.WriteCount(), 2);

  // Throttled until the deadline: a retryable error, the engine may try again later.
  fake_.FailNext(100, 400, "Throttling", 30);
  auto late = p->Get("example.com.", "www.example.com.", "A", Deadline(std::chrono::seconds(20)));
  ASSERT_FALSE(late);
  EXPECT_TRUE(late.error().retryable);
  EXPECT_TRUE(Contains(late.error().message, "Throttling: Rate exceeded")) << late.error().message;
}

TEST_F(Route53Test, ClientErrorsAreNotRetriedAndCarryRoute53sMessage) {
  auto p = Make(Config());
  ASSERT_TRUE(p);
  int before = fake_.RequestCount();
  auto s = p->Set("example.com.", {"www.example.com.", "A", 30, {"not-an-address"}}, Deadline());
  ASSERT_FALSE(s);
  EXPECT_FALSE(s.error().retryable);
  EXPECT_EQ(fake_.RequestCount(), before + 1);
  EXPECT_TRUE(Contains(s.error().message, "InvalidChangeBatch")) << s.error().message;
  EXPECT_TRUE(Contains(s.error().message, "ARRDATAIllegalIPv4Address")) << s.error().message;
  EXPECT_EQ(fake_.WriteCount(), 0);

  s = p->Set("example.com.", {"www.other.org.", "A", 30, {"192.0.2.1"}}, Deadline());
  ASSERT_FALSE(s);
  EXPECT_TRUE(Contains(s.error().message, "is not permitted in zone example.com."))
      << s.error().message;

  auto wrong_zone =
      Make("{hosted_zone_id: ZNOPE, url: " + fake_.base_url() +
           ", access_key_id_file: " + id_file_ + ", secret_access_key_file: " + secret_file_ + "}");
  ASSERT_TRUE(wrong_zone);
  auto got = wrong_zone->Get("example.com.", "www.example.com.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(
      Contains(got.error().message, "NoSuchHostedZone: No hosted zone found with ID: ZNOPE"))
      << got.error().message;
}

TEST_F(Route53Test, AWrongSecretIsRejectedWithoutShowingSecrets) {
  const std::string wrong = "wrongWRONGwrongSECRETvalue/0123456789abcd";
  const std::string token = "SESSIONTOKENvalue0123456789";
  std::string wrong_file = dir_.Write("wrong.secret", wrong);
  std::string token_file = dir_.Write("aws.token", token);
  fake_.RequireSessionToken(token);
  auto p = Make(Config(", session_token_file: " + token_file, wrong_file));
  ASSERT_TRUE(p);
  auto got = p->Get("example.com.", "www.example.com.", "A", Deadline());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_EQ(got.error().code, ErrorCode::kPermissionDenied);
  const std::string& msg = got.error().message;
  EXPECT_TRUE(Contains(msg, "SignatureDoesNotMatch")) << msg;
  EXPECT_TRUE(Contains(msg, "check the AWS credentials")) << msg;
  EXPECT_TRUE(Contains(msg, wrong_file)) << msg;  // where the secret comes from
  EXPECT_FALSE(Contains(msg, wrong)) << msg;
  EXPECT_FALSE(Contains(msg, testing::kFakeAwsSecretAccessKey)) << msg;
  EXPECT_FALSE(Contains(msg, token)) << msg;  // AWS quotes the canonical request; scrubbed
  EXPECT_EQ(fake_.RejectedAuth(), 1);         // not retried

  // With the right secret and the token, the same provider configuration works.
  auto good = Make(Config(", session_token_file: " + token_file));
  ASSERT_TRUE(good);
  auto ok = good->Get("example.com.", "www.example.com.", "A", Deadline());
  ASSERT_TRUE(ok) << ok.error().message;
}

// url: may name the API version too (the SDKs' endpoint form); requests still go to
// /2013-04-01/... once.
TEST_F(Route53Test, UrlMayEndInTheApiVersion) {
  auto p = Make("{hosted_zone_id: /hostedzone/" + std::string(FakeRoute53::kZoneId) +
                ", url: " + fake_.base_url() + "/2013-04-01/, access_key_id_file: " + id_file_ +
                ", secret_access_key_file: " + secret_file_ + "}");
  ASSERT_TRUE(p);
  auto s = p->Set("example.com.", {"www.example.com.", "A", 30, {"192.0.2.1"}}, Deadline());
  EXPECT_TRUE(s) << s.error().message;
  auto got = p->Get("example.com.", "www.example.com.", "A", Deadline());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->records, std::vector<std::string>{"192.0.2.1"});
}

TEST_F(Route53Test, CredentialsFromTheStandardEnvironmentVariables) {
  setenv("AWS_ACCESS_KEY_ID", testing::kFakeAwsAccessKeyId, 1);
  setenv("AWS_SECRET_ACCESS_KEY", testing::kFakeAwsSecretAccessKey, 1);
  unsetenv("AWS_SESSION_TOKEN");
  auto p = Make("{hosted_zone_id: " + std::string(FakeRoute53::kZoneId) +
                ", url: " + fake_.base_url() + "}");
  ASSERT_TRUE(p);
  auto s = p->Set("example.com.", {"www.example.com.", "A", 30, {"192.0.2.1"}}, Deadline());
  EXPECT_TRUE(s) << s.error().message;
  unsetenv("AWS_SECRET_ACCESS_KEY");
  auto missing = p->Get("example.com.", "www.example.com.", "A", Deadline());
  ASSERT_FALSE(missing);
  EXPECT_TRUE(Contains(missing.error().message, "AWS_SECRET_ACCESS_KEY"))
      << missing.error().message;
  unsetenv("AWS_ACCESS_KEY_ID");
}

TEST_F(Route53Test, TheFakeRejectsRequestsOffTheContract) {
  // The fake is strict, so a client that drifts from the contract fails the tests.
  AwsApi api("test", fake_.base_url(), "us-east-1", "route53",
             AwsCredentialSource::Static(
                 {testing::kFakeAwsAccessKeyId, testing::kFakeAwsSecretAccessKey, ""}),
             &http_, &clock_);
  const std::string zone = std::string("/2013-04-01/hostedzone/") + FakeRoute53::kZoneId;
  AwsCall no_slash{"POST", zone + "/rrset", "", "<x/>", "application/xml", true, "no slash"};
  auto r = api.Send(no_slash, Deadline());
  ASSERT_FALSE(r);
  EXPECT_TRUE(Contains(r.error().message, "HTTP 404")) << r.error().message;
  AwsCall no_ns{"POST",
                zone + "/rrset/",
                "",
                "<ChangeResourceRecordSetsRequest><ChangeBatch/></ChangeResourceRecordSetsRequest>",
                "application/xml",
                true,
                "no namespace"};
  r = api.Send(no_ns, Deadline());
  ASSERT_FALSE(r);
  EXPECT_TRUE(Contains(r.error().message, "InvalidInput")) << r.error().message;
  AwsCall bad_max{"GET", zone + "/rrset", "maxitems=0", "", "", true, "maxitems 0"};
  r = api.Send(bad_max, Deadline());
  ASSERT_FALSE(r);
  EXPECT_TRUE(Contains(r.error().message, "InvalidInput")) << r.error().message;

  // Unsigned: refused like AWS does.
  HttpRequest unsigned_req;
  unsigned_req.url = fake_.base_url() + zone + "/rrset";
  auto plain = http_.Send(unsigned_req);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->status, 403);
  EXPECT_TRUE(Contains(plain->body, "<Code>MissingAuthenticationToken</Code>")) << plain->body;
  EXPECT_EQ(fake_.WriteCount(), 0);
}

TEST_F(Route53Test, ConfigErrorsAreLocated) {
  DnsProviderContext ctx{&http_, &clock_};
  auto load = [&](const std::string& yaml) {
    return NewRoute53Provider(*YamlNode::LoadString(yaml, "actuator.yml"), ctx);
  };
  EXPECT_TRUE(testing::FailsWith(load("{url: http://127.0.0.1:1}"),
                                 {"actuator.yml:1:1", "hosted_zone_id"}));
  EXPECT_TRUE(testing::FailsWith(load("{hosted_zone_id: 'Z 1'}"), {"actuator.yml:1:18"}));
  EXPECT_TRUE(
      testing::FailsWith(load("{hosted_zone_id: Z1,\n url: ftp://x}"), {"actuator.yml:2:7"}));
  EXPECT_TRUE(
      testing::FailsWith(load("{hosted_zone_id: Z1, access_key_id: AKID}"), {"secret_access_key"}));
  EXPECT_TRUE(
      testing::FailsWith(load("{hosted_zone_id: Z1, secret_key_file: /x}"), {"secret_key_file"}));
  auto prefixed = load("{hosted_zone_id: /hostedzone/Z1}");
  EXPECT_TRUE(prefixed) << prefixed.error().message;
  for (const char* poll : {"0s", "6m"}) {
    auto bad_poll = load(std::string("{hosted_zone_id: Z1, poll_interval: ") + poll + "}");
    ASSERT_FALSE(bad_poll) << poll;
    EXPECT_TRUE(Contains(bad_poll.error().message,
                         "actuator.yml:1:37: poll_interval: poll_interval must be greater than "
                         "zero and at most 5m"))
        << bad_poll.error().message;
  }
}

TEST_F(Route53Test, RoutingKeysOfDnsUpdateAreCheckedAtLoad) {
  ProviderMap providers{{"r53", Make(Config())}};
  StepFactoryContext fctx;
  fctx.providers = &providers;
  const std::string head = "provider: r53\nzone: example.com.\nname: www.example.com.\ntype: A\n";
  const std::string alias =
      "AliasTarget: {HostedZoneId: Z32O12XQLNTSW2, DNSName: alb.eu-west-1.elb.amazonaws.com., "
      "EvaluateTargetHealth: true}\n";
  struct Case {
    std::string yaml;
    std::string want;
  };
  const std::vector<Case> cases = {
      {alias + "records: [192.0.2.1]",
       "actuator.yml:6:10: records: records and AliasTarget exclude each other"},
      {alias + "ttl: 60", "actuator.yml:6:6: ttl: an alias record (AliasTarget) has no TTL"},
      {"AliasTarget: {HostedZoneId: Z32O12XQLNTSW2, DNSName: alb.example.}",
       "missing required key \"EvaluateTargetHealth\""},
      {"AliasTarget: {HostedZoneId: 'Z3 2', DNSName: alb.example., EvaluateTargetHealth: true}",
       "actuator.yml:5:29: AliasTarget.HostedZoneId: expected a hosted zone id"},
      {"records: [192.0.2.1]\nFailover: PRIMARY",
       "actuator.yml:6:11: Failover: Failover needs SetIdentifier"},
      {"records: [192.0.2.1]\nWeight: 10", "actuator.yml:6:9: Weight: Weight needs SetIdentifier"},
      {"records: [192.0.2.1]\nHealthCheckId: abc", "HealthCheckId needs SetIdentifier"},
      {"records: [192.0.2.1]\nSetIdentifier: a\nWeight: 256",
       "actuator.yml:7:9: Weight: Weight must be between 0 and 255, found 256"},
      {"records: [192.0.2.1]\nSetIdentifier: a\nWeight: -1", "between 0 and 255, found -1"},
      {"records: [192.0.2.1]\nSetIdentifier: a\nFailover: MAIN",
       "actuator.yml:7:11: Failover: Failover must be PRIMARY or SECONDARY"},
      {"records: [192.0.2.1]\nSetIdentifier: a\nWeight: 1\nFailover: PRIMARY",
       "Failover and Weight exclude each other"},
      {"SetIdentifier: ''\nWeight: 1", "SetIdentifier must be 1 to 128 characters"},
      {"ttl: 60", "records (or AliasTarget) is required"},
      {alias + "verify_nameserver: 127.0.0.1:53",
       "verify_nameserver: verify_nameserver cannot check an alias"},
      {"records: [192.0.2.1]\nSetIdentifier: a\nWeight: 1\nverify_nameserver: 127.0.0.1:53",
       "it needs records and Failover: PRIMARY"},
  };
  for (const Case& c : cases) {
    auto node = YamlNode::LoadString(head + c.yaml, "actuator.yml");
    ASSERT_TRUE(node) << node.error().message;
    auto step = NewDnsUpdateStep(*node, fctx);
    ASSERT_FALSE(step) << c.yaml;
    EXPECT_TRUE(Contains(step.error().message, c.want))
        << "got:  " << step.error().message << "\nwant: " << c.want;
  }
  // And the good ones load.
  for (const std::string& ok : std::vector<std::string>{
           alias, "SetIdentifier: eu-west\nFailover: PRIMARY\n",
           "SetIdentifier: eu-west\nFailover: PRIMARY\nrecords: [192.0.2.1]\nHealthCheckId: "
           "abc-123\nverify_nameserver: 127.0.0.1:53\n",
           "SetIdentifier: eu-west\nWeight: 0\n" + alias}) {
    auto node = YamlNode::LoadString(head + ok, "actuator.yml");
    ASSERT_TRUE(node) << node.error().message;
    auto step = NewDnsUpdateStep(*node, fctx);
    EXPECT_TRUE(step) << ok << ": " << step.error().message;
  }
}

TEST_F(Route53Test, DnsUpdateStepThroughRoute53) {
  fake_.Put("www.example.com.", "A", 60, {"192.0.2.2"});
  fake_.SetPendingPolls(1);
  auto provider = Make(Config());
  ASSERT_TRUE(provider);
  auto step = testing::NewDnsUpdateStepWith(
      "r53", provider,
      "{provider: r53, zone: example.com, name: www.example.com., type: A,"
      " records: ['192.0.2.3'], ttl: 30, timeout: 60s}");
  ASSERT_TRUE(step) << step.error().message;
  auto run = [&] { return testing::RunStep(**step, clock_, nullptr, &http_); };
  StepOutcome out = run();
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_TRUE(Contains(out.message, "192.0.2.2 (ttl 60) -> 192.0.2.3 (ttl 30)")) << out.message;
  EXPECT_EQ(fake_.Find("www.example.com.", "A")->values, std::vector<std::string>{"192.0.2.3"});
  EXPECT_EQ(fake_.WriteCount(), 1);
  EXPECT_EQ(fake_.GetChangeRequests(), 2);  // PENDING once, then INSYNC

  // Running again reads, finds the desired state and writes nothing.
  StepOutcome again = run();
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_EQ(fake_.WriteCount(), 1);
}

}  // namespace
}  // namespace failover
