// PromQL instant queries: the API envelope, truthiness, and the client against a local
// server that answers like Prometheus.
#include "actuator/prometheus_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <mutex>

#include "common/http_server.h"

namespace failover {
namespace {

TEST(ParsePromQueryResponseTest, Vector) {
  auto r = ParsePromQueryResponse(R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"__name__":"up","job":"node","region":"eu-west"},"value":[1700000000.123,"1"]},
      {"metric":{"region":"us-east"},"value":[1700000000.123,"0.5"]}]}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->result_type, "vector");
  ASSERT_EQ(r->samples.size(), 2u);
  EXPECT_EQ(r->samples[0].labels.at("region"), "eu-west");
  EXPECT_EQ(r->samples[0].labels.at("__name__"), "up");
  EXPECT_EQ(r->samples[0].value, 1);
  EXPECT_EQ(r->samples[1].value, 0.5);
  EXPECT_TRUE(r->Truthy());
  EXPECT_EQ(r->Describe(), R"(up{job="node", region="eu-west"} 1, {region="us-east"} 0.5)");
}

TEST(ParsePromQueryResponseTest, EmptyVectorIsFalse) {
  auto r =
      ParsePromQueryResponse(R"({"status":"success","data":{"resultType":"vector","result":[]}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->samples.empty());
  EXPECT_FALSE(r->Truthy());
  EXPECT_EQ(r->Describe(), "empty vector");
}

TEST(ParsePromQueryResponseTest, ScalarIsTrueWhenNonZero) {
  auto one = ParsePromQueryResponse(
      R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}})");
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->result_type, "scalar");
  EXPECT_TRUE(one->Truthy());
  EXPECT_EQ(one->Describe(), "scalar 1");
  auto zero = ParsePromQueryResponse(
      R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"0"]}})");
  ASSERT_TRUE(zero);
  EXPECT_FALSE(zero->Truthy());
  auto nan = ParsePromQueryResponse(
      R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"NaN"]}})");
  ASSERT_TRUE(nan);
  EXPECT_TRUE(std::isnan(nan->samples[0].value));
  EXPECT_FALSE(nan->Truthy());
  EXPECT_EQ(nan->Describe(), "scalar NaN");
}

TEST(ParsePromQueryResponseTest, MatrixTakesTheLastValueOfEachSeries) {
  auto r = ParsePromQueryResponse(R"({"status":"success","data":{"resultType":"matrix","result":[
      {"metric":{"a":"1"},"values":[[1,"1"],[2,"2"],[3,"+Inf"]]},
      {"metric":{"a":"2"},"values":[[1,"-Inf"]]},
      {"metric":{"a":"3"},"values":[]}]}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->result_type, "matrix");
  ASSERT_EQ(r->samples.size(), 2u);
  EXPECT_TRUE(std::isinf(r->samples[0].value) && r->samples[0].value > 0);
  EXPECT_TRUE(std::isinf(r->samples[1].value) && r->samples[1].value < 0);
  EXPECT_TRUE(r->Truthy());
  EXPECT_EQ(r->Describe(), R"({a="1"} +Inf, {a="2"} -Inf)");
}

TEST(ParsePromQueryResponseTest, NaNSampleInAVectorStillCounts) {
  auto r = ParsePromQueryResponse(R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{},"value":[1,"NaN"]}]}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(std::isnan(r->samples[0].value));
  EXPECT_TRUE(r->Truthy());
  EXPECT_EQ(r->Describe(), "{} NaN");
}

TEST(ParsePromQueryResponseTest, StringResultIsNeverTrue) {
  auto r = ParsePromQueryResponse(
      R"({"status":"success","data":{"resultType":"string","result":[1,"hello"]}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->Truthy());
}

TEST(ParsePromQueryResponseTest, ErrorEnvelope) {
  auto r = ParsePromQueryResponse(
      R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \"}\""})");
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().retryable);
  EXPECT_NE(r.error().message.find("bad_data"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("parse error"), std::string::npos) << r.error().message;
}

TEST(ParsePromQueryResponseTest, MalformedAnswers) {
  for (
      const char* body : {
          "not json",
          "[]",
          R"({"status":"success"})",
          R"({"status":"success","data":{"resultType":"vector"}})",
          R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1]}]}})",
          R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}})",
          R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}})",
          R"({"status":"success","data":{"resultType":"scalar","result":"1"}})",
          R"({"status":"success","data":{"resultType":"weird","result":[]}})",
          // Found by tests/fuzz/prom_query_fuzz: a non-string status threw out of the parser
          // (json::value), which terminated the actuator.
          R"({"status":1})",
          R"({"status":["success"],"data":{"resultType":"vector","result":[]}})",
          R"({"status":"error","errorType":7,"error":{"x":1}})",
      }) {
    auto r = ParsePromQueryResponse(body);
    EXPECT_FALSE(r) << body;
  }
}

