// The PowerDNS provider against the real PowerDNS of scripts/stack, and against a local
// HTTP server for the request shape and the retryable answers PowerDNS rarely gives.
#include "actuator/dns/powerdns.h"

#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "common/dns_query.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "tests/support/stack.h"
#include "tests/support/test_http_server.h"

namespace failover {
namespace {

using testing::Stack;

MonoTime Soon() { return SystemClock::Get().Now() + std::chrono::seconds(20); }

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

Result<std::shared_ptr<DnsProvider>> Provider(const std::string& yaml, HttpClient* http) {
  auto node = YamlNode::LoadString(yaml, "actuator.yml");
  if (!node) return node.error();
  DnsProviderContext ctx;
  ctx.http = http;
  ctx.clock = &SystemClock::Get();
  return NewPowerDnsProvider(*node, ctx);
}

class PowerDnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = &Stack::Get({"powerdns"});
    auto p = Provider("{url: " + stack_->Env("PDNS_API_URL") + ", api_key_file: " +
                          stack_->Env("PDNS_API_KEY_FILE") + ", server_id: localhost}",
                      &http_);
    ASSERT_TRUE(p) << p.error().message;
    provider_ = *p;
  }

  Stack* stack_ = nullptr;
  CurlHttpClient http_;
  std::shared_ptr<DnsProvider> provider_;
};

TEST_F(PowerDnsTest, GetsAnExistingRecordSet) {
  EXPECT_EQ(provider_->kind(), "powerdns");
  auto got = provider_->Get("example.test.", "ns1.example.test.", "A", Soon());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, (DnsRecordSet{"ns1.example.test.", "A", 60, {"127.0.0.1"}}));
}

TEST_F(PowerDnsTest, MissingRecordSetIsNullopt) {
  auto name = provider_->Get("example.test.", "nothing-here.example.test.", "A", Soon());
  ASSERT_TRUE(name) << name.error().message;
  EXPECT_FALSE(name->has_value());
  // The name exists, the type does not.
  auto type = provider_->Get("example.test.", "ns1.example.test.", "AAAA", Soon());
  ASSERT_TRUE(type) << type.error().message;
  EXPECT_FALSE(type->has_value());
}

TEST_F(PowerDnsTest, SetIsServedAtOnce) {
  const std::string dns = stack_->Env("PDNS_DNS_ADDR");
  DnsRecordSet want{"switch.example.test.", "A", 45, {"127.0.0.5", "127.0.0.6"}};
  ASSERT_TRUE(provider_->Set("example.test.", want, Soon()));
  auto got = provider_->Get("example.test.", "switch.example.test.", "A", Soon());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, want);
  auto answer = QueryDns(dns, "switch.example.test.", "A", std::chrono::seconds(5));
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->records, want.records);
  EXPECT_EQ(answer->ttl, 45);

  // Replacing, not adding.
  DnsRecordSet next{"switch.example.test.", "A", 30, {"127.0.0.3"}};
  ASSERT_TRUE(provider_->Set("example.test.", next, Soon()));
  answer = QueryDns(dns, "switch.example.test.", "A", std::chrono::seconds(5));
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->records, next.records);
  EXPECT_EQ(answer->ttl, 30);
}

TEST_F(PowerDnsTest, TxtAndCnameRoundTrip) {
  DnsRecordSet txt{"txt.example.test.", "TXT", 60, {R"("v=spf1 -all")"}};
  ASSERT_TRUE(provider_->Set("example.test.", txt, Soon()));
  auto got = provider_->Get("example.test.", "txt.example.test.", "TXT", Soon());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, txt);
  DnsRecordSet cname{"alias.example.test.", "CNAME", 60, {"www.example.test."}};
  ASSERT_TRUE(provider_->Set("example.test.", cname, Soon()));
  got = provider_->Get("example.test.", "alias.example.test.", "CNAME", Soon());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, cname);
}

TEST_F(PowerDnsTest, WrongKeyIsAuthenticationFailureWithoutTheKey) {
  const std::string wrong = "wrong-key-7f3a9c";
  auto p = Provider("{url: " + stack_->Env("PDNS_API_URL") + ", api_key: " + wrong + "}", &http_);
  ASSERT_TRUE(p) << p.error().message;
  auto got = (*p)->Get("example.test.", "ns1.example.test.", "A", Soon());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_EQ(got.error().code, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(Contains(got.error().message, "authentication failed")) << got.error().message;
  EXPECT_FALSE(Contains(got.error().message, wrong)) << got.error().message;
  EXPECT_FALSE(Contains(got.error().message, stack_->Env("PDNS_API_KEY")));

  auto set = (*p)->Set("example.test.", {"x.example.test.", "A", 60, {"127.0.0.9"}}, Soon());
  ASSERT_FALSE(set);
  EXPECT_FALSE(set.error().retryable);
  EXPECT_FALSE(Contains(set.error().message, wrong)) << set.error().message;
  // Nothing was written.
  auto check = provider_->Get("example.test.", "x.example.test.", "A", Soon());
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->has_value());
}

