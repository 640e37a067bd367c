// The HTTP server (common/http_server.cc) and the libcurl client, against each other on
// loopback.
#include <gtest/gtest.h>

#include "common/http_client.h"
#include "common/http_server.h"

namespace failover {
namespace {

class HttpServerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions opts;
    opts.listen_address = "127.0.0.1:0";
    opts.max_body_bytes = 1024;
    std::vector<HttpServer::Route> routes = {
        {"GET", "/hello", false,
         [](const HttpServerRequest& r) {
           return HttpServerResponse::Text(200,
                                           "hi " + r.QueryParam("name") + " " + r.Header("x-test"));
         }},
        {"GET", "/list", false,
         [](const HttpServerRequest& r) {
           std::string out;
           for (const auto& v : r.QueryParams("n[]")) out += "<" + v + ">";
           return HttpServerResponse::Text(200, out + " first=" + r.QueryParam("n[]"));
         }},
        {"POST", "/echo", false,
         [](const HttpServerRequest& r) { return HttpServerResponse::Json(201, r.body); }},
        {"GET", "/api/v1/items/", true,
         [](const HttpServerRequest& r) { return HttpServerResponse::Text(200, r.path); }},
    };
    auto s = HttpServer::Start(opts, routes);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  Result<HttpResponse> Send(std::string method, std::string path, std::string body = "") {
    HttpRequest req;
    req.method = std::move(method);
    req.url = base_ + path;
    req.body = std::move(body);
    req.headers = {{"X-Test", "yes"}};
    return client_.Send(req);
  }
  std::unique_ptr<HttpServer> server_;
  std::string base_;
  CurlHttpClient client_;
};

TEST_F(HttpServerClientTest, RoutesQueryAndHeaders) {
  ASSERT_NE(server_->port(), 0);
  auto r = Send("GET", "/hello?name=a%20b");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hi a b yes");
  EXPECT_EQ(r->Header("content-type"), "text/plain; charset=utf-8");
}

TEST_F(HttpServerClientTest, RepeatedQueryParametersInOrder) {
  auto r = Send("GET", "/list?n%5B%5D=a&x=1&n[]=b%20c&n[]=&n[]=d");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "<a><b c><><d> first=a");
  r = Send("GET", "/list?x=1");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, " first=");
}

TEST_F(HttpServerClientTest, PostBodyAndPrefixRoutes) {
  auto r = Send("POST", "/echo", "{\"a\":1}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "{\"a\":1}");
  auto p = Send("GET", "/api/v1/items/42");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->body, "/api/v1/items/42");
}

TEST_F(HttpServerClientTest, UnknownPathWrongMethodAndOversizedBody) {
  EXPECT_EQ(Send("GET", "/nope")->status, 404);
  auto m = Send("GET", "/echo");
  EXPECT_EQ(m->status, 405);
  EXPECT_EQ(m->Header("allow"), "POST");
  EXPECT_EQ(Send("POST", "/echo", std::string(2000, 'x'))->status, 413);
}

TEST_F(HttpServerClientTest, ClientReportsTransportErrorsAsRetryable) {
  server_.reset();
  auto r = Send("GET", "/hello");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().retryable);
  EXPECT_NE(r.error().message.find("GET " + base_ + "/hello"), std::string::npos);
}

TEST(ListenAddressTest, ParsesPrometheusForms) {
  EXPECT_EQ(*ParseListenAddress(":9807"), std::make_pair(std::string(), 9807));
  EXPECT_EQ(*ParseListenAddress("127.0.0.1:0"), std::make_pair(std::string("127.0.0.1"), 0));
  EXPECT_FALSE(ParseListenAddress("9807"));
  EXPECT_FALSE(ParseListenAddress("host:99999"));
  EXPECT_FALSE(ParseListenAddress("host:abc"));
}

TEST(HttpServerTest, PortInUseIsAClearError) {
  HttpServerOptions opts;
  opts.listen_address = "127.0.0.1:0";
  auto a = HttpServer::Start(opts, {});
  ASSERT_TRUE(a);
  opts.listen_address = "127.0.0.1:" + std::to_string((*a)->port());
  auto b = HttpServer::Start(opts, {});
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("cannot listen on " + opts.listen_address), std::string::npos);
}

}  // namespace
}  // namespace failover
