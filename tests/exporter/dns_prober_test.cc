// The dns prober: config validation, response parsing, region mapping and the verdict as
// pure functions, and whole runs on a real EventLoop + c-ares against TestDnsServer.
#include <ares.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "exporter/probers/dns.h"
#include "tests/exporter/probe_runner.h"
#include "tests/support/test_dns_server.h"
#include "tests/support/test_http_server.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace testing;  // the prober harness, tests/exporter/probe_runner.h

const std::map<std::string, RegionConfig> kRegions = {
    {"us-east", {{"127.0.0.2", "2001:db8::2"}}},
    {"eu-west", {{"127.0.0.3"}}},
    {"empty", {}},
};

Result<std::shared_ptr<Prober>> BuildDns(const std::string& body, Duration timeout = seconds(5)) {
  return BuildProber("dns:\n" + body, &NewDnsProber, timeout, kRegions);
}

std::shared_ptr<Prober> MustBuild(const std::string& body, Duration timeout = seconds(5)) {
  auto p = BuildDns(body, timeout);
  EXPECT_TRUE(p) << p.error().message;
  return p ? *p : nullptr;
}

// ---- configuration ----------------------------------------------------------------------

class DnsConfigErrorTest : public ::testing::TestWithParam<ConfigErrorCase> {};

