// `tcp` with `query_response`: Redis PING -> PONG on the stack's real Redis (plain and over
// TLS), an answer that does not match (server silent, or closing), STARTTLS against a small
// SMTP-like listener in this file, and config errors.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "exporter/probers/tcp.h"
#include "tests/exporter/probe_runner.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"
#include "tests/support/tls_cert.h"

namespace failover {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace testing;  // the prober harness, tests/exporter/probe_runner.h

ProbeResult RunTcp(const std::string& body, Duration timeout = seconds(5)) {
  auto p = BuildProber("tcp:\n" + body, &NewTcpProber, timeout);
  if (!p) {
    ADD_FAILURE() << p.error().message;
    return ProbeResult::Failure("config", p.error().message);
  }
  ProbeRunner runner;
  ProbeResult r = runner.Run(**p, timeout);
  EXPECT_EQ(runner.loop().watched_fds(), 0u);
  return r;
}

TEST(TcpQueryResponseTest, RedisPingPong) {
  auto& stack = testing::Stack::Get({"redis"});
  std::string qr =
      "  query_response:\n    - send: PING\n    - expect: \"^\\\\+PONG$\"\n"
      "    - send: QUIT\n    - expect: \"^\\\\+OK\"\n";
  ProbeResult r = RunTcp("  address: " + stack.Env("REDIS_PRIMARY_ADDR") + "\n" + qr);
  EXPECT_TRUE(r.success) << Describe(r);
  // The same conversation over TLS, verified against the stack's CA.
  r = RunTcp("  address: " + stack.Env("REDIS_PRIMARY_TLS_ADDR") +
             "\n  tls: true\n  tls_config: {ca_file: " + stack.Env("REDIS_TLS_CA_FILE") + "}\n" +
             qr);
  EXPECT_TRUE(r.success) << Describe(r);
}

TEST(TcpQueryResponseTest, AnswerThatDoesNotMatch) {
  auto& stack = testing::Stack::Get({"redis"});
  std::string addr = "  address: " + stack.Env("REDIS_PRIMARY_ADDR") + "\n";
  // The server answers +PONG and waits: the run ends at its deadline, saying what it
  // waited for.
  ProbeResult r = RunTcp(addr + "  query_response:\n    - send: PING\n    - expect: \"^PANG\"\n",
                         milliseconds(700));
  EXPECT_EQ(r.reason, "timeout") << Describe(r);
  EXPECT_TRUE(HasSubstr(r.detail, "query_response[1]: a line matching /^PANG/"));
  // The server closes after QUIT: no waiting for the deadline.
  r = RunTcp(addr + "  query_response:\n    - send: QUIT\n    - expect: \"^PANG\"\n");
  EXPECT_EQ(r.reason, "expect_not_matched") << Describe(r);
  EXPECT_TRUE(HasSubstr(r.detail, "last line \"+OK\""));
}

// `expect` reads on past lines that do not match, as blackbox_exporter does (an SMTP EHLO
// answer is several 250- lines): Redis' INFO answer starts with "$<length>" and
// "# Replication" before the role line, and the offset lines come after it.
TEST(TcpQueryResponseTest, ExpectReadsPastLinesThatDoNotMatch) {
  auto& stack = testing::Stack::Get({"redis"});
  std::string addr = "  address: " + stack.Env("REDIS_REPLICA_ADDR") + "\n";
  ProbeResult r =
      RunTcp(addr +
             "  query_response:\n    - send: INFO replication\n"
             "    - expect: \"^role:slave$\"\n    - expect: \"^master_link_status:up$\"\n"
             "    - send: QUIT\n    - expect: \"^\\\\+OK$\"\n");
  EXPECT_TRUE(r.success) << Describe(r);
  // Lines already passed are not read again: the role line comes before the link status.
  r = RunTcp(addr +
                 "  query_response:\n    - send: INFO replication\n"
                 "    - expect: \"^master_link_status:\"\n    - expect: \"^role:\"\n",
             milliseconds(700));
  EXPECT_EQ(r.reason, "timeout") << Describe(r);
  EXPECT_TRUE(HasSubstr(r.detail, "query_response[2]: a line matching /^role:/"));
}

// An SMTP-like server: greets, answers STARTTLS, then speaks TLS (one connection).
class StartTlsServer {
 public:
  explicit StartTlsServer(const testing::TlsCert& cert) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 4) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "cannot listen";
    }
    port_ = ntohs(a.sin_port);
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_file(ctx_, cert.cert_path().c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx_, cert.key_path().c_str(), SSL_FILETYPE_PEM);
    thread_ = std::thread([this] { Serve(); });
  }
  ~StartTlsServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    SSL_CTX_free(ctx_);
  }
  int port() const { return port_; }
  bool tls_line_seen() const { return tls_line_seen_; }

 private:
  static std::string ReadLine(int fd) {
    std::string line;
    char c;
    while (::recv(fd, &c, 1, 0) == 1 && c != '\n') line += c;
    return line;
  }
  void Serve() {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    auto say = [c](const std::string& s) { (void)!::send(c, s.data(), s.size(), MSG_NOSIGNAL); };
    say("220 mail.test ESMTP\r\n");
    if (ReadLine(c).rfind("STARTTLS", 0) == 0) {
      say("220 2.0.0 Ready to start TLS\r\n");
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) == 1) {
        std::string line;
        char ch;
        while (SSL_read(ssl, &ch, 1) == 1 && ch != '\n') line += ch;
        if (line == "EHLO probe") {
          tls_line_seen_ = true;
          std::string ok = "250 mail.test\r\n";
          SSL_write(ssl, ok.data(), static_cast<int>(ok.size()));
        }
        SSL_shutdown(ssl);
      }
      SSL_free(ssl);
    }
    ::close(c);
  }
  int fd_ = -1;
  int port_ = 0;
  SSL_CTX* ctx_ = nullptr;
  std::atomic<bool> tls_line_seen_{false};
  std::thread thread_;
};

