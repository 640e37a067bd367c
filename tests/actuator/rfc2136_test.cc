// The rfc2136 provider (RFC 2136 updates with TSIG, through ldns) against the real BIND 9.18
// of scripts/stack. Every change is checked with an independent query at BIND (c-ares,
// common/dns_query.h), not only through the provider.
#include "actuator/dns/rfc2136.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "actuator/config.h"
#include "actuator/steps/dns_update.h"
#include "common/dns_query.h"
#include "tests/actuator/hosted_dns_test_util.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_dns_server.h"
#include "tests/support/test_http_server.h"

namespace failover {
namespace {

using testing::ClosedPort;
using testing::Stack;

constexpr const char* kZone = "example.test.";
// A valid base64 secret that is not the stack's.
constexpr const char* kWrongSecret = "d3JvbmctdHNpZy1zZWNyZXQtZm9yLXRoZS10ZXN0cyE=";

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

MonoTime In(Duration d) { return SystemClock::Get().Now() + d; }
MonoTime Soon() { return In(std::chrono::seconds(20)); }

Result<std::shared_ptr<DnsProvider>> Provider(const std::string& yaml) {
  auto node = YamlNode::LoadString(yaml, "actuator.yml");
  if (!node) return node.error();
  DnsProviderContext ctx;
  ctx.clock = &SystemClock::Get();
  return NewRfc2136Provider(*node, ctx);
}

class Rfc2136Test : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = &Stack::Get({"bind"});
    addr_ = stack_->Env("BIND_ADDR");
    key_name_ = stack_->Env("BIND_KEY_NAME");
    key_file_ = stack_->Env("BIND_KEY_FILE");
    secret_ = testing::ReadFile(key_file_);
    ASSERT_FALSE(secret_.empty());
    auto p = Provider(ProviderYaml());
    ASSERT_TRUE(p) << p.error().message;
    provider_ = *p;
  }

  std::string ProviderYaml(const std::string& extra = "") const {
    return "{server: '" + addr_ + "', key_name: " + key_name_ + ", key_secret_file: " + key_file_ +
           extra + "}";
  }

  // What BIND answers, asked independently of the provider.
  DnsAnswer Ask(const std::string& name, const std::string& type) {
    auto a = QueryDns(addr_, name, type, std::chrono::seconds(5));
    EXPECT_TRUE(a) << a.error().message;
    return a ? *a : DnsAnswer{};
  }

  long long SoaSerial() {
    DnsAnswer soa = Ask(kZone, "SOA");
    if (soa.records.size() != 1) return -1;
    std::istringstream in(soa.records[0]);
    std::string mname, rname;
    long long serial = -1;
    in >> mname >> rname >> serial;
    return serial;
  }

  Stack* stack_ = nullptr;
  std::string addr_, key_name_, key_file_, secret_;
  std::shared_ptr<DnsProvider> provider_;
};

TEST_F(Rfc2136Test, GetsTheStacksRecordSetAndNulloptForMissingOnes) {
  EXPECT_EQ(provider_->kind(), "rfc2136");
  auto got = provider_->Get(kZone, "ns1.example.test.", "A", Soon());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, (DnsRecordSet{"ns1.example.test.", "A", 60, {"127.0.0.1"}}));

  auto nxdomain = provider_->Get(kZone, "nothing-here.example.test.", "A", Soon());
  ASSERT_TRUE(nxdomain) << nxdomain.error().message;
  EXPECT_FALSE(nxdomain->has_value());
  auto nodata = provider_->Get(kZone, "ns1.example.test.", "AAAA", Soon());
  ASSERT_TRUE(nodata) << nodata.error().message;
  EXPECT_FALSE(nodata->has_value());
}

