// A route's own checks (issue 14, points 1, 4 and 7), against the real server on
// loopback: `authorize` runs on the headers before any of the body is read, `on_reject`
// hears of every answer the server writes itself for the route, `json_body` refuses
// other content types, and an oversized body is refused before it is read whole.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "common/http_client.h"
#include "common/http_server.h"
#include "tests/support/raw_conn.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using testing::RawConn;
using testing::WaitFor;

class RouteHooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions opts;
    opts.listen_address = "127.0.0.1:0";
    opts.max_body_bytes = 4096;
    opts.request_timeout_ms = 30000;
    HttpServer::Route hook{"POST", "/hook", false, [this](const HttpServerRequest& r) {
                             ++handled_;
                             return HttpServerResponse::Json(202, r.body);
                           }};
    hook.authorize = [](const HttpServerRequest& r) -> std::optional<HttpServerResponse> {
      if (!r.body.empty()) return HttpServerResponse::Text(500, "body read before authorize\n");
      if (r.Header("authorization") == "Bearer good") return std::nullopt;
      return HttpServerResponse::Text(401, "no\n");
    };
    hook.on_reject = [this](int status) {
      std::lock_guard<std::mutex> lock(mu_);
      rejected_.push_back(status);
    };
    hook.json_body = true;
    auto s = HttpServer::Start(opts, {hook});
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
  }
  // Sends `head` and waits (bounded) for an answer without sending anything more.
  std::string AnswerTo(const std::string& head) {
    RawConn c(server_->port());
    EXPECT_TRUE(c.connected());
    c.Send(head);
    return c.Answer();
  }
  std::vector<int> rejected() {
    std::lock_guard<std::mutex> lock(mu_);
    return rejected_;
  }
  Result<HttpResponse> Post(const std::string& body, const std::string& type) {
    HttpRequest req;
    req.method = "POST";
    req.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook";
    req.headers = {{"Authorization", "Bearer good"}};
    if (!type.empty()) req.headers.emplace_back("Content-Type", type);
    req.body = body;
    return CurlHttpClient().Send(req);
  }

  std::unique_ptr<HttpServer> server_;
  std::atomic<int> handled_{0};
  std::mutex mu_;
  std::vector<int> rejected_;
};

TEST_F(RouteHooksTest, CredentialsAreCheckedBeforeTheBodyIsRead) {
  // The body is announced and never sent: the refusal cannot wait for it.
  std::string answer = AnswerTo(
      "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 1000\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 401 ", 0), 0u) << answer;
  answer = AnswerTo(
      "POST /hook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bad\r\n"
      "Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 401 ", 0), 0u) << answer;
  EXPECT_EQ(handled_, 0);
  EXPECT_EQ(rejected(), (std::vector<int>{401, 401}));
  // With the credentials the body is read and handled.
  auto ok = Post("{\"a\":1}", "application/json");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->status, 202);
  EXPECT_EQ(ok->body, "{\"a\":1}");
}

TEST_F(RouteHooksTest, OversizedBodiesAreRefusedUnreadAndReported) {
  std::string answer = AnswerTo(
      "POST /hook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\n"
      "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 413 ", 0), 0u) << answer;
  // A chunk that would pass the limit is refused at its size line.
  answer = AnswerTo(
      "POST /hook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\n"
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 413 ", 0), 0u) << answer;
  auto big = Post(std::string(5000, ' '), "application/json");
  ASSERT_TRUE(big) << big.error().message;
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(handled_, 0);
  EXPECT_EQ(rejected(), (std::vector<int>{413, 413, 413}));
}

TEST_F(RouteHooksTest, JsonEndpointsRefuseOtherContentTypes) {
  for (const char* type :
       {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""}) {
    auto r = Post("{\"a\":1}", type);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 415) << type;
  }
  EXPECT_EQ(handled_, 0);
  auto json = Post("{\"a\":1}", "application/json; charset=utf-8");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->status, 202);
  auto empty = Post("", "");  // nothing to misread: no type needed
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 202);
  EXPECT_EQ(rejected(), (std::vector<int>{415, 415, 415, 415}));
}

}  // namespace
}  // namespace failover