TEST(TcpQueryResponseTest, StartTlsThenTheConversationGoesOnEncrypted) {
  testing::TempDir dir;
  testing::TlsCert cert(dir.path());
  StartTlsServer server(cert);
  ProbeResult r = RunTcp("  address: 127.0.0.1:" + std::to_string(server.port()) +
                         "\n  tls_config: {ca_file: " + cert.cert_path() +
                         "}\n  query_response:\n    - expect: \"^220 \"\n      send: STARTTLS\n"
                         "    - expect: \"^220 \"\n      starttls: true\n"
                         "    - send: EHLO probe\n    - expect: \"^250 \"\n");
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_TRUE(server.tls_line_seen()) << "the EHLO did not arrive over TLS";
}

TEST(TcpQueryResponseTest, StartTlsRefusesAnUnknownCertificate) {
  testing::TempDir dir;
  testing::TlsCert cert(dir.path());
  StartTlsServer server(cert);
  ProbeResult r = RunTcp("  address: 127.0.0.1:" + std::to_string(server.port()) +
                         "\n  query_response:\n    - expect: \"^220 \"\n      send: STARTTLS\n"
                         "    - expect: \"^220 \"\n      starttls: true\n");
  EXPECT_EQ(r.reason, "tls_verify") << Describe(r);
}

TEST(TcpQueryResponseTest, ConfigErrorsNameTheKey) {
  struct Case {
    std::string body, error;
  } cases[] = {
      {"  address: 127.0.0.1:25\n  query_response: []\n",
       "probe.yml:3:19: tcp.query_response: query_response is empty"},
      {"  address: 127.0.0.1:25\n  query_response:\n    - expect: \"(\"\n",
       "tcp.query_response[0].expect: invalid regular expression"},
      {"  address: 127.0.0.1:25\n  query_response:\n    - {}\n", "needs expect, send or starttls"},
      {"  address: 127.0.0.1:25\n  query_response:\n    - wait: 1s\n", "unknown key \"wait\""},
      {"  address: 127.0.0.1:25\n  tls: true\n  query_response:\n    - starttls: true\n",
       "starttls in query_response needs tls: false"},
  };
  for (const Case& c : cases) {
    auto p = BuildProber("tcp:\n" + c.body, &NewTcpProber);
    ASSERT_FALSE(p) << c.body;
    EXPECT_TRUE(HasSubstr(p.error().message, c.error));
  }
}

}  // namespace
}  // namespace failover