TEST(PromQueryResultTest, DescribeIsBounded) {
  PromQueryResult r;
  r.result_type = "vector";
  for (int i = 0; i < 50; ++i) {
    r.samples.push_back({{{"instance", "host-" + std::to_string(i) + std::string(40, 'x')}}, 1});
  }
  std::string d = r.Describe();
  EXPECT_LE(d.size(), 600u) << d;
  EXPECT_NE(d.find("more)"), std::string::npos) << d;
  PromQueryResult few;
  few.result_type = "vector";
  for (int i = 0; i < 12; ++i) few.samples.push_back({{{"i", std::to_string(i)}}, 1});
  EXPECT_NE(few.Describe().find("(2 more)"), std::string::npos) << few.Describe();
}

// A stand-in for Prometheus' /api/v1/query that answers what the test queues.
class FakePrometheus {
 public:
  FakePrometheus() {
    HttpServerOptions opts;
    opts.listen_address = "127.0.0.1:0";
    opts.num_threads = 2;
    auto s = HttpServer::Start(opts,
                               {{"GET", "/api/v1/query", false, [this](const HttpServerRequest& r) {
                                   std::lock_guard<std::mutex> l(mu_);
                                   last_query_ = r.QueryParam("query");
                                   last_accept_ = r.Header("accept");
                                   ++requests_;
                                   return HttpServerResponse::Json(status_, body_);
                                 }}});
    if (!s) throw std::runtime_error(s.error().message);
    server_ = std::move(*s);
  }
  void Answer(int status, std::string body) {
    std::lock_guard<std::mutex> l(mu_);
    status_ = status;
    body_ = std::move(body);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::string last_query() const {
    std::lock_guard<std::mutex> l(mu_);
    return last_query_;
  }
  std::string last_accept() const {
    std::lock_guard<std::mutex> l(mu_);
    return last_accept_;
  }

 private:
  mutable std::mutex mu_;
  int status_ = 200;
  std::string body_;
  std::string last_query_, last_accept_;
  int requests_ = 0;
  std::unique_ptr<HttpServer> server_;
};

TEST(PromClientTest, QueryIsUrlEncodedAndParsed) {
  FakePrometheus prom;
  prom.Answer(200, R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"region":"eu-west"},"value":[1,"1"]}]}})");
  CurlHttpClient http;
  PromClient client(http, prom.url() + "/", std::chrono::seconds(5));
  std::string q =
      R"(min(failover_probe_success{region="eu-west"}) == 1 and on() vector(1) > 0 & x+y)";
  auto r = client.Query(q);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->Truthy());
  EXPECT_EQ(prom.last_query(), q);
  EXPECT_NE(prom.last_accept().find("application/json"), std::string::npos);
}

TEST(PromClientTest, BadQueryIsNotRetryable) {
  FakePrometheus prom;
  prom.Answer(
      400,
      R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:1: parse error: unexpected end of input"})");
  CurlHttpClient http;
  PromClient client(http, prom.url(), std::chrono::seconds(5));
  auto r = client.Query("min(");
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().retryable);
  EXPECT_NE(r.error().message.find("400"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("bad_data: invalid parameter"), std::string::npos)
      << r.error().message;

  prom.Answer(
      422,
      R"({"status":"error","errorType":"execution","error":"many-to-many matching not allowed"})");
  auto e = client.Query("a * b");
  ASSERT_FALSE(e);
  EXPECT_FALSE(e.error().retryable);
  EXPECT_NE(e.error().message.find("many-to-many"), std::string::npos) << e.error().message;
}

TEST(PromClientTest, UnavailableIsRetryable) {
  FakePrometheus prom;
  prom.Answer(503, R"({"status":"error","errorType":"unavailable","error":"TSDB not ready"})");
  CurlHttpClient http;
  PromClient client(http, prom.url(), std::chrono::seconds(5));
  auto r = client.Query("up");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().retryable);
  EXPECT_NE(r.error().message.find("TSDB not ready"), std::string::npos) << r.error().message;

  prom.Answer(502, "<html>bad gateway</html>");
  auto g = client.Query("up");
  ASSERT_FALSE(g);
  EXPECT_TRUE(g.error().retryable);
}

// Found by tests/fuzz/prom_query_fuzz: an error envelope whose fields are not strings (a
// proxy in front of Prometheus, say) threw instead of failing the query.
TEST(PromClientTest, ErrorEnvelopeWithNonStringFieldsFailsTheQuery) {
  FakePrometheus prom;
  prom.Answer(200, R"({"status":1,"errorType":2,"error":3})");
  CurlHttpClient http;
  PromClient client(http, prom.url(), std::chrono::seconds(5));
  auto ok = client.Query("up");
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().message.find("status \"\""), std::string::npos) << ok.error().message;

  prom.Answer(503, R"({"status":"error","errorType":["x"],"error":null})");
  auto unavailable = client.Query("up");
  ASSERT_FALSE(unavailable);
  EXPECT_TRUE(unavailable.error().retryable);
  EXPECT_NE(unavailable.error().message.find("HTTP 503"), std::string::npos)
      << unavailable.error().message;
}

TEST(PromClientTest, TransportErrorIsRetryable) {
  std::string url;
  {
    FakePrometheus prom;
    url = prom.url();
  }  // gone: connection refused
  CurlHttpClient http;
  PromClient client(http, url, std::chrono::seconds(5));
  auto r = client.Query("up");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().retryable);
  EXPECT_NE(r.error().message.find("Prometheus"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace failover