TEST_F(Rfc2136Test, CreateReplaceAndDeleteAreServedAtOnce) {
  const long long serial = SoaSerial();
  ASSERT_GT(serial, 0);
  DnsRecordSet two{"switch.example.test.", "A", 45, {"127.0.0.5", "127.0.0.6"}};
  auto s = provider_->Set(kZone, two, Soon());
  ASSERT_TRUE(s) << s.error().message;
  DnsAnswer a = Ask("switch.example.test.", "A");
  EXPECT_EQ(a.rcode, "NOERROR");
  EXPECT_EQ(a.records, two.records);
  EXPECT_EQ(a.ttl, 45);
  EXPECT_GT(SoaSerial(), serial);
  auto got = provider_->Get(kZone, "switch.example.test.", "A", Soon());
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ(**got, two);

  // Replacing, not adding: the old records are gone, the TTL is the new one.
  DnsRecordSet one{"switch.example.test.", "A", 30, {"127.0.0.3"}};
  s = provider_->Set(kZone, one, Soon());
  ASSERT_TRUE(s) << s.error().message;
  a = Ask("switch.example.test.", "A");
  EXPECT_EQ(a.records, one.records);
  EXPECT_EQ(a.ttl, 30);

  // An empty desired set deletes the RRset.
  s = provider_->Set(kZone, {"switch.example.test.", "A", 30, {}}, Soon());
  ASSERT_TRUE(s) << s.error().message;
  a = Ask("switch.example.test.", "A");
  EXPECT_EQ(a.rcode, "NXDOMAIN");
  EXPECT_TRUE(a.records.empty());
  got = provider_->Get(kZone, "switch.example.test.", "A", Soon());
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_FALSE(got->has_value());
  // Deleting what is not there is fine too.
  s = provider_->Set(kZone, {"switch.example.test.", "A", 30, {}}, Soon());
  EXPECT_TRUE(s) << s.error().message;
}

TEST_F(Rfc2136Test, TxtAaaaAndCnameRoundTrip) {
  DnsRecordSet txt{"txt.example.test.", "TXT", 60, {R"("v=spf1 -all")", R"("a; b" "say \"hi\"")"}};
  std::sort(txt.records.begin(), txt.records.end());
  auto s = provider_->Set(kZone, txt, Soon());
  ASSERT_TRUE(s) << s.error().message;
  auto got = provider_->Get(kZone, "txt.example.test.", "TXT", Soon());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, txt);
  EXPECT_EQ(Ask("txt.example.test.", "TXT").records, txt.records);

  DnsRecordSet aaaa{"v6.example.test.", "AAAA", 60, {"2001:db8::1", "::1"}};
  std::sort(aaaa.records.begin(), aaaa.records.end());
  ASSERT_TRUE(provider_->Set(kZone, aaaa, Soon()));
  EXPECT_EQ(Ask("v6.example.test.", "AAAA").records, aaaa.records);
  got = provider_->Get(kZone, "v6.example.test.", "AAAA", Soon());
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ(**got, aaaa);

  DnsRecordSet cname{"alias.example.test.", "CNAME", 60, {"www.example.test."}};
  ASSERT_TRUE(provider_->Set(kZone, cname, Soon()));
  EXPECT_EQ(Ask("alias.example.test.", "CNAME").records, cname.records);
  got = provider_->Get(kZone, "alias.example.test.", "CNAME", Soon());
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ(**got, cname);
}

TEST_F(Rfc2136Test, SeesAChangeMadeWithNsupdate) {
  std::string cmd =
      "printf 'server 127.0.0.1 %s\\nzone example.test\\nupdate delete "
      "ext.example.test A\\nupdate add ext.example.test 90 A 127.0.0.7\\nsend\\n' "
      "\"${BIND_ADDR#*:}\" | nsupdate -k \"$BIND_KEY_CONF\"";
  ASSERT_EQ(stack_->Shell(cmd), 0);
  auto got = provider_->Get(kZone, "ext.example.test.", "A", Soon());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, (DnsRecordSet{"ext.example.test.", "A", 90, {"127.0.0.7"}}));
}

// The dns_update step as an operator configures it: providers and a runbook from YAML.
class Rfc2136StepTest : public Rfc2136Test {
 protected:
  std::shared_ptr<Step> StepFromConfig(const std::string& step_yaml) {
    const std::string yaml =
        "journal: /tmp/unused-journal.db\nproviders:\n  bind: {rfc2136: " + ProviderYaml() +
        "}\nrunbooks:\n  - name: switch\n    match: {alertname: RegionDown}\n"
        "    steps:\n      - dns_update: " +
        step_yaml + "\n";
    auto root = YamlNode::LoadString(yaml, "actuator.yml");
    EXPECT_TRUE(root) << root.error().message;
    if (!root) return nullptr;
    StepRegistry steps;
    RegisterBuiltinSteps(steps);
    ConfigDeps deps;
    deps.steps = &steps;
    deps.provider_ctx.clock = &SystemClock::Get();
    auto cfg = LoadActuatorConfig(*root, deps);
    EXPECT_TRUE(cfg) << cfg.error().message;
    if (!cfg) return nullptr;
    return cfg->runbooks.at(0).steps.at(0).step;
  }

  StepOutcome Run(Step& step) { return testing::RunStep(step, SystemClock::Get()); }
};