TEST_P(DnsConfigErrorTest, ErrorNamesLocationAndKey) {
  testing::ExpectRefused(BuildDns(GetParam().body), GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Dns, DnsConfigErrorTest,
    ::testing::Values(
        ConfigErrorCase{"NoName", "  nameservers: [127.0.0.1:53]\n",
                        "probe.yml:2:3: dns: missing required key \"name\""},
        ConfigErrorCase{"EmptyName", "  name: \"\"\n  nameservers: [127.0.0.1:53]\n",
                        "probe.yml:2:9: dns.name: name is empty"},
        ConfigErrorCase{"LabelTooLong",
                        "  name: a123456789012345678901234567890123456789012345678901234567890123."
                        "example.test\n  nameservers: [127.0.0.1:53]\n",
                        "probe.yml:2:9: dns.name: \"a1234"},
        ConfigErrorCase{"UnsupportedType",
                        "  name: www.example.test\n  type: MX\n  nameservers: [127.0.0.1:53]\n",
                        "probe.yml:3:9: dns.type: unsupported type \"MX\" (A, AAAA, CNAME, TXT)"},
        ConfigErrorCase{"NoNameservers", "  name: www.example.test\n",
                        "probe.yml:2:3: dns: missing required key \"nameservers\""},
        ConfigErrorCase{"EmptyNameservers", "  name: www.example.test\n  nameservers: []\n",
                        "probe.yml:3:16: dns.nameservers: at least one nameserver is needed"},
        ConfigErrorCase{"NameserverNotAnAddress",
                        "  name: www.example.test\n  nameservers: [ns1.example.test:53]\n",
                        "probe.yml:3:17: dns.nameservers[0]: invalid nameserver "
                        "\"ns1.example.test:53\": expected an IP address"},
        ConfigErrorCase{"NameserverBadPort",
                        "  name: www.example.test\n  nameservers: [127.0.0.1:99999]\n",
                        "probe.yml:3:17: dns.nameservers[0]: invalid nameserver"},
        ConfigErrorCase{"NameserverTwice",
                        "  name: www.example.test\n  nameservers: [127.0.0.1:53, 127.0.0.1:53]\n",
                        "probe.yml:3:31: dns.nameservers[1]: nameserver \"127.0.0.1:53\" is "
                        "listed twice"},
        ConfigErrorCase{"BadTransport",
                        "  name: www.example.test\n  nameservers: [127.0.0.1:53]\n  transport: "
                        "quic\n",
                        "probe.yml:4:14: dns.transport: transport must be udp or tcp"},
        ConfigErrorCase{"UnknownRegion",
                        "  name: www.example.test\n  nameservers: [127.0.0.1:53]\n  "
                        "expect_region: us-west\n",
                        "probe.yml:4:18: dns.expect_region: unknown region \"us-west\" (regions: "
                        "empty, eu-west, us-east)"},
        ConfigErrorCase{"RegionWithoutAddresses",
                        "  name: www.example.test\n  nameservers: [127.0.0.1:53]\n  "
                        "expect_region: empty\n",
                        "probe.yml:4:18: dns.expect_region: region \"empty\" has no addresses"},
        ConfigErrorCase{"ExpectRegionOnCname",
                        "  name: www.example.test\n  type: CNAME\n  nameservers: [127.0.0.1:53]\n"
                        "  expect_region: us-east\n",
                        "probe.yml:5:18: dns.expect_region: expect_region needs type A or AAAA"},
        ConfigErrorCase{"UnknownKey",
                        "  name: www.example.test\n  nameservers: [127.0.0.1:53]\n  timeout: 1s\n",
                        "probe.yml:4:3: dns.timeout: unknown key \"timeout\""}),
    testing::ConfigErrorCaseName);

TEST(DnsConfigTest, AcceptsTheDocumentedShapes) {
  EXPECT_TRUE(
      BuildDns("  name: www.example.test\n  type: A\n  nameservers: [127.0.0.1:5353]\n"
               "  expect_region: us-east\n  transport: udp\n"));
  EXPECT_TRUE(
      BuildDns("  name: www.example.test.\n  type: aaaa\n  nameservers: ['[::1]:53', "
               "127.0.0.1]\n  transport: tcp\n"));
  EXPECT_TRUE(BuildDns("  name: example.test\n  type: TXT\n  nameservers: [127.0.0.1:53]\n"));
  EXPECT_TRUE(BuildDns("  name: www.example.test\n  nameservers: [127.0.0.1:53]\n"));  // type A
}

// ---- pure parts -------------------------------------------------------------------------

// A response to "www.example.test A" with the given answer records (rdata of A records).
std::vector<unsigned char> Response(int rcode, bool tc, const std::vector<std::vector<int>>& as,
                                    const std::vector<unsigned>& ttls) {
  std::vector<unsigned char> m = {0x12,
                                  0x34,
                                  static_cast<unsigned char>(0x84 | (tc ? 0x02 : 0)),
                                  static_cast<unsigned char>(rcode),
                                  0,
                                  1,
                                  0,
                                  static_cast<unsigned char>(as.size()),
                                  0,
                                  0,
                                  0,
                                  0};
  for (const char* label : {"www", "example", "test"}) {
    m.push_back(static_cast<unsigned char>(std::string(label).size()));
    for (const char* c = label; *c; ++c) m.push_back(static_cast<unsigned char>(*c));
  }
  m.insert(m.end(), {0, 0, 1, 0, 1});
  for (size_t i = 0; i < as.size(); ++i) {
    unsigned ttl = ttls[i];
    m.insert(m.end(), {0xc0, 0x0c, 0, 1, 0, 1, static_cast<unsigned char>(ttl >> 24),
                       static_cast<unsigned char>(ttl >> 16), static_cast<unsigned char>(ttl >> 8),
                       static_cast<unsigned char>(ttl), 0, 4});
    for (int b : as[i]) m.push_back(static_cast<unsigned char>(b));
  }
  return m;
}

TEST(DnsParseTest, RecordsSortedUniqueWithSmallestTtl) {
  auto packet = Response(0, false, {{127, 0, 0, 3}, {127, 0, 0, 2}, {127, 0, 0, 3}}, {60, 30, 90});
  auto r = ParseDnsResponse(packet.data(), packet.size(), 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rcode, 0);
  EXPECT_FALSE(r->truncated);
  EXPECT_EQ(r->records, (std::vector<std::string>{"127.0.0.2", "127.0.0.3"}));
  EXPECT_EQ(r->ttl, 30u);
  // Records of other types are not part of the answer asked for.
  auto aaaa = ParseDnsResponse(packet.data(), packet.size(), 28);
  ASSERT_TRUE(aaaa);
  EXPECT_TRUE(aaaa->records.empty());
}

TEST(DnsParseTest, FlagsAndMalformedPackets) {
  auto nx = Response(3, false, {}, {});
  EXPECT_EQ(ParseDnsResponse(nx.data(), nx.size(), 1)->rcode, 3);
  auto tc = Response(0, true, {}, {});
  EXPECT_TRUE(ParseDnsResponse(tc.data(), tc.size(), 1)->truncated);
  auto packet = Response(0, false, {{127, 0, 0, 2}}, {30});
  for (size_t cut : {5ul, 20ul, packet.size() - 2}) {
    auto r = ParseDnsResponse(packet.data(), cut, 1);
    EXPECT_FALSE(r) << "a packet cut at " << cut << " bytes parsed";
  }
  // A TTL with the top bit set counts as 0 (RFC 2181).
  auto big = Response(0, false, {{127, 0, 0, 2}}, {0x80000000u});
  EXPECT_EQ(ParseDnsResponse(big.data(), big.size(), 1)->ttl, 0u);
}

TEST(DnsOutcomeTest, ReasonsForEveryWayALookupFails) {
  auto outcome = [](int status, const std::vector<unsigned char>& packet) {
    return DnsOutcome("127.0.0.1:53", "www.example.test A", status, packet, 1, 0.01, seconds(2));
  };
  struct Case {
    int rcode;
    const char* reason;
    const char* detail;
  };
  for (const Case& c : {Case{1, "dns_formerr", "FORMERR"}, Case{2, "dns_servfail", "SERVFAIL"},
                        Case{3, "dns_nxdomain", "NXDOMAIN"}, Case{4, "dns_notimp", "NOTIMP"},
                        Case{5, "dns_refused", "REFUSED"}, Case{9, "dns_notauth", "NOTAUTH"},
                        Case{7, "dns_rcode", "YXRRSET"}}) {
    NameserverOutcome o = outcome(ARES_SUCCESS, Response(c.rcode, false, {}, {}));
    EXPECT_EQ(o.reason, c.reason);
    EXPECT_EQ(o.detail, std::string("127.0.0.1:53: ") + c.detail + " for www.example.test A");
  }
  EXPECT_EQ(outcome(ARES_SUCCESS, Response(0, true, {}, {})).reason, "dns_truncated");
  EXPECT_EQ(outcome(ARES_SUCCESS, Response(0, false, {}, {})).reason, "dns_nodata");
  NameserverOutcome t = outcome(ARES_ETIMEOUT, {});
  EXPECT_EQ(t.reason, "timeout");
  EXPECT_EQ(t.detail, "127.0.0.1:53: no answer for www.example.test A within 2s");
  EXPECT_EQ(outcome(ARES_ECONNREFUSED, {}).reason, "connection_refused");
  EXPECT_EQ(outcome(ARES_SUCCESS, {1, 2, 3}).reason, "error");
  NameserverOutcome ok = outcome(ARES_SUCCESS, Response(0, false, {{127, 0, 0, 2}}, {30}));
  EXPECT_EQ(ok.reason, "");
  EXPECT_EQ(ok.targets, std::vector<std::string>{"127.0.0.2"});
  EXPECT_EQ(ok.ttl_seconds, 30);
}

TEST(RegionIndexTest, MapsAddressesNotSpellings) {
  RegionIndex index(kRegions);
  EXPECT_EQ(index.RegionOf("127.0.0.2"), "us-east");
  EXPECT_EQ(index.RegionOf("127.0.0.3"), "eu-west");
  EXPECT_EQ(index.RegionOf("2001:0db8:0000::0002"), "us-east");
  EXPECT_EQ(index.RegionOf("127.0.0.4"), "unknown");
  EXPECT_EQ(index.RegionOf("shop.example.test."), "unknown");
}

NameserverOutcome Answered(const std::string& ns, std::vector<std::string> targets) {
  NameserverOutcome o;
  o.nameserver = ns;
  o.targets = std::move(targets);
  o.ttl_seconds = 60;
  o.lookup_seconds = 0.002;
  return o;
}

TEST(DnsProbeResultTest, TargetsRegionsAgreementAndExpectation) {
  DnsCheck check{"www.example.test", "A", "us-east", RegionIndex(kRegions)};
  ProbeResult r = DnsProbeResult(
      check, {Answered("127.0.0.1:53", {"127.0.0.2"}), Answered("127.0.0.9:53", {"127.0.0.2"})});
  EXPECT_TRUE(r.success) << Describe(r);
  std::string text = RenderSamples(r);
  for (const char* ns : {"127.0.0.1:53", "127.0.0.9:53"}) {
    EXPECT_TRUE(HasLine(text, std::string("failover_dns_record_target{probe=\"p\",kind=\"k\",name="
                                          "\"www.example.test\",type=\"A\",target=\"127.0.0.2\","
                                          "target_region=\"us-east\",nameserver=\"") +
                                  ns + "\"} 1"))
        << text;
    EXPECT_TRUE(HasLine(text, std::string("failover_dns_record_ttl_seconds{probe=\"p\",kind=\"k\","
                                          "nameserver=\"") +
                                  ns + "\"} 60"));
    EXPECT_TRUE(HasLine(text, std::string("failover_dns_lookup_seconds{probe=\"p\",kind=\"k\","
                                          "nameserver=\"") +
                                  ns + "\"} 0.002"));
  }
  EXPECT_TRUE(HasLine(text, "failover_dns_nameservers_agree{probe=\"p\",kind=\"k\"} 1"));
  EXPECT_TRUE(HasLine(text, "failover_dns_record_matches_expected{probe=\"p\",kind=\"k\"} 1"));

  // One nameserver already points at eu-west: they disagree, and not everything is us-east.
  r = DnsProbeResult(
      check, {Answered("127.0.0.1:53", {"127.0.0.2"}), Answered("127.0.0.9:53", {"127.0.0.3"})});
  EXPECT_TRUE(r.success);
  text = RenderSamples(r);
  EXPECT_TRUE(HasSubstr(text,
                        "target=\"127.0.0.3\",target_region=\"eu-west\",nameserver=\""
                        "127.0.0.9:53\"} 1"));
  EXPECT_TRUE(HasLine(text, "failover_dns_nameservers_agree{probe=\"p\",kind=\"k\"} 0"));
  EXPECT_TRUE(HasLine(text, "failover_dns_record_matches_expected{probe=\"p\",kind=\"k\"} 0"));

  // An answer outside every region.
  r = DnsProbeResult(check, {Answered("127.0.0.1:53", {"127.0.0.2", "192.0.2.7"})});
  text = RenderSamples(r);
  EXPECT_TRUE(HasSubstr(text, "target=\"192.0.2.7\",target_region=\"unknown\""));
  EXPECT_TRUE(HasLine(text, "failover_dns_record_matches_expected{probe=\"p\",kind=\"k\"} 0"));
}

TEST(DnsProbeResultTest, FailureOfOneNameserver) {
  DnsCheck check{"www.example.test", "A", "us-east", RegionIndex(kRegions)};
  NameserverOutcome nx;
  nx.nameserver = "127.0.0.9:53";
  nx.reason = "dns_nxdomain";
  nx.detail = "127.0.0.9:53: NXDOMAIN for www.example.test A";
  nx.lookup_seconds = 0.001;
  ProbeResult r = DnsProbeResult(check, {Answered("127.0.0.1:53", {"127.0.0.2"}), nx});
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "dns_nxdomain");
  EXPECT_EQ(r.detail, "127.0.0.9:53: NXDOMAIN for www.example.test A");
  std::string text = RenderSamples(r);
  // The nameserver that answered still shows its answer; the failed one only its time.
  EXPECT_TRUE(HasSubstr(text,
                        "target=\"127.0.0.2\",target_region=\"us-east\",nameserver=\""
                        "127.0.0.1:53\"} 1"));
  EXPECT_EQ(text.find("nameserver=\"127.0.0.9:53\"} 1\n"), std::string::npos) << text;
  EXPECT_TRUE(HasLine(
      text,
      "failover_dns_lookup_seconds{probe=\"p\",kind=\"k\",nameserver=\"127.0.0.9:53\"} 0.001"));
  EXPECT_TRUE(HasLine(text, "failover_dns_nameservers_agree{probe=\"p\",kind=\"k\"} 0"));
  EXPECT_TRUE(HasLine(text, "failover_dns_record_matches_expected{probe=\"p\",kind=\"k\"} 0"));
}