TEST_F(PowerDnsTest, UnknownZoneIsNotFound) {
  auto got = provider_->Get("nope.test.", "www.nope.test.", "A", Soon());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(Contains(got.error().message, "zone nope.test. not found")) << got.error().message;
  auto set = provider_->Set("nope.test.", {"www.nope.test.", "A", 60, {"127.0.0.3"}}, Soon());
  ASSERT_FALSE(set);
  EXPECT_FALSE(set.error().retryable);
  EXPECT_EQ(set.error().code, ErrorCode::kNotFound);
}

TEST_F(PowerDnsTest, UnprocessableChangeCarriesPowerDnsMessage) {
  auto bad = provider_->Set("example.test.", {"bad.example.test.", "A", 60, {"not-an-ip"}}, Soon());
  ASSERT_FALSE(bad);
  EXPECT_FALSE(bad.error().retryable);
  EXPECT_TRUE(Contains(bad.error().message, "HTTP 422")) << bad.error().message;
  // PowerDNS' own text, naming the record and the content it could not parse.
  EXPECT_TRUE(Contains(bad.error().message, "Record bad.example.test./A 'not-an-ip'"))
      << bad.error().message;
  EXPECT_TRUE(Contains(bad.error().message, "Parsing record content")) << bad.error().message;

  auto out = provider_->Set("example.test.", {"www.other.test.", "A", 60, {"127.0.0.3"}}, Soon());
  ASSERT_FALSE(out);
  EXPECT_TRUE(Contains(out.error().message, "Name is out of zone")) << out.error().message;
}

// A stand-in PowerDNS API that records requests and answers what the test says.
class FakeApi {
 public:
  FakeApi() {
    HttpServerOptions opts;
    opts.listen_address = "127.0.0.1:0";
    auto handler = [this](const HttpServerRequest& r) {
      std::lock_guard<std::mutex> l(mu_);
      requests_.push_back(r);
      HttpServerResponse resp = HttpServerResponse::Json(status_, body_);
      return resp;
    };
    auto s = HttpServer::Start(
        opts, {{"GET", "/api/", true, handler}, {"PATCH", "/api/", true, handler}});
    if (!s) throw std::runtime_error(s.error().message);
    server_ = std::move(*s);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  void Answer(int status, std::string body) {
    std::lock_guard<std::mutex> l(mu_);
    status_ = status;
    body_ = std::move(body);
  }
  std::vector<HttpServerRequest> requests() const {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

 private:
  mutable std::mutex mu_;
  int status_ = 200;
  std::string body_ = "{}";
  std::vector<HttpServerRequest> requests_;
  std::unique_ptr<HttpServer> server_;
};

TEST(PowerDnsRequests, ShapeOfGetAndPatch) {
  FakeApi api;
  CurlHttpClient http;
  auto p = Provider("{url: " + api.url() + "/, api_key: k3y, server_id: srv}", &http);
  ASSERT_TRUE(p) << p.error().message;
  api.Answer(200, R"({"rrsets":[
      {"name":"www.example.test.","type":"A","ttl":60,
       "records":[{"content":"127.0.0.4","disabled":false},{"content":"127.0.0.2","disabled":false},
                  {"content":"127.0.0.9","disabled":true}]}]})");
  auto got = (*p)->Get("example.test.", "www.example.test.", "A", Soon());
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  // Sorted; a disabled record is not served, so not part of the set.
  EXPECT_EQ((*got)->records, (std::vector<std::string>{"127.0.0.2", "127.0.0.4"}));
  EXPECT_EQ((*got)->ttl, 60);

  api.Answer(204, "");
  ASSERT_TRUE((*p)->Set("example.test.", {"www.example.test.", "A", 30, {"127.0.0.3"}}, Soon()));

  auto reqs = api.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "GET");
  // The zone id keeps its trailing dot in the path (the real PowerDNS tests above depend
  // on that); the server hands the path over as sent.
  EXPECT_EQ(reqs[0].path, "/api/v1/servers/srv/zones/example.test.");
  EXPECT_EQ(reqs[0].QueryParam("rrset_name"), "www.example.test.");
  EXPECT_EQ(reqs[0].QueryParam("rrset_type"), "A");
  for (const auto& r : reqs) {
    EXPECT_EQ(r.Header("x-api-key"), "k3y");
    EXPECT_EQ(r.Header("accept"), "application/json");
  }
  EXPECT_EQ(reqs[1].method, "PATCH");
  EXPECT_EQ(reqs[1].path, "/api/v1/servers/srv/zones/example.test.");
  auto body = nlohmann::json::parse(reqs[1].body);
  EXPECT_EQ(body, nlohmann::json::parse(R"({"rrsets":[{"name":"www.example.test.","type":"A",
      "ttl":30,"changetype":"REPLACE","records":[{"content":"127.0.0.3","disabled":false}]}]})"));
}

