// The listener's protections, against the real server and libcurl on loopback:
// TLS and client certificates from --web.config.file, basic_auth_users, response headers,
// the header-size limit, the request timeout against slowloris and a flood of idle
// connections.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "common/http_client.h"
#include "common/http_server.h"
#include "common/web_config.h"
#include "tests/support/raw_conn.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tls_cert.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using testing::TempDir;
using testing::TlsCert;
using testing::TlsCertOptions;
using testing::WaitFor;

std::vector<HttpServer::Route> Routes() {
  return {{"GET", "/-/healthy", false,
           [](const HttpServerRequest&) { return HttpServerResponse::Text(200, "Healthy.\n"); }},
          {"GET", "/metrics", false,
           [](const HttpServerRequest&) { return HttpServerResponse::Text(200, "up 1\n"); }}};
}

using testing::RawConn;

// A TLS handshake by a client that speaks at most `max_version` (the HTTP client has no
// such knob); does not verify the server.
bool Handshake(int port, int max_version) {
  RawConn c(port);
  if (!c.connected()) return false;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(ctx, max_version);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, c.fd());
  bool ok = SSL_connect(ssl) == 1;
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return ok;
}

class HttpServerLimitsTest : public ::testing::Test {
 protected:
  void StartServer(const std::string& web_yml, HttpServerOptions opts = {}) {
    opts.listen_address = "127.0.0.1:0";
    if (!web_yml.empty()) opts.web_config_file = dir_.Write("web.yml", web_yml);
    auto s = HttpServer::Start(opts, Routes());
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
  }
  std::string Url(const std::string& scheme, const std::string& path) const {
    return scheme + "://localhost:" + std::to_string(server_->port()) + path;
  }
  Result<HttpResponse> Get(const std::string& url, TlsClientOptions tls = {},
                           std::vector<std::pair<std::string, std::string>> headers = {},
                           Duration timeout = std::chrono::seconds(10)) {
    HttpRequest req;
    req.url = url;
    req.tls = std::move(tls);
    req.headers = std::move(headers);
    req.timeout = timeout;
    return client_.Send(req);
  }

  TempDir dir_;
  std::unique_ptr<HttpServer> server_;
  CurlHttpClient client_;
};

std::string TlsYaml(const TlsCert& server, const std::string& extra = "") {
  return "tls_server_config:\n  cert_file: " + server.cert_path() +
         "\n  key_file: " + server.key_path() + "\n" + extra;
}

TEST_F(HttpServerLimitsTest, ServesHttpsAndRefusesPlainHttp) {
  TlsCert cert(dir_.path());
  StartServer(TlsYaml(cert));
  EXPECT_TRUE(server_->tls());
  TlsClientOptions tls;
  tls.ca_file = cert.cert_path();
  auto r = Get(Url("https", "/metrics"), tls);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "up 1\n");

  auto plain = Get(Url("http", "/metrics"));
  EXPECT_TRUE(!plain || plain->status != 200) << "plain HTTP answered on a TLS port";
  // A client that does not trust the certificate refuses it.
  auto untrusted = Get(Url("https", "/metrics"));
  EXPECT_FALSE(untrusted);
}

TEST_F(HttpServerLimitsTest, MinVersionRefusesOlderClients) {
  TlsCert cert(dir_.path());
  StartServer(TlsYaml(cert, "  min_version: TLS13\n"));
  TlsClientOptions tls;
  tls.ca_file = cert.cert_path();
  auto ok = Get(Url("https", "/metrics"), tls);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->status, 200);
  EXPECT_TRUE(Handshake(server_->port(), TLS1_3_VERSION));
  EXPECT_FALSE(Handshake(server_->port(), TLS1_2_VERSION)) << "a TLS 1.2 client got in";
}

