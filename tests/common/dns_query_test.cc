// QueryDns (c-ares) against the real PowerDNS of scripts/stack, plus silent and closed
// ports for the failure paths.
#include "common/dns_query.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "common/http_client.h"
#include "tests/support/stack.h"
#include "tests/support/test_dns_server.h"
#include "tests/support/test_http_server.h"

namespace failover {
namespace {

using testing::Stack;

class DnsQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = &Stack::Get({"powerdns"});
    dns_ = stack_->Env("PDNS_DNS_ADDR");
  }

  // Replaces one rrset through the PowerDNS API (records are PowerDNS content).
  void Put(const std::string& name, const std::string& type, int ttl,
           const std::vector<std::string>& records) {
    nlohmann::json recs = nlohmann::json::array();
    for (const auto& r : records) recs.push_back({{"content", r}, {"disabled", false}});
    nlohmann::json body = {{"rrsets",
                            {{{"name", name},
                              {"type", type},
                              {"ttl", ttl},
                              {"changetype", "REPLACE"},
                              {"records", recs}}}}};
    HttpRequest req;
    req.method = "PATCH";
    req.url = stack_->Env("PDNS_API_URL") + "/api/v1/servers/localhost/zones/example.test.";
    req.headers = {{"X-API-Key", stack_->Env("PDNS_API_KEY")},
                   {"Accept", "application/json"},
                   {"Content-Type", "application/json"}};
    req.body = body.dump();
    auto resp = http_.Send(req);
    ASSERT_TRUE(resp) << resp.error().message;
    ASSERT_EQ(resp->status, 204) << resp->body;
  }

  Stack* stack_ = nullptr;
  std::string dns_;
  CurlHttpClient http_;
};

TEST_F(DnsQueryTest, AnswersTheStacksRecordAuthoritatively) {
  auto a = QueryDns(dns_, "ns1.example.test.", "A", std::chrono::seconds(5));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->rcode, "NOERROR");
  EXPECT_EQ(a->records, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(a->ttl, 60);
  EXPECT_TRUE(a->authoritative);
}

TEST_F(DnsQueryTest, NameWithoutTrailingDotAndInOtherCase) {
  auto a = QueryDns(dns_, "NS1.Example.Test", "a", std::chrono::seconds(5));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->rcode, "NOERROR");
  EXPECT_EQ(a->records, std::vector<std::string>{"127.0.0.1"});
}

TEST_F(DnsQueryTest, SeveralRecordsSortedWithSmallestTtl) {
  Put("multi.example.test.", "A", 42, {"127.0.0.9", "127.0.0.10", "127.0.0.8"});
  auto a = QueryDns(dns_, "multi.example.test.", "A", std::chrono::seconds(5));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->records, (std::vector<std::string>{"127.0.0.10", "127.0.0.8", "127.0.0.9"}));
  EXPECT_EQ(a->ttl, 42);
}

