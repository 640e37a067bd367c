// Async routes (issue 19, point 1), against the real server on loopback: a request whose
// handler answers later, from another thread, holds no worker meanwhile, so more of them
// than there are workers can wait together while other routes are served; its connection
// stays open for the next request; a big answer the socket cannot take at once still
// arrives whole; a responder dropped unanswered gives a 500; an answer after the server
// stopped is dropped.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <mutex>
#include <vector>

#include "common/http_server.h"
#include "tests/support/raw_conn.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using testing::RawConn;
using testing::WaitFor;

std::string Post(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Reads one whole answer (head and Content-Length body) from `fd`, bounded in time.
std::string ReadAnswer(int fd) {
  std::string in;
  WaitFor(
      [&] {
        pollfd p{fd, POLLIN, 0};
        while (poll(&p, 1, 20) > 0) {  // everything that has arrived
          char buf[65536];
          ssize_t n = recv(fd, buf, sizeof buf, 0);
          if (n <= 0) return true;
          in.append(buf, static_cast<size_t>(n));
        }
        size_t end = in.find("\r\n\r\n");
        if (end == std::string::npos) return false;
        size_t at = in.find("Content-Length: ");
        if (at == std::string::npos || at > end) return true;
        return in.size() >= end + 4 + std::stoul(in.substr(at + 16));
      },
      std::chrono::seconds(20));
  return in;
}

class AsyncRouteTest : public ::testing::Test {
 protected:
  void Start(HttpAsyncHandler handler) {
    HttpServerOptions opts;
    opts.listen_address = "127.0.0.1:0";
    opts.num_threads = 2;
    opts.request_timeout_ms = 30000;
    HttpServer::Route wait{"POST", "/wait", false, nullptr};
    wait.async_handler = std::move(handler);
    HttpServer::Route ping{"GET", "/ping", false, [](const HttpServerRequest&) {
                             return HttpServerResponse::Text(200, "pong\n");
                           }};
    auto s = HttpServer::Start(opts, {wait, ping});
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
  }
  // The handler that keeps every request's responder (and a copy of its body).
  HttpAsyncHandler Keep() {
    return [this](const HttpServerRequest& r, HttpResponder respond) {
      std::lock_guard<std::mutex> l(mu_);
      bodies_.push_back(r.body);
      held_.push_back(std::move(respond));
    };
  }
  size_t Held() {
    std::lock_guard<std::mutex> l(mu_);
    return held_.size();
  }

  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
  std::vector<HttpResponder> held_;
};

TEST_F(AsyncRouteTest, MoreWaitingRequestsThanWorkersAndOtherRoutesStillServed) {
  Start(Keep());
  constexpr int kClients = 10;  // five times the workers
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < kClients; ++i) {
    conns.push_back(std::make_unique<RawConn>(server_->port()));
    ASSERT_TRUE(conns.back()->connected());
    ASSERT_TRUE(conns.back()->Send(Post("/wait", "{\"n\":" + std::to_string(i) + "}")));
  }
  ASSERT_TRUE(WaitFor([&] { return Held() == kClients; }, std::chrono::seconds(10)))
      << "only " << Held() << " of " << kClients << " requests reached the handler";
  RawConn other(server_->port());
  other.Send("GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_NE(other.Answer().find("pong"), std::string::npos)
      << "a route waited behind the unanswered requests";
  // Answered from this thread, each with its own request's body.
  {
    std::lock_guard<std::mutex> l(mu_);
    for (size_t i = 0; i < held_.size(); ++i) held_[i](HttpServerResponse::Json(202, bodies_[i]));
  }
  for (int i = 0; i < kClients; ++i) {
    std::string answer = ReadAnswer(conns[i]->fd());
    EXPECT_EQ(answer.rfind("HTTP/1.1 202", 0), 0u) << answer;
    EXPECT_NE(answer.find("{\"n\":" + std::to_string(i) + "}"), std::string::npos) << answer;
    EXPECT_EQ(answer.find("Connection: close"), std::string::npos) << answer;
  }
  // The connection carries the next request.
  ASSERT_TRUE(conns[0]->Send(Post("/wait", "{\"again\":1}")));
  ASSERT_TRUE(WaitFor([&] { return Held() == kClients + 1; }, std::chrono::seconds(10)));
  {
    std::lock_guard<std::mutex> l(mu_);
    held_.back()(HttpServerResponse::Json(202, bodies_.back()));
    held_.back()(HttpServerResponse::Json(500, "a second answer is ignored"));
  }
  std::string again = ReadAnswer(conns[0]->fd());
  EXPECT_NE(again.find("{\"again\":1}"), std::string::npos) << again;
  EXPECT_EQ(again.find("second answer"), std::string::npos) << again;
}

TEST_F(AsyncRouteTest, ABigAnswerTheSocketCannotTakeAtOnceArrivesWhole) {
  Start(Keep());
  RawConn c(server_->port());
  ASSERT_TRUE(c.Send(Post("/wait", "{}")));
  ASSERT_TRUE(WaitFor([&] { return Held() == 1; }, std::chrono::seconds(10)));
  // More than the socket buffers of both ends hold while the client is not reading yet.
  std::string big(32 << 20, 'x');
  {
    std::lock_guard<std::mutex> l(mu_);
    held_[0](HttpServerResponse::Text(200, big));
  }
  std::string answer = ReadAnswer(c.fd());
  ASSERT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer.substr(0, 200);
  EXPECT_EQ(answer.size() - (answer.find("\r\n\r\n") + 4), big.size());
}

TEST_F(AsyncRouteTest, AResponderDroppedUnansweredGives500) {
  Start([](const HttpServerRequest&, HttpResponder) {});
  RawConn c(server_->port());
  ASSERT_TRUE(c.Send(Post("/wait", "{}")));
  EXPECT_EQ(c.Answer().rfind("HTTP/1.1 500", 0), 0u);
}

TEST_F(AsyncRouteTest, AnAnswerAfterTheServerStoppedIsDropped) {
  Start(Keep());
  RawConn c(server_->port());
  ASSERT_TRUE(c.Send(Post("/wait", "{}")));
  ASSERT_TRUE(WaitFor([&] { return Held() == 1; }, std::chrono::seconds(10)));
  server_.reset();
  held_[0](HttpServerResponse::Json(202, "{}"));  // nothing to write to: dropped
  EXPECT_TRUE(c.ClosedByServer(5000));
  EXPECT_EQ(c.answer(), "");
}

}  // namespace
}  // namespace failover
