// dns_update and dns_ttl through the PowerDNS provider against the real PowerDNS of
// scripts/stack, verified by asking its nameserver.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

#include "actuator/dns/powerdns.h"
#include "actuator/dns/route53.h"
#include "actuator/steps/dns_update.h"
#include "common/dns_query.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_route53.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_dns_server.h"

namespace failover {
namespace {

using testing::Stack;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class DnsStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = &Stack::Get({"powerdns"});
    dns_ = stack_->Env("PDNS_DNS_ADDR");
    auto node = YamlNode::LoadString("{url: " + stack_->Env("PDNS_API_URL") + ", api_key_file: " +
                                         stack_->Env("PDNS_API_KEY_FILE") + "}",
                                     "actuator.yml");
    ASSERT_TRUE(node);
    DnsProviderContext pctx{&http_, &SystemClock::Get()};
    auto p = NewPowerDnsProvider(*node, pctx);
    ASSERT_TRUE(p) << p.error().message;
    provider_ = *p;
    providers_["pdns"] = provider_;
    fctx_.providers = &providers_;
  }

  Result<std::unique_ptr<Step>> Make(const std::string& kind, const std::string& yaml) {
    auto node = YamlNode::LoadString(yaml, "actuator.yml");
    if (!node) return node.error();
    return kind == "dns_ttl" ? NewDnsTtlStep(*node, fctx_) : NewDnsUpdateStep(*node, fctx_);
  }

  StepOutcome Run(Step& step, const TemplateVars& vars = {}) {
    return testing::RunStep(step, SystemClock::Get(), &vars, &http_);
  }

  void Put(const DnsRecordSet& set) {
    auto s = provider_->Set("example.test.", set, Deadline());
    ASSERT_TRUE(s) << s.error().message;
  }
  std::optional<DnsRecordSet> Held(const std::string& name, const std::string& type) {
    auto got = provider_->Get("example.test.", name, type, Deadline());
    EXPECT_TRUE(got) << got.error().message;
    return got ? *got : std::nullopt;
  }
  long long SoaSerial() {
    auto soa = QueryDns(dns_, "example.test.", "SOA", std::chrono::seconds(5));
    EXPECT_TRUE(soa) << soa.error().message;
    if (!soa || soa->records.size() != 1) return -1;
    std::istringstream in(soa->records[0]);
    std::string mname, rname;
    long long serial = -1;
    in >> mname >> rname >> serial;
    return serial;
  }
  static MonoTime Deadline() { return SystemClock::Get().Now() + std::chrono::seconds(20); }

  Stack* stack_ = nullptr;
  std::string dns_;
  CurlHttpClient http_;
  std::shared_ptr<DnsProvider> provider_;
  ProviderMap providers_;
  StepFactoryContext fctx_;
};

TEST_F(DnsStepTest, SwitchesWwwAndVerifiesAtTheNameserver) {
  Put({"www.example.test.", "A", 60, {"127.0.0.2"}});  // the stack's initial state
  auto step = Make("dns_update",
                   "{provider: pdns, zone: example.test, name: www.example.test., type: A,\n"
                   " records: ['127.0.0.3'], ttl: 30, verify_nameserver: '" +
                       dns_ + "', verify_timeout: 10s, timeout: 30s, retries: 3}");
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ((*step)->kind(), "dns_update");
  EXPECT_EQ((*step)->common().retries, 3);
  EXPECT_EQ((*step)->common().timeout, std::chrono::seconds(30));

  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_TRUE(Contains(out.message, "127.0.0.2 (ttl 60) -> 127.0.0.3 (ttl 30)")) << out.message;
  EXPECT_TRUE(Contains(out.message, "verified at " + dns_)) << out.message;
  EXPECT_EQ(out.details["before"]["records"], nlohmann::json({"127.0.0.2"}));
  EXPECT_EQ(out.details["after"]["records"], nlohmann::json({"127.0.0.3"}));
  EXPECT_EQ(out.details["after"]["ttl"], 30);
  EXPECT_EQ(out.details["verified_by"], dns_);

  auto answer = QueryDns(dns_, "www.example.test.", "A", std::chrono::seconds(5));
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->records, std::vector<std::string>{"127.0.0.3"});
  EXPECT_EQ(answer->ttl, 30);
}