TEST_F(DnsQueryTest, AaaaCnameAndTxtInPresentationFormat) {
  Put("v6.example.test.", "AAAA", 30, {"2001:db8::1"});
  Put("alias.example.test.", "CNAME", 30, {"Target.Example.Test."});
  Put("txt.example.test.", "TXT", 30, {R"("v=spf1 -all" "say \"hi\"")"});
  auto v6 = QueryDns(dns_, "v6.example.test.", "AAAA", std::chrono::seconds(5));
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->records, std::vector<std::string>{"2001:db8::1"});
  auto cname = QueryDns(dns_, "alias.example.test.", "CNAME", std::chrono::seconds(5));
  ASSERT_TRUE(cname) << cname.error().message;
  EXPECT_EQ(cname->records, std::vector<std::string>{"target.example.test."});
  auto txt = QueryDns(dns_, "txt.example.test.", "TXT", std::chrono::seconds(5));
  ASSERT_TRUE(txt) << txt.error().message;
  EXPECT_EQ(txt->records, std::vector<std::string>{R"("v=spf1 -all" "say \"hi\"")"});
}

TEST_F(DnsQueryTest, SoaGivesTheSerial) {
  auto soa = QueryDns(dns_, "example.test.", "SOA", std::chrono::seconds(5));
  ASSERT_TRUE(soa) << soa.error().message;
  ASSERT_EQ(soa->records.size(), 1u);
  // "mname rname serial refresh retry expire minimum"
  std::istringstream in(soa->records[0]);
  std::string mname, rname;
  long long serial = 0;
  in >> mname >> rname >> serial;
  EXPECT_EQ(mname.back(), '.');
  EXPECT_GT(serial, 0);
}

TEST_F(DnsQueryTest, RcodesAreAnswersNotErrors) {
  auto nx = QueryDns(dns_, "does-not-exist.example.test.", "A", std::chrono::seconds(5));
  ASSERT_TRUE(nx) << nx.error().message;
  EXPECT_EQ(nx->rcode, "NXDOMAIN");
  EXPECT_TRUE(nx->records.empty());

  auto nodata = QueryDns(dns_, "ns1.example.test.", "TXT", std::chrono::seconds(5));
  ASSERT_TRUE(nodata) << nodata.error().message;
  EXPECT_EQ(nodata->rcode, "NOERROR");
  EXPECT_TRUE(nodata->records.empty());
  EXPECT_EQ(nodata->ttl, 0);

  auto refused = QueryDns(dns_, "www.not-served.invalid.", "A", std::chrono::seconds(5));
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_EQ(refused->rcode, "REFUSED");
}

TEST_F(DnsQueryTest, OverTcp) {
  auto a = QueryDns(dns_, "ns1.example.test.", "A", std::chrono::seconds(5), /*tcp=*/true);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->records, std::vector<std::string>{"127.0.0.1"});
}

using testing::SilentUdp;

TEST(DnsQueryFailures, SilentServerTimesOutRetryably) {
  SilentUdp silent;
  auto a = QueryDns(silent.address(), "www.example.test.", "A", std::chrono::milliseconds(300));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, ErrorCode::kTimeout);
  EXPECT_TRUE(a.error().retryable);
  EXPECT_NE(a.error().message.find(silent.address()), std::string::npos) << a.error().message;
}

TEST(DnsQueryFailures, ClosedTcpPortIsRetryableUnavailable) {
  std::string server = "127.0.0.1:" + std::to_string(testing::ClosedPort());
  auto a = QueryDns(server, "www.example.test.", "A", std::chrono::seconds(2), /*tcp=*/true);
  ASSERT_FALSE(a);
  EXPECT_TRUE(a.error().retryable);
}

TEST(DnsQueryFailures, BadArguments) {
  auto type = QueryDns("127.0.0.1:53", "www.example.test.", "MX", std::chrono::seconds(1));
  ASSERT_FALSE(type);
  EXPECT_EQ(type.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(type.error().message.find("MX"), std::string::npos);
  auto server = QueryDns("localhost:53", "www.example.test.", "A", std::chrono::seconds(1));
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(server.error().message.find("IP address"), std::string::npos);
}

TEST(DnsQueryFailures, ParseDnsServer) {
  auto v4 = ParseDnsServer("127.0.0.1:5353");
  ASSERT_TRUE(v4);
  EXPECT_EQ(*v4, std::make_pair(std::string("127.0.0.1"), 5353));
  auto bare = ParseDnsServer("127.0.0.1");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->second, 53);
  auto v6 = ParseDnsServer("[::1]:5300");
  ASSERT_TRUE(v6);
  EXPECT_EQ(*v6, std::make_pair(std::string("::1"), 5300));
  auto v6bare = ParseDnsServer("::1");
  ASSERT_TRUE(v6bare);
  EXPECT_EQ(*v6bare, std::make_pair(std::string("::1"), 53));
  EXPECT_FALSE(ParseDnsServer("127.0.0.1:0"));
  EXPECT_FALSE(ParseDnsServer("127.0.0.1:70000"));
  EXPECT_FALSE(ParseDnsServer("127.0.0.1:x"));
  EXPECT_FALSE(ParseDnsServer("ns1.example.test:53"));
  EXPECT_FALSE(ParseDnsServer("[::1"));
  EXPECT_FALSE(ParseDnsServer(""));
}