TEST_F(Rfc2136StepTest, DnsUpdateSwitchesWwwThenHasNothingToDo) {
  auto step = StepFromConfig(
      "{provider: bind, zone: example.test, name: www.example.test., "
      "type: A, records: ['127.0.0.3'], ttl: 30, verify_nameserver: '" +
      addr_ + "', timeout: 30s}");
  ASSERT_NE(step, nullptr);
  StepOutcome out = Run(*step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_TRUE(Contains(out.message, "127.0.0.2 (ttl 60) -> 127.0.0.3 (ttl 30)")) << out.message;
  EXPECT_TRUE(Contains(out.message, "verified at " + addr_)) << out.message;
  EXPECT_EQ(out.details["changed"], true);
  DnsAnswer a = Ask("www.example.test.", "A");
  EXPECT_EQ(a.records, std::vector<std::string>{"127.0.0.3"});
  EXPECT_EQ(a.ttl, 30);

  // A second run reads, finds the desired state and writes nothing (the serial stays).
  const long long serial = SoaSerial();
  ASSERT_GT(serial, 0);
  StepOutcome again = Run(*step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_TRUE(Contains(again.message, "already 127.0.0.3 (ttl 30), nothing to do"))
      << again.message;
  EXPECT_EQ(again.details["changed"], false);
  EXPECT_EQ(SoaSerial(), serial);
}

TEST_F(Rfc2136StepTest, WrongSecretIsRejectedNamingTheKeyNotTheSecret) {
  auto p = Provider("{server: '" + addr_ + "', key_name: " + key_name_ + ", key_secret: '" +
                    kWrongSecret + "'}");
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_TRUE(provider_->Set(kZone, {"guarded.example.test.", "A", 60, {"127.0.0.2"}}, Soon()));
  const long long serial = SoaSerial();

  auto set = (*p)->Set(kZone, {"guarded.example.test.", "A", 30, {"127.0.0.9"}}, Soon());
  ASSERT_FALSE(set);
  EXPECT_FALSE(set.error().retryable);
  EXPECT_EQ(set.error().code, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(Contains(set.error().message, "\"" + key_name_)) << set.error().message;
  EXPECT_TRUE(Contains(set.error().message, "BADSIG")) << set.error().message;
  EXPECT_FALSE(Contains(set.error().message, kWrongSecret)) << set.error().message;
  EXPECT_FALSE(Contains(set.error().message, secret_)) << set.error().message;
  // Nothing changed at BIND.
  EXPECT_EQ(Ask("guarded.example.test.", "A").records, std::vector<std::string>{"127.0.0.2"});
  EXPECT_EQ(SoaSerial(), serial);

  auto get = (*p)->Get(kZone, "www.example.test.", "A", Soon());
  ASSERT_FALSE(get);
  EXPECT_FALSE(get.error().retryable);
  EXPECT_TRUE(Contains(get.error().message, "BADSIG")) << get.error().message;
  EXPECT_FALSE(Contains(get.error().message, kWrongSecret)) << get.error().message;

  // Through the step: failed (not retried), with the same clear reason.
  auto step = testing::NewDnsUpdateStepWith(
      "bad", *p,
      "{provider: bad, zone: example.test., name: www.example.test., type: A, "
      "records: [127.0.0.9]}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed);
  EXPECT_TRUE(Contains(out.message, "rejected TSIG key")) << out.message;
  EXPECT_FALSE(Contains(out.message, kWrongSecret)) << out.message;
}

TEST_F(Rfc2136Test, UnknownKeyNameIsRejected) {
  auto p = Provider("{server: '" + addr_ +
                    "', key_name: no-such-key, key_secret_file: " + key_file_ + "}");
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_TRUE(provider_->Set(kZone, {"kept.example.test.", "A", 60, {"127.0.0.2"}}, Soon()));
  auto set = (*p)->Set(kZone, {"kept.example.test.", "A", 30, {"127.0.0.9"}}, Soon());
  ASSERT_FALSE(set);
  EXPECT_FALSE(set.error().retryable);
  EXPECT_TRUE(Contains(set.error().message, "no-such-key")) << set.error().message;
  EXPECT_TRUE(Contains(set.error().message, "BADKEY")) << set.error().message;
  EXPECT_FALSE(Contains(set.error().message, secret_)) << set.error().message;
  EXPECT_EQ(Ask("kept.example.test.", "A").records, std::vector<std::string>{"127.0.0.2"});

  // The right name with another algorithm is another key to BIND.
  p = Provider(ProviderYaml(", algorithm: hmac-sha512"));
  ASSERT_TRUE(p) << p.error().message;
  set = (*p)->Set(kZone, {"www.example.test.", "A", 30, {"127.0.0.9"}}, Soon());
  ASSERT_FALSE(set);
  EXPECT_FALSE(set.error().retryable);
  EXPECT_TRUE(Contains(set.error().message, "hmac-sha512")) << set.error().message;
}

TEST_F(Rfc2136Test, HmacSha512Key) {
  auto p = Provider("{server: '" + addr_ + "', key_name: " + stack_->Env("BIND_KEY_SHA512_NAME") +
                    ", key_secret_file: " + stack_->Env("BIND_KEY_SHA512_FILE") +
                    ", algorithm: hmac-sha512}");
  ASSERT_TRUE(p) << p.error().message;
  DnsRecordSet want{"sha512.example.test.", "A", 40, {"127.0.0.8"}};
  auto s = (*p)->Set(kZone, want, Soon());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(Ask("sha512.example.test.", "A").records, want.records);
  auto got = (*p)->Get(kZone, "sha512.example.test.", "A", Soon());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, want);
}

TEST_F(Rfc2136Test, ZoneTheServerDoesNotServeIsRefused) {
  auto get = provider_->Get("other.test.", "www.other.test.", "A", Soon());
  ASSERT_FALSE(get);
  EXPECT_FALSE(get.error().retryable);
  EXPECT_TRUE(Contains(get.error().message, "REFUSED")) << get.error().message;
  auto set = provider_->Set("other.test.", {"www.other.test.", "A", 30, {"127.0.0.9"}}, Soon());
  ASSERT_FALSE(set);
  EXPECT_FALSE(set.error().retryable);
  EXPECT_TRUE(Contains(set.error().message, "other.test.")) << set.error().message;
}

TEST_F(Rfc2136Test, SecretFromTheEnvironment) {
  ASSERT_EQ(setenv("FAILOVER_TEST_TSIG_SECRET", secret_.c_str(), 1), 0);
  auto p = Provider("{server: '" + addr_ + "', key_name: " + key_name_ +
                    ", key_secret_env: FAILOVER_TEST_TSIG_SECRET, algorithm: HMAC-SHA256}");
  ASSERT_TRUE(p) << p.error().message;
  auto got = (*p)->Get(kZone, "ns1.example.test.", "A", Soon());
  EXPECT_TRUE(got) << got.error().message;
  unsetenv("FAILOVER_TEST_TSIG_SECRET");
}

TEST(Rfc2136Unreachable, ClosedPortIsRetryableBeforeTheDeadline) {
  testing::TempDir dir;
  const std::string secret_file = dir.Write("secret", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==");
  auto p = Provider("{server: '127.0.0.1:" + std::to_string(ClosedPort()) +
                    "', key_name: failover-key, key_secret_file: " + secret_file + "}");
  ASSERT_TRUE(p) << p.error().message;
  const MonoTime start = SystemClock::Get().Now();
  const MonoTime deadline = start + std::chrono::seconds(3);
  auto got = (*p)->Get(kZone, "www.example.test.", "A", deadline);
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "cannot connect")) << got.error().message;
  auto set = (*p)->Set(kZone, {"www.example.test.", "A", 30, {"127.0.0.3"}}, deadline);
  ASSERT_FALSE(set);
  EXPECT_TRUE(set.error().retryable);
  EXPECT_LT(SystemClock::Get().Now(), deadline);
}

TEST(Rfc2136Unreachable, SilentServerTimesOutAtTheDeadline) {
  // Accepts TCP connections (the kernel does, from the backlog) but never answers.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  auto p = Provider("{server: '127.0.0.1:" + std::to_string(ntohs(a.sin_port)) +
                    "', key_name: failover-key, key_secret: c2VjcmV0}");
  ASSERT_TRUE(p) << p.error().message;
  const MonoTime start = SystemClock::Get().Now();
  const MonoTime deadline = start + std::chrono::milliseconds(500);
  auto set = (*p)->Set(kZone, {"www.example.test.", "A", 30, {"127.0.0.3"}}, deadline);
  const MonoTime end = SystemClock::Get().Now();
  close(fd);
  ASSERT_FALSE(set);
  EXPECT_TRUE(set.error().retryable);
  EXPECT_EQ(set.error().code, ErrorCode::kTimeout) << set.error().message;
  EXPECT_GE(end, deadline - std::chrono::milliseconds(50));
  EXPECT_LT(end, deadline + std::chrono::seconds(2));
}

// Answers BIND does not give: a SERVFAIL, and answers without a TSIG signature.
TEST(Rfc2136Answers, ServfailIsRetryableAndUnsignedAnswersAreNotTrusted) {
  testing::TestDnsServer dns;
  dns.SetRecords("www.example.test", "A", {"127.0.0.66"});
  auto p = Provider("{server: '" + dns.address() +
                    "', key_name: failover-key, key_secret: c2VjcmV0LXNlY3JldC1zZWNyZXQ=}");
  ASSERT_TRUE(p) << p.error().message;

  // An unsigned NOERROR with records: not taken as the record set.
  auto got = (*p)->Get(kZone, "www.example.test.", "A", Soon());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "without a TSIG signature")) << got.error().message;
  EXPECT_GE(dns.TcpQueries(), 1);
  EXPECT_EQ(dns.UdpQueries(), 0);

  dns.SetBehaviour(testing::TestDnsServer::Behaviour::kRcode, 2);
  got = (*p)->Get(kZone, "www.example.test.", "A", Soon());
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "SERVFAIL")) << got.error().message;
  auto set = (*p)->Set(kZone, {"www.example.test.", "A", 30, {"127.0.0.3"}}, Soon());
  ASSERT_FALSE(set);
  EXPECT_TRUE(set.error().retryable);
  EXPECT_TRUE(Contains(set.error().message, "SERVFAIL")) << set.error().message;

  dns.SetBehaviour(testing::TestDnsServer::Behaviour::kRcode, 0);
  set = (*p)->Set(kZone, {"www.example.test.", "A", 30, {"127.0.0.3"}}, Soon());
  ASSERT_FALSE(set);
  EXPECT_FALSE(set.error().retryable);
  EXPECT_TRUE(Contains(set.error().message, "NOERROR without a TSIG signature"))
      << set.error().message;
}