TEST(DnsProbeResultTest, NoExpectationNoMatchSeries) {
  DnsCheck check{"www.example.test", "A", "", RegionIndex(kRegions)};
  ProbeResult r = DnsProbeResult(check, {Answered("127.0.0.1:53", {"127.0.0.3"})});
  EXPECT_TRUE(r.success);
  std::string text = RenderSamples(r);
  EXPECT_EQ(text.find("failover_dns_record_matches_expected"), std::string::npos);
  EXPECT_TRUE(HasLine(text, "failover_dns_nameservers_agree{probe=\"p\",kind=\"k\"} 1"));
  EXPECT_TRUE(HasSubstr(text, "target_region=\"eu-west\""));
}

// ---- whole runs against a loopback DNS server ------------------------------------------

class DnsProberRunTest : public ::testing::Test {
 protected:
  DnsProberRunTest() { dns_.SetRecords("www.example.test", "A", {"127.0.0.2"}, 30); }
  std::string Body(const std::string& extra = "") {
    return "  name: www.example.test\n  nameservers: [" + dns_.address() + "]\n" + extra;
  }
  TestDnsServer dns_;
  ProbeRunner runner_;
};

TEST_F(DnsProberRunTest, AnswerMapsToRegionAndFollowsChanges) {
  auto prober = MustBuild(Body("  expect_region: us-east\n"));
  ProbeResult r = runner_.Run(*prober);
  ASSERT_TRUE(r.success) << Describe(r);
  std::string ns = dns_.address();
  std::string text = RenderSamples(r);
  EXPECT_TRUE(HasLine(text,
                      "failover_dns_record_target{probe=\"p\",kind=\"k\",name=\"www.example."
                      "test\",type=\"A\",target=\"127.0.0.2\",target_region=\"us-east\","
                      "nameserver=\"" +
                          ns + "\"} 1"))
      << text;
  EXPECT_TRUE(HasLine(text, "failover_dns_record_ttl_seconds{probe=\"p\",kind=\"k\",nameserver=\"" +
                                ns + "\"} 30"));
  EXPECT_TRUE(HasLine(text, "failover_dns_record_matches_expected{probe=\"p\",kind=\"k\"} 1"));

  // The record moves to eu-west: the next run exports only the new target.
  dns_.SetRecords("www.example.test", "A", {"127.0.0.3"}, 30);
  r = runner_.Run(*prober);
  ASSERT_TRUE(r.success) << Describe(r);
  text = RenderSamples(r);
  EXPECT_TRUE(HasSubstr(text, "target=\"127.0.0.3\",target_region=\"eu-west\""));
  EXPECT_EQ(text.find("127.0.0.2"), std::string::npos) << "old target left behind:\n" << text;
  EXPECT_TRUE(HasLine(text, "failover_dns_record_matches_expected{probe=\"p\",kind=\"k\"} 0"));
}