TEST(DnsQueryFailures, QuoteTxtEscapes) {
  EXPECT_EQ(QuoteTxt({"a b", "c\"d\\e"}), R"("a b" "c\"d\\e")");
  EXPECT_EQ(QuoteTxt({"caf\xc3\xa9\t"}), R"("caf\195\169\009")");
  EXPECT_EQ(QuoteTxt({""}), R"("")");
}

// ParseDnsAnswer: the parser QueryDns uses, on messages built by hand (tests/fuzz feeds it
// arbitrary ones).
std::vector<unsigned char> AnswerMessage(bool aa, std::vector<std::vector<unsigned char>> as,
                                         std::vector<unsigned> ttls) {
  std::vector<unsigned char> m = {0x12,
                                  0x34,
                                  static_cast<unsigned char>(0x80 | (aa ? 0x04 : 0)),
                                  0,
                                  0,
                                  1,
                                  0,
                                  static_cast<unsigned char>(as.size()),
                                  0,
                                  0,
                                  0,
                                  0,
                                  3,
                                  'w',
                                  'w',
                                  'w',
                                  0,
                                  0,
                                  1,
                                  0,
                                  1};
  for (size_t i = 0; i < as.size(); ++i) {
    unsigned t = ttls[i];
    m.insert(m.end(), {0xc0, 0x0c, 0, 1, 0, 1, static_cast<unsigned char>(t >> 24),
                       static_cast<unsigned char>(t >> 16), static_cast<unsigned char>(t >> 8),
                       static_cast<unsigned char>(t), 0, static_cast<unsigned char>(as[i].size())});
    m.insert(m.end(), as[i].begin(), as[i].end());
  }
  return m;
}

TEST(ParseDnsAnswerTest, RecordsSortedWithSmallestTtlAndTheAaBit) {
  auto m = AnswerMessage(true, {{127, 0, 0, 3}, {127, 0, 0, 2}}, {60, 30});
  auto a = ParseDnsAnswer(m.data(), m.size(), 1);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->rcode, "NOERROR");
  EXPECT_TRUE(a->authoritative);
  EXPECT_EQ(a->records, (std::vector<std::string>{"127.0.0.2", "127.0.0.3"}));
  EXPECT_EQ(a->ttl, 30);
  auto aaaa = ParseDnsAnswer(m.data(), m.size(), 28);
  ASSERT_TRUE(aaaa);
  EXPECT_TRUE(aaaa->records.empty());
  EXPECT_EQ(aaaa->ttl, 0);
}

TEST(ParseDnsAnswerTest, MalformedMessagesAreErrors) {
  auto m = AnswerMessage(false, {{127, 0, 0, 2}}, {30});
  for (size_t cut : {0ul, 11ul, 15ul, m.size() - 1}) {
    EXPECT_FALSE(ParseDnsAnswer(m.data(), cut, 1)) << "cut at " << cut;
  }
  auto short_a = AnswerMessage(false, {{127, 0, 0}}, {30});
  auto r = ParseDnsAnswer(short_a.data(), short_a.size(), 1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("A of length != 4"), std::string::npos) << r.error().message;
  auto loop = m;
  loop[12] = 0xc0;  // the question name points at itself
  loop[13] = 0x0c;
  EXPECT_FALSE(ParseDnsAnswer(loop.data(), loop.size(), 1));
}

}  // namespace
}  // namespace failover
