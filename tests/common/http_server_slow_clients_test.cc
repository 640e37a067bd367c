// Slow and hostile clients against the real server on loopback (issue 14, points 1 and 4):
// more connections trickling a request (header, Content-Length body, chunked body, TLS
// handshake) than there are worker threads must not keep /-/healthy or a complete
// request from being answered; the whole request has one deadline; a state-changing
// request from another site is refused and CORS preflights get no wildcard answer.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "common/http_client.h"
#include "common/http_server.h"
#include "tests/support/raw_conn.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tls_cert.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using testing::TempDir;
using testing::TlsCert;
using testing::WaitFor;

using testing::RawConn;

// Stops and joins a helper thread when the test leaves its scope, however it leaves.
struct StopAndJoin {
  std::atomic<bool>& done;
  std::thread& thread;
  ~StopAndJoin() {
    done = true;
    if (thread.joinable()) thread.join();
  }
};

class SlowClientsTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions opts) {
    opts.listen_address = "127.0.0.1:0";
    std::vector<HttpServer::Route> routes = {
        {"GET", "/-/healthy", false,
         [](const HttpServerRequest&) { return HttpServerResponse::Text(200, "Healthy.\n"); }},
        {"POST", "/upload", false,
         [this](const HttpServerRequest& r) {
           ++handled_;
           return HttpServerResponse::Text(200, "got " + std::to_string(r.body.size()) + "\n");
         }},
    };
    auto s = HttpServer::Start(opts, routes);
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
  }
  Result<HttpResponse> Call(const std::string& method, const std::string& path,
                            std::vector<std::pair<std::string, std::string>> headers = {},
                            std::string body = "", std::string scheme = "http",
                            TlsClientOptions tls = {}) {
    HttpRequest req;
    req.method = method;
    req.url = scheme + "://localhost:" + std::to_string(server_->port()) + path;
    req.headers = std::move(headers);
    req.body = std::move(body);
    req.tls = std::move(tls);
    // Generous: the bound shows "not blocked" (blocked clients wait for the 30 s request
    // timeout of the slow ones), it is no performance assertion.
    req.timeout = std::chrono::seconds(5);
    return CurlHttpClient().Send(req);
  }

  std::unique_ptr<HttpServer> server_;
  std::atomic<int> handled_{0};
};