TEST_F(DnsStepTest, RunningAgainIsANoOpThatLeavesTheSerialAlone) {
  Put({"www.example.test.", "A", 60, {"127.0.0.2"}});
  auto step = Make("dns_update",
                   "{provider: pdns, zone: example.test., name: www.example.test., type: A, "
                   "records: [127.0.0.3], ttl: 30, verify_nameserver: '" +
                       dns_ + "'}");
  ASSERT_TRUE(step) << step.error().message;
  ASSERT_EQ(Run(**step).status, StepStatus::kOk);
  const long long serial = SoaSerial();
  ASSERT_GT(serial, 0);

  StepOutcome again = Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_TRUE(Contains(again.message, "already 127.0.0.3 (ttl 30), nothing to do"))
      << again.message;
  EXPECT_EQ(again.details["changed"], false);
  EXPECT_EQ(SoaSerial(), serial);
}

TEST_F(DnsStepTest, KeepsTheTtlWhenNoneIsGiven) {
  Put({"keep.example.test.", "A", 120, {"127.0.0.2"}});
  auto step = Make("dns_update",
                   "{provider: pdns, zone: example.test., name: keep.example.test., type: A, "
                   "records: [127.0.0.3, 127.0.0.4]}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  auto held = Held("keep.example.test.", "A");
  ASSERT_TRUE(held);
  EXPECT_EQ(*held, (DnsRecordSet{"keep.example.test.", "A", 120, {"127.0.0.3", "127.0.0.4"}}));
}

TEST_F(DnsStepTest, TemplatedNameAndRecordsFromLabels) {
  auto step = Make("dns_update",
                   "{provider: pdns, zone: example.test., name: '{{labels.region}}.example.test',"
                   " type: A, records: ['127.0.0.{{labels.octet}}'], ttl: 30,"
                   " verify_nameserver: '" +
                       dns_ + "'}");
  ASSERT_TRUE(step) << step.error().message;
  TemplateVars vars;
  vars.labels = {{"region", "EU-West"}, {"octet", "3"}};

  auto rendered = (*step)->Render(vars);
  ASSERT_TRUE(rendered) << rendered.error().message;
  EXPECT_EQ((*rendered)["name"], "eu-west.example.test.");
  EXPECT_EQ((*rendered)["records"], nlohmann::json({"127.0.0.3"}));
  EXPECT_EQ((*rendered)["provider"], "pdns");
  EXPECT_EQ((*rendered)["zone"], "example.test.");
  EXPECT_EQ((*rendered)["ttl"], 30);

  StepOutcome out = Run(**step, vars);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  auto answer = QueryDns(dns_, "eu-west.example.test.", "A", std::chrono::seconds(5));
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->records, std::vector<std::string>{"127.0.0.3"});

  // A label the alert lacks fails the render and the run; nothing is written.
  TemplateVars missing;
  missing.labels = {{"octet", "3"}};
  EXPECT_FALSE((*step)->Render(missing));
  StepOutcome bad = Run(**step, missing);
  EXPECT_EQ(bad.status, StepStatus::kFailed);
  EXPECT_TRUE(Contains(bad.message, "region")) << bad.message;

  // A label that renders to something that is not an address.
  TemplateVars junk;
  junk.labels = {{"region", "eu-west"}, {"octet", "x"}};
  StepOutcome not_ip = Run(**step, junk);
  EXPECT_EQ(not_ip.status, StepStatus::kFailed);
  EXPECT_TRUE(Contains(not_ip.message, "127.0.0.x")) << not_ip.message;
}