TEST(PowerDnsRequests, ServerErrorsAndTransportFailuresAreRetryable) {
  FakeApi api;
  CurlHttpClient http;
  auto p = Provider("{url: " + api.url() + ", api_key: k}", &http);
  ASSERT_TRUE(p) << p.error().message;
  api.Answer(503, R"({"error":"backend is down"})");
  auto got = (*p)->Get("example.test.", "www.example.test.", "A", Soon());
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "HTTP 503")) << got.error().message;
  EXPECT_TRUE(Contains(got.error().message, "backend is down")) << got.error().message;
  auto set = (*p)->Set("example.test.", {"www.example.test.", "A", 30, {"127.0.0.3"}}, Soon());
  ASSERT_FALSE(set);
  EXPECT_TRUE(set.error().retryable);

  api.Answer(429, "{}");
  got = (*p)->Get("example.test.", "www.example.test.", "A", Soon());
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);

  api.Answer(400, R"({"error":"bad request"})");
  got = (*p)->Get("example.test.", "www.example.test.", "A", Soon());
  ASSERT_FALSE(got);
  EXPECT_FALSE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "bad request")) << got.error().message;

  auto closed = Provider(
      "{url: http://127.0.0.1:" + std::to_string(testing::ClosedPort()) + ", api_key: k}", &http);
  ASSERT_TRUE(closed);
  got = (*closed)->Get("example.test.", "www.example.test.", "A", Soon());
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);
  EXPECT_TRUE(Contains(got.error().message, "powerdns")) << got.error().message;
}

// url: may name the API root (/api/v1), server_id: defaults to localhost and the key may
// come from the environment: the requests go where those say, with that key.
TEST(PowerDnsRequests, ApiRootUrlDefaultServerAndKeyFromTheEnvironment) {
  FakeApi api;
  CurlHttpClient http;
  ASSERT_EQ(setenv("FAILOVER_TEST_PDNS_KEY", "3nv-k3y", 1), 0);
  auto p = Provider("{url: " + api.url() + "/api/v1/, api_key_env: FAILOVER_TEST_PDNS_KEY}", &http);
  ASSERT_TRUE(p) << p.error().message;
  api.Answer(200, R"({"rrsets":[]})");
  auto got = (*p)->Get("example.test.", "www.example.test.", "A", Soon());
  unsetenv("FAILOVER_TEST_PDNS_KEY");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_FALSE(got->has_value());
  auto reqs = api.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/api/v1/servers/localhost/zones/example.test.");
  EXPECT_EQ(reqs[0].Header("x-api-key"), "3nv-k3y");
}

TEST(PowerDnsRequests, PassedDeadlineSendsNothing) {
  FakeApi api;
  CurlHttpClient http;
  auto p = Provider("{url: " + api.url() + ", api_key: k}", &http);
  ASSERT_TRUE(p);
  auto got = (*p)->Get("example.test.", "www.example.test.", "A",
                       SystemClock::Get().Now() - std::chrono::seconds(1));
  ASSERT_FALSE(got);
  EXPECT_TRUE(got.error().retryable);
  EXPECT_EQ(got.error().code, ErrorCode::kTimeout);
  EXPECT_TRUE(api.requests().empty());
}

TEST(PowerDnsConfig, ErrorsAreLocated) {
  CurlHttpClient http;
  auto no_key = Provider("{url: http://127.0.0.1:8081}", &http);
  ASSERT_FALSE(no_key);
  EXPECT_TRUE(Contains(no_key.error().message, "actuator.yml:1:1"));
  EXPECT_TRUE(Contains(no_key.error().message, "api_key_file")) << no_key.error().message;

  auto bad_url = Provider("{url: 127.0.0.1:8081, api_key: k}", &http);
  ASSERT_FALSE(bad_url);
  EXPECT_TRUE(Contains(bad_url.error().message, "actuator.yml:1:7: url: expected an http://"))
      << bad_url.error().message;

  auto unknown = Provider("{url: http://127.0.0.1:8081, api_key: k, zone: x}", &http);
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(Contains(unknown.error().message, "unknown key \"zone\"")) << unknown.error().message;

  auto missing_file = Provider("{api_key_file: /nonexistent/pdns.key}", &http);
  ASSERT_FALSE(missing_file);
  EXPECT_TRUE(Contains(missing_file.error().message, "/nonexistent/pdns.key"));

  auto two = Provider("{api_key: a, api_key_env: B}", &http);
  ASSERT_FALSE(two);
  EXPECT_TRUE(Contains(two.error().message, "set only one of")) << two.error().message;

  auto empty_server = Provider("{api_key: k, server_id: ''}", &http);
  ASSERT_FALSE(empty_server);
  EXPECT_TRUE(
      Contains(empty_server.error().message, "actuator.yml:1:25: server_id: must not be empty"))
      << empty_server.error().message;

  auto query = Provider("{url: 'http://127.0.0.1:8081/?x=1', api_key: k}", &http);
  ASSERT_FALSE(query);
  EXPECT_TRUE(Contains(query.error().message, "actuator.yml:1:7: url: the base URL takes no query"))
      << query.error().message;
}

TEST(PowerDnsConfig, ZoneIds) {
  EXPECT_EQ(PowerDnsZoneId("example.test."), "example.test.");
  EXPECT_EQ(PowerDnsZoneId("my_zone.test."), "my=5Fzone.test.");
  EXPECT_EQ(PowerDnsZoneId("."), "=2E");
}

}  // namespace
}  // namespace failover