TEST_F(HttpServerLimitsTest, RequiredClientCertificates) {
  TlsCert server_cert(dir_.path());
  TlsCertOptions ca_opts;
  ca_opts.common_name = "clients CA";
  ca_opts.cert_file = "ca.pem";
  ca_opts.key_file = "ca-key.pem";
  ca_opts.ext_key_usage = "serverAuth,clientAuth";
  TlsCert ca(dir_.path(), ca_opts);
  TlsCertOptions client_opts;
  client_opts.common_name = "prometheus";
  client_opts.cert_file = "client.pem";
  client_opts.key_file = "client-key.pem";
  client_opts.ext_key_usage = "clientAuth";
  client_opts.issuer = &ca;
  TlsCert client(dir_.path(), client_opts);
  TlsCertOptions rogue_opts = client_opts;
  rogue_opts.cert_file = "rogue.pem";
  rogue_opts.key_file = "rogue-key.pem";
  rogue_opts.issuer = nullptr;  // self-signed: not from the clients' CA
  TlsCert rogue(dir_.path(), rogue_opts);

  StartServer(TlsYaml(server_cert,
                      "  client_auth_type: RequireAndVerifyClientCert\n"
                      "  client_ca_file: " +
                          ca.cert_path() + "\n"));
  TlsClientOptions tls;
  tls.ca_file = server_cert.cert_path();
  auto none = Get(Url("https", "/metrics"), tls);
  EXPECT_FALSE(none && none->status == 200) << "served without a client certificate";

  TlsClientOptions wrong = tls;
  wrong.cert_file = rogue.cert_path();
  wrong.key_file = rogue.key_path();
  auto bad = Get(Url("https", "/metrics"), wrong);
  EXPECT_FALSE(bad && bad->status == 200) << "served a certificate from another CA";

  TlsClientOptions good = tls;
  good.cert_file = client.cert_path();
  good.key_file = client.key_path();
  auto ok = Get(Url("https", "/metrics"), good);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->status, 200);
}

TEST_F(HttpServerLimitsTest, RequireAnyClientCertAcceptsAnyButNone) {
  TlsCert server_cert(dir_.path());
  TlsCertOptions client_opts;
  client_opts.cert_file = "client.pem";
  client_opts.key_file = "client-key.pem";
  client_opts.ext_key_usage = "clientAuth";
  TlsCert client(dir_.path(), client_opts);
  StartServer(TlsYaml(server_cert, "  client_auth_type: RequireAnyClientCert\n"));
  TlsClientOptions tls;
  tls.ca_file = server_cert.cert_path();
  auto none = Get(Url("https", "/metrics"), tls);
  EXPECT_FALSE(none && none->status == 200);
  tls.cert_file = client.cert_path();
  tls.key_file = client.key_path();
  auto ok = Get(Url("https", "/metrics"), tls);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->status, 200);
}

TEST_F(HttpServerLimitsTest, ReloadServesARenewedCertificateAndRefusesAMissingOne) {
  TlsCert old_cert(dir_.path());
  StartServer(TlsYaml(old_cert));
  TlsClientOptions trust_old;
  trust_old.ca_file = old_cert.cert_path();
  ASSERT_EQ(Get(Url("https", "/metrics"), trust_old)->status, 200);

  TlsCertOptions renewed_opts;
  renewed_opts.cert_file = "renewed.pem";
  renewed_opts.key_file = "renewed-key.pem";
  TlsCert renewed(dir_.path(), renewed_opts);
  dir_.Write("web.yml", TlsYaml(renewed));
  ASSERT_TRUE(server_->ReloadWebConfig());
  TlsClientOptions trust_new;
  trust_new.ca_file = renewed.cert_path();
  auto r = Get(Url("https", "/metrics"), trust_new);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(Get(Url("https", "/metrics"), trust_old)) << "still serving the old certificate";

  dir_.Write("web.yml", "tls_server_config:\n  cert_file: /nonexistent/c.pem\n  key_file: " +
                            renewed.key_path() + "\n");
  auto bad = server_->ReloadWebConfig();
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("cert_file \"/nonexistent/c.pem\" cannot be loaded"),
            std::string::npos)
      << bad.error().message;
  EXPECT_EQ(Get(Url("https", "/metrics"), trust_new)->status, 200);
}