// What the journal and dry-run show before a run: every key of the block, as parsed
// (the zone and name fully qualified, the type upper case, the records canonical and sorted).
TEST_F(DnsStepTest, RendersEveryKeyOfTheBlock) {
  auto step = Make("dns_update",
                   "{provider: pdns, zone: example.test, name: Www.example.test, type: aaaa,\n"
                   " records: ['2001:DB8::2', '2001:db8:0:0:0:0:0:1'], ttl: 45,\n"
                   " verify_nameserver: '" +
                       dns_ + "', verify_timeout: 1m30s, timeout: 2m, retries: 5, backoff: 3s}");
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ((*step)->common().timeout, std::chrono::minutes(2));
  EXPECT_EQ((*step)->common().retries, 5);
  EXPECT_EQ((*step)->common().backoff, std::chrono::seconds(3));
  auto r = (*step)->Render({});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, nlohmann::json({{"provider", "pdns"},
                                {"zone", "example.test."},
                                {"name", "www.example.test."},
                                {"type", "AAAA"},
                                {"records", {"2001:db8::1", "2001:db8::2"}},
                                {"ttl", 45},
                                {"verify_nameserver", dns_},
                                {"verify_timeout", "1m30s"}}))
      << r->dump();

  // Without ttl the set keeps its TTL; without verify_nameserver nothing is verified.
  auto plain = Make("dns_update",
                    "{provider: pdns, zone: example.test., name: www.example.test., type: TXT, "
                    "records: ['v=spf1 -all']}");
  ASSERT_TRUE(plain) << plain.error().message;
  auto p = (*plain)->Render({});
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(*p, nlohmann::json({{"provider", "pdns"},
                                {"zone", "example.test."},
                                {"name", "www.example.test."},
                                {"type", "TXT"},
                                {"records", {"\"v=spf1 -all\""}},
                                {"ttl", "unchanged"}}))
      << p->dump();

  auto ttl = Make("dns_ttl",
                  "{provider: pdns, zone: example.test., name: www.example.test., type: A, "
                  "ttl: 0, timeout: 5s}");
  ASSERT_TRUE(ttl) << ttl.error().message;
  EXPECT_EQ((*ttl)->common().timeout, std::chrono::seconds(5));
  auto t = (*ttl)->Render({});
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(*t, nlohmann::json({{"provider", "pdns"},
                                {"zone", "example.test."},
                                {"name", "www.example.test."},
                                {"type", "A"},
                                {"ttl", 0}}))
      << t->dump();
}

// Issue 14 point 3: a value in a name is one DNS label. A value that would reach another
// record of the zone (the nameserver's own "ns1.example.test.", or a name below the one
// intended) fails the step before anything is sent, naming the variable.
TEST_F(DnsStepTest, ValuesInNamesAreSingleLabels) {
  const long long serial = SoaSerial();
  ASSERT_GT(serial, 0);
  struct Case {
    std::string yaml;
    std::string variable;
    std::string value;
  };
  for (const Case& c : std::vector<Case>{
           {"{provider: pdns, zone: example.test., name: '{{labels.target}}', type: A, "
            "records: ['127.0.0.9'], ttl: 30}",
            "labels.target", "ns1.example.test."},
           {"{provider: pdns, zone: example.test., name: '{{labels.region}}-db.example.test', "
            "type: A, records: ['127.0.0.9'], ttl: 30}",
            "labels.region", "x.ns1"},
           {"{provider: pdns, zone: example.test., name: 'alias.example.test', type: CNAME, "
            "records: ['{{labels.region}}.lb.example.test.'], ttl: 30}",
            "labels.region", "ns1.example.test."},
       }) {
    auto step = Make("dns_update", c.yaml);
    ASSERT_TRUE(step) << step.error().message;
    TemplateVars vars;
    vars.labels = {{"target", c.value}, {"region", c.value}};
    StepOutcome out = Run(**step, vars);
    EXPECT_EQ(out.status, StepStatus::kFailed) << c.yaml << ": " << out.message;
    EXPECT_TRUE(Contains(out.message, c.variable + " = \"" + c.value + "\"")) << out.message;
    EXPECT_TRUE(Contains(out.message, "DNS label")) << out.message;
    EXPECT_FALSE((*step)->Render(vars));
  }
  auto ns1 = Held("ns1.example.test.", "A");
  ASSERT_TRUE(ns1);
  EXPECT_EQ(ns1->records, std::vector<std::string>{"127.0.0.1"});
  EXPECT_FALSE(Held("x.ns1-db.example.test.", "A"));
  EXPECT_EQ(SoaSerial(), serial);  // nothing was written
}