TEST_F(DnsProberRunTest, OtherTypes) {
  dns_.SetRecords("www.example.test", "AAAA", {"2001:db8::2"}, 40);
  dns_.SetRecords("alias.example.test", "CNAME", {"www.example.test"}, 50);
  dns_.SetRecords("example.test", "TXT", {"v=spf1 -all"}, 60);
  ProbeResult r = runner_.Run(*MustBuild(Body("  type: AAAA\n  expect_region: us-east\n")));
  ASSERT_TRUE(r.success) << Describe(r);
  EXPECT_TRUE(HasSubstr(RenderSamples(r),
                        "type=\"AAAA\",target=\"2001:db8::2\",target_region="
                        "\"us-east\""));
  r = runner_.Run(*MustBuild("  name: alias.example.test\n  type: CNAME\n  nameservers: [" +
                             dns_.address() + "]\n"));
  ASSERT_TRUE(r.success) << Describe(r);
  EXPECT_TRUE(HasSubstr(RenderSamples(r),
                        "type=\"CNAME\",target=\"www.example.test.\","
                        "target_region=\"unknown\""));
  r = runner_.Run(
      *MustBuild("  name: example.test\n  type: TXT\n  nameservers: [" + dns_.address() + "]\n"));
  ASSERT_TRUE(r.success) << Describe(r);
  EXPECT_TRUE(HasSubstr(RenderSamples(r), "type=\"TXT\",target=\"\\\"v=spf1 -all\\\"\""));
}