TEST(Rfc2136Config, AcceptsTheDocumentedForms) {
  EXPECT_TRUE(Provider("{server: 127.0.0.1:53, key_name: failover-key, key_secret: c2VjcmV0}"));
  EXPECT_TRUE(
      Provider("{server: '[::1]:53', key_name: failover-key, key_secret: c2VjcmV0, "
               "algorithm: hmac-sha512}"));
  EXPECT_TRUE(Provider("{server: 127.0.0.1, key_name: k.example., key_secret: c2VjcmV0}"));
}

TEST(Rfc2136Config, ErrorsAreLocatedAndNameTheKey) {
  struct Case {
    std::string yaml;
    std::string expected;
  };
  const Case cases[] = {
      {"{key_name: k, key_secret: c2VjcmV0}", "server"},
      {"{server: localhost:53, key_name: k, key_secret: c2VjcmV0}", "expected an IP address"},
      {"{server: '127.0.0.1:99999', key_name: k, key_secret: c2VjcmV0}", "port"},
      {"{server: 127.0.0.1:53, key_secret: c2VjcmV0}", "key_name"},
      {"{server: 127.0.0.1:53, key_name: 'bad key', key_secret: c2VjcmV0}",
       "invalid TSIG key name"},
      {"{server: 127.0.0.1:53, key_name: k}", "key_secret, key_secret_file or key_secret_env"},
      {"{server: 127.0.0.1:53, key_name: k, key_secret: c2VjcmV0, algorithm: hmac-md5}",
       "unsupported TSIG algorithm \"hmac-md5\" (supported: hmac-sha256, hmac-sha512)"},
      {"{server: 127.0.0.1:53, key_name: k, key_secret: c2VjcmV0, port: 53}", "port"},
      {"{server: 127.0.0.1:53, key_name: k, key_secret_file: /nonexistent/tsig.secret}",
       "/nonexistent/tsig.secret"},
  };
  for (const Case& c : cases) {
    auto p = Provider(c.yaml);
    ASSERT_FALSE(p) << c.yaml;
    EXPECT_TRUE(Contains(p.error().message, c.expected)) << c.yaml << "\n" << p.error().message;
    EXPECT_EQ(p.error().message.rfind("actuator.yml:1:", 0), 0u) << p.error().message;
    EXPECT_FALSE(Contains(p.error().message, "c2VjcmV0")) << p.error().message;
  }
}

TEST(Rfc2136Config, SecretThatIsNotBase64FailsWithoutShowingIt) {
  auto p = Provider("{server: 127.0.0.1:53, key_name: k, key_secret: 'not base64 !!'}");
  ASSERT_TRUE(p) << p.error().message;
  auto got = (*p)->Get(kZone, "www.example.test.", "A", Soon());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "not valid base64")) << got.error().message;
  EXPECT_FALSE(Contains(got.error().message, "not base64 !!")) << got.error().message;
}

}  // namespace
}  // namespace failover