TEST_F(DnsStepTest, TxtAndAaaaAreComparedInCanonicalForm) {
  auto txt = Make("dns_update",
                  "{provider: pdns, zone: example.test., name: spf.example.test., type: TXT, "
                  "records: ['v=spf1 ip4:127.0.0.3 -all'], ttl: 60, verify_nameserver: '" +
                      dns_ + "'}");
  ASSERT_TRUE(txt) << txt.error().message;
  StepOutcome out = Run(**txt);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  StepOutcome again = Run(**txt);
  EXPECT_TRUE(Contains(again.message, "nothing to do")) << again.message;

  auto v6 = Make("dns_update",
                 "{provider: pdns, zone: example.test., name: v6.example.test., type: aaaa, "
                 "records: ['2001:DB8:0:0::3'], ttl: 60, verify_nameserver: '" +
                     dns_ + "'}");
  ASSERT_TRUE(v6) << v6.error().message;
  out = Run(**v6);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_TRUE(Contains(Run(**v6).message, "nothing to do"));
  auto answer = QueryDns(dns_, "v6.example.test.", "AAAA", std::chrono::seconds(5));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->records, std::vector<std::string>{"2001:db8::3"});
}

TEST_F(DnsStepTest, DnsTtlLowersOnlyTheTtl) {
  Put({"ttl.example.test.", "A", 300, {"127.0.0.2", "127.0.0.4"}});
  auto step = Make("dns_ttl",
                   "{provider: pdns, zone: example.test., name: ttl.example.test., type: A, "
                   "ttl: 30}");
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ((*step)->kind(), "dns_ttl");
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_TRUE(Contains(out.message, "ttl 300 -> 30")) << out.message;
  auto held = Held("ttl.example.test.", "A");
  ASSERT_TRUE(held);
  EXPECT_EQ(*held, (DnsRecordSet{"ttl.example.test.", "A", 30, {"127.0.0.2", "127.0.0.4"}}));
  auto answer = QueryDns(dns_, "ttl.example.test.", "A", std::chrono::seconds(5));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->ttl, 30);
  EXPECT_EQ(answer->records, (std::vector<std::string>{"127.0.0.2", "127.0.0.4"}));

  const long long serial = SoaSerial();
  StepOutcome again = Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_TRUE(Contains(again.message, "nothing to do")) << again.message;
  EXPECT_EQ(SoaSerial(), serial);
}