TEST_F(SlowClientsTest, TricklingClientsBeyondTheWorkerCountDoNotBlockOthers) {
  HttpServerOptions opts;
  opts.num_threads = 2;
  opts.request_timeout_ms = 30000;
  StartServer(opts);
  // 32 connections, 16 times the worker threads: headers, Content-Length bodies and
  // chunked bodies sent one byte at a time.
  std::vector<std::unique_ptr<RawConn>> slow;
  std::vector<std::string> rest;
  for (int i = 0; i < 32; ++i) {
    slow.push_back(std::make_unique<RawConn>(server_->port()));
    ASSERT_TRUE(slow.back()->connected());
    switch (i % 3) {
      case 0:
        ASSERT_TRUE(slow.back()->Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n"));
        rest.push_back(std::string(1000, 'h'));
        break;
      case 1:
        ASSERT_TRUE(
            slow.back()->Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"));
        rest.push_back(std::string(1000, 'b'));
        break;
      default:
        ASSERT_TRUE(slow.back()->Send(
            "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n"));
        rest.push_back(std::string(1000, 'c'));
        break;
    }
  }
  std::atomic<bool> done{false};
  std::thread trickler([&] {
    for (size_t pos = 0; pos < 1000 && !done; ++pos) {
      for (size_t i = 0; i < slow.size(); ++i) slow[i]->Send(rest[i].substr(pos, 1));
      for (int w = 0; w < 20 && !done; ++w) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  });
  StopAndJoin stop{done, trickler};  // also when an assertion below returns early
  // Let the slow requests reach the server first.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int round = 0; round < 3; ++round) {
    auto healthy = Call("GET", "/-/healthy");
    ASSERT_TRUE(healthy) << "blocked by slow clients: " << healthy.error().message;
    EXPECT_EQ(healthy->status, 200);
    auto upload = Call("POST", "/upload", {}, "{\"a\":1}");
    ASSERT_TRUE(upload) << "blocked by slow clients: " << upload.error().message;
    EXPECT_EQ(upload->status, 200);
    EXPECT_EQ(upload->body, "got 7\n");
  }
  EXPECT_EQ(handled_, 3) << "a request still being received reached its handler";
}

TEST_F(SlowClientsTest, TheWholeRequestHasOneDeadline) {
  HttpServerOptions opts;
  opts.request_timeout_ms = 1000;
  StartServer(opts);
  for (const char* head : {"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 400\r\n\r\n",
                           "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                           "\r\n190\r\n"}) {
    RawConn c(server_->port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(head));
    // One body byte every 50 ms: each read makes progress, but the whole body would take
    // 20 s. The server must hang up at its one deadline (1 s), long before.
    auto start = std::chrono::steady_clock::now();
    bool closed = false;
    for (int i = 0; i < 400 && !closed; ++i) {
      if (!c.Send("x") || c.ClosedByServer(50)) closed = true;
    }
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(closed) << head;
    EXPECT_LT(took, std::chrono::seconds(10)) << "each body read got a fresh timeout";
    EXPECT_EQ(handled_, 0);
  }
}

TEST_F(SlowClientsTest, UnfinishedTlsHandshakesDoNotBlockOthers) {
  TempDir dir;
  TlsCert cert(dir.path());
  HttpServerOptions opts;
  opts.num_threads = 2;
  opts.request_timeout_ms = 30000;
  opts.web_config_file =
      dir.Write("web.yml", "tls_server_config:\n  cert_file: " + cert.cert_path() +
                               "\n  key_file: " + cert.key_path() + "\n");
  StartServer(opts);
  std::vector<std::unique_ptr<RawConn>> slow;
  for (int i = 0; i < 16; ++i) {
    slow.push_back(std::make_unique<RawConn>(server_->port()));
    ASSERT_TRUE(slow.back()->connected());
    ASSERT_TRUE(slow.back()->Send(std::string("\x16\x03\x01", 3)));  // a ClientHello begun
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  TlsClientOptions tls;
  tls.ca_file = cert.cert_path();
  auto r = Call("GET", "/-/healthy", {}, "", "https", tls);
  ASSERT_TRUE(r) << "blocked by unfinished handshakes: " << r.error().message;
  EXPECT_EQ(r->status, 200);
  auto up =
      Call("POST", "/upload", {{"Origin", "https://localhost:" + std::to_string(server_->port())}},
           "abc", "https", tls);
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_EQ(up->status, 200) << "the server's own https origin was refused";
}

TEST_F(SlowClientsTest, CrossSiteStateChangesAreRefused) {
  StartServer({});
  std::string own = "http://localhost:" + std::to_string(server_->port());
  // A page of another site (or a sandboxed one) must not change anything.
  for (auto header : std::vector<std::pair<std::string, std::string>>{
           {"Origin", "http://evil.example"},
           {"Origin", "null"},
           {"Origin", "https://localhost:" + std::to_string(server_->port())},
           {"Origin", "http://localhost:1"},
           {"Referer", "http://evil.example/page.html"}}) {
    auto r = Call("POST", "/upload", {header}, "{}");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 403) << header.first << ": " << header.second;
  }
  EXPECT_EQ(handled_, 0) << "a cross-site request ran its handler";
  // The daemon's own page, and a CLI that sends neither header, are served.
  auto same = Call("POST", "/upload", {{"Origin", own}}, "{}");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 200);
  auto referer = Call("POST", "/upload", {{"Referer", own + "/"}}, "{}");
  ASSERT_TRUE(referer);
  EXPECT_EQ(referer->status, 200);
  auto cli = Call("POST", "/upload", {}, "{}");
  ASSERT_TRUE(cli);
  EXPECT_EQ(cli->status, 200);
  // Reading stays open to links from anywhere.
  auto get = Call("GET", "/-/healthy", {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(handled_, 3);

  // No CORS: a preflight gets no Access-Control-Allow-* answer.
  auto pre = Call("OPTIONS", "/upload",
                  {{"Origin", "http://evil.example"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(pre) << pre.error().message;
  EXPECT_NE(pre->status, 200);
  EXPECT_NE(pre->status, 204);
  for (const auto& [name, value] : pre->headers) {
    EXPECT_EQ(name.rfind("access-control-", 0), std::string::npos) << name << ": " << value;
  }
}

}  // namespace
}  // namespace failover