TEST_F(HttpServerLimitsTest, UnreadableCertificateFailsStartWithTheFile) {
  HttpServerOptions opts;
  opts.listen_address = "127.0.0.1:0";
  opts.web_config_file = dir_.Write(
      "web.yml", "tls_server_config:\n  cert_file: /nonexistent/c.pem\n  key_file: k.pem\n");
  auto s = HttpServer::Start(opts, Routes());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("cert_file \"/nonexistent/c.pem\" cannot be loaded"),
            std::string::npos)
      << s.error().message;
}

TEST_F(HttpServerLimitsTest, BasicAuthGuardsEveryRouteAndAddsHeaders) {
  auto hash = BcryptHash("s3cret", 4);
  ASSERT_TRUE(hash);
  StartServer("basic_auth_users:\n  prometheus: " + *hash +
              "\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n");
  EXPECT_TRUE(server_->basic_auth_enabled());
  for (const char* path : {"/metrics", "/-/healthy", "/no-such-page"}) {
    auto r = Get(Url("http", path));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_EQ(r->Header("www-authenticate"), "Basic realm=\"failover\"") << path;
    EXPECT_EQ(r->Header("x-frame-options"), "deny") << path;
  }
  // "prometheus:s3cret" and "prometheus:wrong"
  auto ok = Get(Url("http", "/metrics"), {}, {{"Authorization", "Basic cHJvbWV0aGV1czpzM2NyZXQ="}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "up 1\n");
  EXPECT_EQ(ok->Header("x-frame-options"), "deny");
  auto wrong =
      Get(Url("http", "/metrics"), {}, {{"Authorization", "Basic cHJvbWV0aGV1czp3cm9uZw=="}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(wrong->body.find("up 1"), std::string::npos);
}

TEST_F(HttpServerLimitsTest, ReloadAppliesNewUsersAndRefusesTlsChanges) {
  auto first = BcryptHash("one", 4);
  auto second = BcryptHash("two", 4);
  ASSERT_TRUE(first && second);
  StartServer("basic_auth_users:\n  u: " + *first + "\n");
  // "u:one", "u:two"
  std::vector<std::pair<std::string, std::string>> one = {{"Authorization", "Basic dTpvbmU="}};
  std::vector<std::pair<std::string, std::string>> two = {{"Authorization", "Basic dTp0d28="}};
  EXPECT_EQ(Get(Url("http", "/metrics"), {}, one)->status, 200);

  dir_.Write("web.yml", "basic_auth_users:\n  u: " + *second + "\n");
  ASSERT_TRUE(server_->ReloadWebConfig());
  EXPECT_EQ(Get(Url("http", "/metrics"), {}, one)->status, 401);
  EXPECT_EQ(Get(Url("http", "/metrics"), {}, two)->status, 200);

  // An invalid file or a TLS switch is refused and the running config kept.
  dir_.Write("web.yml", "basic_auth_users:\n  u: not-a-hash\n");
  auto bad = server_->ReloadWebConfig();
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("web.yml:2:6"), std::string::npos) << bad.error().message;
  TlsCert cert(dir_.path());
  dir_.Write("web.yml", TlsYaml(cert));
  auto tls = server_->ReloadWebConfig();
  ASSERT_FALSE(tls);
  EXPECT_NE(tls.error().message.find("only at a restart"), std::string::npos);
  EXPECT_EQ(Get(Url("http", "/metrics"), {}, two)->status, 200);
}

TEST_F(HttpServerLimitsTest, WithoutKeepAliveEveryAnswerSaysConnectionClose) {
  HttpServerOptions opts;
  opts.keep_alive = false;
  StartServer("", opts);
  RawConn c(server_->port());
  ASSERT_TRUE(c.connected());
  // An HTTP/1.1 client keeps the connection unless told otherwise.
  c.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(WaitFor([&] { return c.ClosedByServer(50); }));
  EXPECT_NE(c.answer().find("Healthy."), std::string::npos) << c.answer();
  EXPECT_NE(c.answer().find("\r\nConnection: close\r\n"), std::string::npos) << c.answer();
}

TEST_F(HttpServerLimitsTest, WithKeepAliveTwoRequestsShareOneConnection) {
  StartServer("");
  RawConn c(server_->port());
  ASSERT_TRUE(c.connected());
  c.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_FALSE(c.ClosedByServer(300));  // reads what came; the connection stays open
  ASSERT_TRUE(WaitFor([&] {
    c.ClosedByServer(20);
    return c.answer().find("up 1") != std::string::npos;
  })) << c.answer();
  EXPECT_NE(c.answer().find("Healthy."), std::string::npos);
  EXPECT_EQ(c.answer().find("Connection: close"), std::string::npos) << c.answer();
}

TEST_F(HttpServerLimitsTest, HugeHeadersAreRefusedNotFatal) {
  HttpServerOptions opts;
  opts.max_header_bytes = 4096;
  StartServer("", opts);
  RawConn c(server_->port());
  ASSERT_TRUE(c.connected());
  c.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 << 10, 'a') + "\r\n\r\n");
  ASSERT_TRUE(WaitFor([&] { return c.ClosedByServer(50); }));
  // Refused (431, connection closed), never served.
  EXPECT_EQ(c.answer().find("Healthy."), std::string::npos) << c.answer();
  if (!c.answer().empty()) {
    std::string status = c.answer().substr(0, 12);  // "HTTP/1.x NNN"
    EXPECT_TRUE(
        status.rfind("HTTP/1.", 0) == 0 &&
        (status.substr(9) == "400" || status.substr(9) == "413" || status.substr(9) == "431"))
        << c.answer();
  }
  // Headers under the limit are fine, and the server still answers.
  auto r = Get(Url("http", "/-/healthy"), {}, {{"X-Small", std::string(1000, 'a')}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerLimitsTest, SlowlorisIsDisconnectedWhileOthersAreServed) {
  HttpServerOptions opts;
  opts.num_threads = 2;
  opts.request_timeout_ms = 1000;
  StartServer("", opts);
  RawConn slow(server_->port());
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n"));
  // Trickle a header one byte at a time, never finishing it, until the server hangs up.
  std::atomic<bool> disconnected{false};
  std::thread trickler([&] {
    for (int i = 0; i < 2000 && !disconnected; ++i) {
      if (!slow.Send("X") || slow.ClosedByServer(100)) disconnected = true;
    }
  });
  // Meanwhile other clients are answered.
  auto r = Get(Url("http", "/-/healthy"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  trickler.join();
  EXPECT_TRUE(disconnected) << "a client trickling a header was never disconnected";
  EXPECT_EQ(slow.answer().find("Healthy."), std::string::npos);
}

TEST_F(HttpServerLimitsTest, IdleConnectionFloodDoesNotStopHealthChecks) {
  HttpServerOptions opts;
  opts.num_threads = 2;
  opts.request_timeout_ms = 300;
  StartServer("", opts);
  // Ten times the worker threads, all idle: each holds a worker until request_timeout.
  std::vector<std::unique_ptr<RawConn>> flood;
  for (int i = 0; i < 20; ++i) {
    flood.push_back(std::make_unique<RawConn>(server_->port()));
    ASSERT_TRUE(flood.back()->connected());
  }
  auto r = Get(Url("http", "/-/healthy"), {}, {}, std::chrono::seconds(30));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Healthy.\n");
  // And the idle connections were dropped, not kept forever.
  EXPECT_TRUE(WaitFor([&] { return flood.front()->ClosedByServer(50); }));
}

}  // namespace
}  // namespace failover