TEST_F(DnsProberRunTest, WorksWithoutExpectation) {
  dns_.SetRecords("www.example.test", "A", {"127.0.0.2", "127.0.0.3"}, 30);
  ProbeResult r = runner_.Run(*MustBuild(Body()));
  ASSERT_TRUE(r.success) << Describe(r);
  std::string text = RenderSamples(r);
  EXPECT_TRUE(HasSubstr(text, "target=\"127.0.0.2\",target_region=\"us-east\""));
  EXPECT_TRUE(HasSubstr(text, "target=\"127.0.0.3\",target_region=\"eu-west\""));
  EXPECT_EQ(text.find("matches_expected"), std::string::npos);
}

TEST_F(DnsProberRunTest, ErrorRcodesFailWithTheirReason) {
  auto prober = MustBuild(Body());
  ProbeResult r = runner_.Run(
      *MustBuild("  name: nope.example.test\n  nameservers: [" + dns_.address() + "]\n"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "dns_nxdomain");
  EXPECT_EQ(r.detail, dns_.address() + ": NXDOMAIN for nope.example.test A");
  for (auto [rcode, reason] : {std::pair{2, "dns_servfail"}, {5, "dns_refused"}}) {
    dns_.SetBehaviour(TestDnsServer::Behaviour::kRcode, rcode);
    int before = dns_.UdpQueries();
    r = runner_.Run(*prober);
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.reason, reason);
    // Answered at once: not retried as if the server had failed.
    EXPECT_EQ(dns_.UdpQueries(), before + 1);
  }
  dns_.SetBehaviour(TestDnsServer::Behaviour::kAnswer);
  r = runner_.Run(*MustBuild(Body("  type: AAAA\n")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "dns_nodata");
}

TEST_F(DnsProberRunTest, TruncatedUdpFailsTcpGetsTheAnswer) {
  dns_.SetBehaviour(TestDnsServer::Behaviour::kTruncate);
  ProbeResult r = runner_.Run(*MustBuild(Body()));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "dns_truncated");
  EXPECT_TRUE(HasSubstr(r.detail, "transport: tcp"));
  EXPECT_EQ(dns_.TcpQueries(), 0) << "fell back to TCP by itself";
  r = runner_.Run(*MustBuild(Body("  transport: tcp\n")));
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(dns_.TcpQueries(), 1);
}