TEST_F(DnsStepTest, DnsTtlFailsWhenTheRecordSetDoesNotExist) {
  auto step = Make("dns_ttl",
                   "{provider: pdns, zone: example.test., name: absent.example.test., type: A, "
                   "ttl: 30}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed);
  EXPECT_TRUE(Contains(out.message, "absent.example.test. A does not exist")) << out.message;
  EXPECT_FALSE(Held("absent.example.test.", "A"));
}

using testing::SilentUdp;

TEST_F(DnsStepTest, VerificationThatNeverAgreesFails) {
  SilentUdp silent;
  auto step = Make("dns_update",
                   "{provider: pdns, zone: example.test., name: unverified.example.test., "
                   "type: A, records: [127.0.0.3], ttl: 30, verify_nameserver: '" +
                       silent.address() + "', verify_timeout: 300ms}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed);
  EXPECT_TRUE(Contains(out.message, "nameserver " + silent.address() + " still answers"))
      << out.message;
  // The provider holds the change all the same.
  auto held = Held("unverified.example.test.", "A");
  ASSERT_TRUE(held);
  EXPECT_EQ(held->records, std::vector<std::string>{"127.0.0.3"});
}

TEST_F(DnsStepTest, ProviderErrorsAreClassified) {
  // Wrong key: not retryable.
  auto node = YamlNode::LoadString(
      "{url: " + stack_->Env("PDNS_API_URL") + ", api_key: not-the-key}", "actuator.yml");
  ASSERT_TRUE(node);
  DnsProviderContext pctx{&http_, &SystemClock::Get()};
  auto bad_key = NewPowerDnsProvider(*node, pctx);
  ASSERT_TRUE(bad_key);
  providers_["badkey"] = *bad_key;

  // An API answering 503: retryable.
  HttpServerOptions opts;
  opts.listen_address = "127.0.0.1:0";
  auto server =
      HttpServer::Start(opts, {{"GET", "/", true, [](const HttpServerRequest&) {
                                  return HttpServerResponse::Json(503, R"({"error":"try later"})");
                                }}});
  ASSERT_TRUE(server) << server.error().message;
  node = YamlNode::LoadString(
      "{url: http://127.0.0.1:" + std::to_string((*server)->port()) + ", api_key: k}", "x.yml");
  ASSERT_TRUE(node);
  auto unavailable = NewPowerDnsProvider(*node, pctx);
  ASSERT_TRUE(unavailable);
  providers_["down"] = *unavailable;

  auto s1 = Make("dns_update",
                 "{provider: badkey, zone: example.test., name: www.example.test., type: A, "
                 "records: [127.0.0.3]}");
  ASSERT_TRUE(s1);
  StepOutcome o1 = Run(**s1);
  EXPECT_EQ(o1.status, StepStatus::kFailed);
  EXPECT_TRUE(Contains(o1.message, "authentication failed")) << o1.message;
  EXPECT_FALSE(Contains(o1.message, "not-the-key")) << o1.message;

  auto s2 = Make("dns_update",
                 "{provider: down, zone: example.test., name: www.example.test., type: A, "
                 "records: [127.0.0.3]}");
  ASSERT_TRUE(s2);
  StepOutcome o2 = Run(**s2);
  EXPECT_EQ(o2.status, StepStatus::kRetryable);
  EXPECT_TRUE(Contains(o2.message, "try later")) << o2.message;

  // PowerDNS refusing the change (CNAME next to an A record): failed, with its message.
  Put({"clash.example.test.", "A", 60, {"127.0.0.2"}});
  auto s3 = Make("dns_update",
                 "{provider: pdns, zone: example.test., name: clash.example.test., type: CNAME, "
                 "records: [www.example.test.]}");
  ASSERT_TRUE(s3);
  StepOutcome o3 = Run(**s3);
  EXPECT_EQ(o3.status, StepStatus::kFailed);
  EXPECT_TRUE(Contains(o3.message, "Conflicts with pre-existing RRset")) << o3.message;
}

TEST_F(DnsStepTest, ConfigErrorsAreLocated) {
  struct Case {
    std::string kind;
    std::string yaml;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"dns_update",
       "provider: nope\nzone: example.test.\nname: www.example.test.\ntype: A\nrecords: "
       "[127.0.0.3]",
       "actuator.yml:1:11: provider: unknown provider \"nope\" (known providers: pdns)"},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: MX\nrecords: [x]",
       "actuator.yml:4:7: type: unsupported record type \"MX\" (supported: A, AAAA, CNAME, TXT)"},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A\n"
       "records: [127.0.0.3, 127.0.0.300]",
       "actuator.yml:5:22: records[1]: \"127.0.0.300\" is not an IPv4 address"},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: AAAA\n"
       "records: [127.0.0.3]",
       "records[0]: \"127.0.0.3\" is not an IPv6 address"},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.other.test.\ntype: A\nrecords: [127.0.0.3]",
       "actuator.yml:3:7: name: name www.other.test. is not in zone example.test."},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A\nrecords: []",
       "records: needs at least one record"},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: CNAME\n"
       "records: [a.example.test., b.example.test.]",
       "a CNAME record set holds exactly one record"},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A\n"
       "records: [127.0.0.3]\nverify_nameserver: ns1.example.test",
       "verify_nameserver: invalid nameserver"},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A\n"
       "records: [127.0.0.3]\nttl: -1",
       "ttl: ttl must be between 0 and 2147483647"},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: '{{labels.region'\ntype: A\n"
       "records: [127.0.0.3]",
       "actuator.yml:3:7: name: "},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A\n"
       "records: [127.0.0.3]\nrecord: [127.0.0.4]",
       "unknown key \"record\""},
      {"dns_update", "provider: pdns\nname: www.example.test.\ntype: A\nrecords: [127.0.0.3]",
       "missing required key \"zone\""},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A\n"
       "records: [127.0.0.3, ' 127.0.0.3']",
       "actuator.yml:5:22: records[1]: record 127.0.0.3 is listed twice"},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A\n"
       "records: [127.0.0.3]\nverify_timeout: 5s",
       "actuator.yml:6:17: verify_timeout: verify_timeout needs verify_nameserver"},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A\n"
       "records: [127.0.0.3]\nverify_nameserver: 127.0.0.1:53\nverify_timeout: 0s",
       "actuator.yml:7:17: verify_timeout: must be positive"},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A\n"
       "records: [127.0.0.3]\nttl: soon",
       "actuator.yml:6:6: ttl: "},
      {"dns_ttl", "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A",
       "missing required key \"ttl\""},
      {"dns_ttl",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A\nttl: 30\n"
       "records: [127.0.0.3]",
       "actuator.yml:6:1: records: unknown key \"records\""},
      {"dns_ttl", "provider: other\nzone: example.test.\nname: www.example.test.\ntype: A\nttl: 30",
       "unknown provider \"other\""},
      // Route 53's routing records: refused where the provider has none.
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A\n"
       "AliasTarget: {HostedZoneId: Z1, DNSName: alb.example.test., EvaluateTargetHealth: true}",
       "actuator.yml:5:14: AliasTarget: provider \"pdns\" (powerdns) does not support alias "
       "records (AliasTarget)"},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A\n"
       "records: [127.0.0.3]\nSetIdentifier: eu-west\nWeight: 10",
       "actuator.yml:7:9: Weight: provider \"pdns\" (powerdns) does not support weighted routing"},
      {"dns_update",
       "provider: pdns\nzone: example.test.\nname: www.example.test.\ntype: A\n"
       "SetIdentifier: eu-west\nFailover: PRIMARY",
       "Failover: provider \"pdns\" (powerdns) does not support failover routing"},
  };
  for (const Case& c : cases) {
    auto step = Make(c.kind, c.yaml);
    ASSERT_FALSE(step) << c.yaml;
    EXPECT_TRUE(Contains(step.error().message, c.want))
        << "got:  " << step.error().message << "\nwant: " << c.want;
    EXPECT_EQ(step.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(DnsStepTest, NoProvidersConfigured) {
  StepFactoryContext none;
  auto node = YamlNode::LoadString(
      "{provider: pdns, zone: example.test., name: www.example.test., type: A, records: [1.2.3.4]}",
      "actuator.yml");
  ASSERT_TRUE(node);
  auto step = NewDnsUpdateStep(*node, none);
  ASSERT_FALSE(step);
  EXPECT_TRUE(Contains(step.error().message, "no providers are configured"))
      << step.error().message;
}

// The routing keys (Route 53's, through its fake) as the journal shows them: a routing
// change without records leaves the records "unchanged".
TEST(DnsUpdateRouting, RendersTheRoutingKeys) {
  testing::FakeRoute53 fake{"example.com."};
  testing::TempDir dir;
  CurlHttpClient http;
  auto config = YamlNode::LoadString(
      "{hosted_zone_id: " + std::string(testing::FakeRoute53::kZoneId) +
          ", url: " + fake.base_url() +
          ", access_key_id_file: " + dir.Write("aws.id", testing::kFakeAwsAccessKeyId) +
          ", secret_access_key_file: " + dir.Write("aws.secret", testing::kFakeAwsSecretAccessKey) +
          "}",
      "actuator.yml");
  ASSERT_TRUE(config) << config.error().message;
  auto r53 = NewRoute53Provider(*config, DnsProviderContext{&http, &SystemClock::Get()});
  ASSERT_TRUE(r53) << r53.error().message;
  ProviderMap providers{{"r53", *r53}};
  StepFactoryContext fctx;
  fctx.providers = &providers;
  auto render = [&](const std::string& yaml) -> nlohmann::json {
    auto step = testing::BuildStep(
        "{provider: r53, zone: example.com., name: api.example.com., type: A, " + yaml + "}",
        &NewDnsUpdateStep, fctx);
    EXPECT_TRUE(step) << yaml << ": " << step.error().message;
    if (!step) return nullptr;
    auto r = (*step)->Render({});
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : nullptr;
  };
  nlohmann::json weighted = render("SetIdentifier: eu-west, Weight: 20, HealthCheckId: hc-1");
  EXPECT_EQ(weighted, nlohmann::json({{"provider", "r53"},
                                      {"zone", "example.com."},
                                      {"name", "api.example.com."},
                                      {"type", "A"},
                                      {"records", "unchanged"},
                                      {"set_identifier", "eu-west"},
                                      {"weight", 20},
                                      {"health_check_id", "hc-1"}}))
      << weighted.dump();
  nlohmann::json primary = render(
      "SetIdentifier: eu-west, Failover: PRIMARY, records: [192.0.2.7], ttl: 60, "
      "verify_nameserver: '127.0.0.1:53'");
  EXPECT_EQ(primary["records"], nlohmann::json({"192.0.2.7"})) << primary.dump();
  EXPECT_EQ(primary["ttl"], 60) << primary.dump();
  EXPECT_EQ(primary["failover"], "PRIMARY") << primary.dump();
  EXPECT_EQ(primary["verify_nameserver"], "127.0.0.1:53") << primary.dump();
  EXPECT_EQ(primary["verify_timeout"], "30s") << primary.dump();
  EXPECT_FALSE(primary.contains("weight")) << primary.dump();
  nlohmann::json alias = render(
      "AliasTarget: {HostedZoneId: Z32O12XQLNTSW2, DNSName: Alb.eu-west-1.elb.amazonaws.com, "
      "EvaluateTargetHealth: false}");
  EXPECT_EQ(alias["alias_target"], nlohmann::json({{"hosted_zone_id", "Z32O12XQLNTSW2"},
                                                   {"dns_name", "alb.eu-west-1.elb.amazonaws.com."},
                                                   {"evaluate_target_health", false}}))
      << alias.dump();
  EXPECT_FALSE(alias.contains("records")) << alias.dump();
  EXPECT_FALSE(alias.contains("ttl")) << alias.dump();
}

TEST(CanonicalDnsRecord, Forms) {
  EXPECT_EQ(*CanonicalDnsRecord("A", " 127.0.0.3 "), "127.0.0.3");
  EXPECT_FALSE(CanonicalDnsRecord("A", "127.0.0.03"));
  EXPECT_FALSE(CanonicalDnsRecord("A", "::1"));
  EXPECT_EQ(*CanonicalDnsRecord("AAAA", "2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  EXPECT_EQ(*CanonicalDnsRecord("CNAME", "Target.Example.Test"), "target.example.test.");
  EXPECT_FALSE(CanonicalDnsRecord("CNAME", "a b"));
  EXPECT_EQ(*CanonicalDnsRecord("TXT", "v=spf1 -all"), R"("v=spf1 -all")");
  EXPECT_EQ(*CanonicalDnsRecord("TXT", R"("a" "b\"c")"), R"("a" "b\"c")");
  EXPECT_EQ(*CanonicalDnsRecord("TXT", R"("caf\195\169")"), R"("caf\195\169")");
  EXPECT_EQ(*CanonicalDnsRecord("TXT", "caf\xc3\xa9"), R"("caf\195\169")");
  EXPECT_EQ(*CanonicalDnsRecord("TXT", std::string(300, 'x')),
            "\"" + std::string(255, 'x') + "\" \"" + std::string(45, 'x') + "\"");
  EXPECT_FALSE(CanonicalDnsRecord("TXT", R"("unterminated)"));
  EXPECT_FALSE(CanonicalDnsRecord("MX", "10 mail.example.test."));
}

}  // namespace
}  // namespace failover