TEST_F(DnsProberRunTest, SilentNameserverTimesOutByTheDeadline) {
  dns_.SetBehaviour(TestDnsServer::Behaviour::kSilent);
  for (const char* transport : {"udp", "tcp"}) {
    auto prober =
        MustBuild(Body(std::string("  transport: ") + transport + "\n"), milliseconds(300));
    auto start = std::chrono::steady_clock::now();
    ProbeResult r = runner_.Run(*prober, milliseconds(300));
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.reason, "timeout") << transport << ": " << Describe(r);
    EXPECT_TRUE(HasSubstr(r.detail, dns_.address() + ": no answer for www.example.test A within "
                                                     "300ms"));
    EXPECT_GE(took, milliseconds(250)) << transport;
    EXPECT_EQ(runner_.ares().active(), 0u);
    EXPECT_EQ(runner_.loop().watched_fds(), 0u) << "sockets left open";
  }
  // UDP retransmits once within the budget.
  EXPECT_EQ(dns_.UdpQueries(), 2);
}

TEST_F(DnsProberRunTest, ClosedPortIsRefused) {
  int port = testing::ClosedPort();
  ProbeResult r = runner_.Run(*MustBuild(
      "  name: www.example.test\n  nameservers: [127.0.0.1:" + std::to_string(port) + "]\n"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "connection_refused") << Describe(r);
}

TEST_F(DnsProberRunTest, EveryNameserverIsAskedAndAHangingOneDelaysNothingElse) {
  TestDnsServer other;
  other.SetRecords("www.example.test", "A", {"127.0.0.3"}, 30);
  TestDnsServer silent;
  silent.SetBehaviour(TestDnsServer::Behaviour::kSilent);
  auto both = MustBuild("  name: www.example.test\n  nameservers: [" + dns_.address() + ", " +
                        other.address() + "]\n");
  ProbeResult r = runner_.Run(*both);
  EXPECT_TRUE(r.success) << Describe(r);
  std::string text = RenderSamples(r);
  EXPECT_TRUE(HasSubstr(text, "target=\"127.0.0.2\",target_region=\"us-east\",nameserver=\"" +
                                  dns_.address() + "\"} 1"));
  EXPECT_TRUE(HasSubstr(text, "target=\"127.0.0.3\",target_region=\"eu-west\",nameserver=\"" +
                                  other.address() + "\"} 1"));
  EXPECT_TRUE(HasLine(text, "failover_dns_nameservers_agree{probe=\"p\",kind=\"k\"} 0"));

  // A probe whose nameserver never answers is in flight (2 s) while another probe runs
  // ten times on the same loop.
  auto hanging = MustBuild("  name: www.example.test\n  nameservers: [" + silent.address() + "]\n",
                           seconds(2));
  auto healthy = MustBuild(Body());
  std::optional<ProbeResult> hang_result;
  runner_.Start(*hanging, std::chrono::steady_clock::now() + seconds(2),
                [&](ProbeResult res) { hang_result = std::move(res); });
  int healthy_runs = 0;
  for (int i = 0; i < 10; ++i) {
    ProbeResult h = runner_.Run(*healthy, seconds(1));
    if (h.success) ++healthy_runs;
  }
  EXPECT_EQ(healthy_runs, 10);
  EXPECT_FALSE(hang_result.has_value()) << "the hanging probe ended early";
  ASSERT_TRUE(runner_.Pump([&] { return hang_result.has_value(); }));
  EXPECT_EQ(hang_result->reason, "timeout");
}

TEST(AresDriverTest, DestroyedWithQueriesInFlight) {
  TestDnsServer silent;
  silent.SetBehaviour(TestDnsServer::Behaviour::kSilent);
  EventLoop loop;
  bool called = false;
  {
    AresDriver driver(loop);
    auto prober =
        MustBuild("  name: www.example.test\n  nameservers: [" + silent.address() + "]\n");
    CurlMulti curl(loop);
    ProbeEnv env{&loop, &curl, &driver};
    prober->Start(env, std::chrono::steady_clock::now() + seconds(10),
                  [&](ProbeResult) { called = true; });
    EXPECT_TRUE(testing::WaitFor([&] {
      loop.RunOnce(std::chrono::steady_clock::now() + milliseconds(10));
      return silent.UdpQueries() > 0;
    }));
    EXPECT_EQ(driver.active(), 1u);
  }
  EXPECT_FALSE(called);
  EXPECT_EQ(loop.watched_fds(), 0u);
}

}  // namespace
}  // namespace failover
