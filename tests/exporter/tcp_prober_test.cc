// The tcp prober against real loopback listeners, on a real EventLoop + CurlMulti driven
// from the test thread: connect success, refusal, a listener that never answers, and
// `tls: true` handshakes with certificate verification and expiry.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/yaml.h"
#include "exporter/curl_multi.h"
#include "exporter/event_loop.h"
#include "exporter/probers/tcp.h"
#include "tests/exporter/probe_runner.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"
#include "tests/support/tls_cert.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::BlackholeListener;
using testing::ClosedPort;
using testing::ConfigErrorCase;
using testing::Describe;
using testing::HasSubstr;
using testing::TempDir;
using testing::TestHttpServer;
using testing::TlsCert;
using testing::WaitFor;

const std::map<std::string, RegionConfig> kNoRegions;

Result<std::shared_ptr<Prober>> BuildTcp(const std::string& yaml, Duration timeout = seconds(5)) {
  auto root = YamlNode::LoadString(yaml, "probe.yml");
  if (!root) return root.error();
  auto node = root->Get("tcp");
  if (!node) return Error::Invalid("test YAML has no tcp: block");
  ProberContext ctx{"test_probe", timeout, &kNoRegions};
  return NewTcpProber(*node, ctx);
}

std::optional<double> ExpirySample(const ProbeResult& r) {
  for (const Sample& s : r.samples) {
    if (std::string(s.desc->name) == "failover_probe_tls_cert_expiry_timestamp_seconds") {
      return s.value;
    }
  }
  return std::nullopt;
}

// The harness, running the tcp prober built from `yaml` (a `tcp:` document).
class ProbeRunner : public testing::ProbeRunner {
 public:
  ProbeResult RunYaml(const std::string& yaml, Duration timeout = seconds(5)) {
    return Run(BuildTcp(yaml, timeout), timeout);
  }
};

TEST(TcpProberTest, OpenPortSucceedsAndSendsNothing) {
  TestHttpServer server;
  ProbeRunner runner;
  ProbeResult r = runner.RunYaml("tcp:\n  address: " + server.address() + "\n");
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(r.reason, "");
  EXPECT_FALSE(ExpirySample(r).has_value());
  EXPECT_TRUE(WaitFor([&] { return server.AcceptedConnections() == 1; }));
  // The probe closes its connection without a request.
  EXPECT_TRUE(WaitFor([&] { return server.OpenConnections() == 0; }));
  EXPECT_EQ(server.TotalRequests(), 0);
}

TEST(TcpProberTest, RefusedPort) {
  ProbeRunner runner;
  int port = ClosedPort();
  ProbeResult r = runner.RunYaml("tcp:\n  address: 127.0.0.1:" + std::to_string(port) + "\n");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "connection_refused");
  EXPECT_FALSE(r.detail.empty());
}

TEST(TcpProberTest, ListenerThatNeverAnswersStillConnects) {
  BlackholeListener blackhole;
  ProbeRunner runner;
  ProbeResult r = runner.RunYaml("tcp:\n  address: " + blackhole.address() + "\n");
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(blackhole.PendingConnections(), 1);
}

// A listener with a full accept queue (backlog 0, filled): the kernel drops every later
// SYN, so a connect is never answered -- a region that has gone dark.
class SynDropListener {
 public:
  SynDropListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 0), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
    for (int i = 0; i < 4; ++i) {
      int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      (void)::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);  // EINPROGRESS, or queued
      fillers_.push_back(c);
    }
    // The first filler completes at once; the queue is then full.
    EXPECT_TRUE(WaitFor([&] {
      tcp_info info{};
      socklen_t n = sizeof info;
      ::getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &n);
      return info.tcpi_unacked >= 1;  // for a listener: connections in the accept queue
    }));
  }
  ~SynDropListener() {
    for (int c : fillers_) ::close(c);
    ::close(fd_);
  }
  SynDropListener(const SynDropListener&) = delete;
  SynDropListener& operator=(const SynDropListener&) = delete;
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

TEST(TcpProberTest, UnansweredConnectTimesOutAtTheDeadline) {
  SynDropListener dark;
  ProbeRunner runner;
  auto started = std::chrono::steady_clock::now();
  ProbeResult r = runner.RunYaml("tcp:\n  address: " + dark.address() + "\n", milliseconds(300));
  EXPECT_FALSE(r.success) << Describe(r);
  EXPECT_EQ(r.reason, "timeout");
  EXPECT_TRUE(HasSubstr(r.detail, "timeout after 300ms"));
  EXPECT_TRUE(HasSubstr(r.detail, dark.address()));
  // Not before the deadline: a probe that gives up early would call a slow region dead.
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(300));
}

TEST(TcpProberTest, Ipv6AddressConnects) {
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  socklen_t len = sizeof a;
  ProbeRunner runner;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    // No IPv6 loopback here (some containers): the attempt must still fail as a connect
    // failure with its reason, not as an internal error.
    ::close(fd);
    ProbeResult r = runner.RunYaml("tcp:\n  address: \"[::1]:9\"\n");
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.reason, "connect_failed") << Describe(r);
    return;
  }
  ASSERT_EQ(::listen(fd, 16), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ProbeResult r =
      runner.RunYaml("tcp:\n  address: \"[::1]:" + std::to_string(ntohs(a.sin6_port)) + "\"\n");
  EXPECT_TRUE(r.success) << Describe(r);
  ::close(fd);
  ProbeResult refused =
      runner.RunYaml("tcp:\n  address: \"[::1]:" + std::to_string(ntohs(a.sin6_port)) + "\"\n");
  EXPECT_EQ(refused.reason, "connection_refused") << Describe(refused);
}

TEST(TcpProberTest, HostNameIsResolvedAndConnects) {
  // A name goes through libcurl's resolver; an IP address is connected directly.
  TestHttpServer server;
  ProbeRunner runner;
  ProbeResult r =
      runner.RunYaml("tcp:\n  address: localhost:" + std::to_string(server.port()) + "\n");
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_TRUE(WaitFor([&] { return server.AcceptedConnections() == 1; }));
}

TEST(TcpProberTest, RefusedPortNamesTheTarget) {
  ProbeRunner runner;
  int port = ClosedPort();
  std::string target = "127.0.0.1:" + std::to_string(port);
  ProbeResult r = runner.RunYaml("tcp:\n  address: " + target + "\n");
  EXPECT_EQ(r.reason, "connection_refused");
  EXPECT_TRUE(HasSubstr(r.detail, "connect to " + target));
}

TEST(TcpProberTest, TlsHandshakeWithNoAnswerTimesOut) {
  BlackholeListener blackhole;
  ProbeRunner runner;
  ProbeResult r = runner.RunYaml("tcp:\n  address: " + blackhole.address() + "\n  tls: true\n",
                                 milliseconds(300));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "timeout");
  EXPECT_TRUE(HasSubstr(r.detail, "timeout after 300ms"));
}

class TcpTlsProberTest : public ::testing::Test {
 protected:
  TempDir dir_;
  TlsCert cert_{dir_.path()};
  TestHttpServer server_{&cert_};
  ProbeRunner runner_;
};

TEST_F(TcpTlsProberTest, HandshakeVerifiedWithCaReportsExpiry) {
  ProbeResult r =
      runner_.RunYaml("tcp:\n  address: " + server_.address() +
                      "\n  tls: true\n  tls_config:\n    ca_file: " + cert_.cert_path() + "\n");
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(ExpirySample(r), static_cast<double>(cert_.not_after_unix()));
  EXPECT_TRUE(WaitFor([&] { return server_.AcceptedConnections() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return server_.OpenConnections() == 0; }));
  EXPECT_EQ(server_.TotalRequests(), 0) << "a tcp probe sends no request";
}

TEST_F(TcpTlsProberTest, SelfSignedFailsVerificationWithoutCa) {
  ProbeResult r = runner_.RunYaml("tcp:\n  address: " + server_.address() + "\n  tls: true\n");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "tls_verify");
  EXPECT_TRUE(HasSubstr(r.detail, "certificate"));
}

TEST_F(TcpTlsProberTest, InsecureSkipVerify) {
  ProbeResult r = runner_.RunYaml("tcp:\n  address: " + server_.address() +
                                  "\n  tls: true\n  tls_config:\n    insecure_skip_verify: true\n");
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(ExpirySample(r), static_cast<double>(cert_.not_after_unix()));
}

TEST_F(TcpTlsProberTest, PlainConnectToTlsPortSucceeds) {
  // Without tls: true only the TCP connect counts; no handshake, no certificate.
  ProbeResult r = runner_.RunYaml("tcp:\n  address: " + server_.address() + "\n");
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_FALSE(ExpirySample(r).has_value());
}

class TcpConfigErrorTest : public ::testing::TestWithParam<ConfigErrorCase> {};

TEST_P(TcpConfigErrorTest, ErrorNamesLocationAndKey) {
  testing::ExpectRefused(BuildTcp(GetParam().body), GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Tcp, TcpConfigErrorTest,
    ::testing::Values(
        ConfigErrorCase{"NoPort", "tcp:\n  address: 127.0.0.1\n",
                        "probe.yml:2:12: tcp.address: \"127.0.0.1\" is not host:port"},
        ConfigErrorCase{"PortOutOfRange", "tcp:\n  address: 127.0.0.1:70000\n",
                        "probe.yml:2:12: tcp.address: \"127.0.0.1:70000\" has no valid port"},
        ConfigErrorCase{"TlsConfigWithoutTls",
                        "tcp:\n  address: 127.0.0.1:443\n  tls_config:\n    server_name: x\n",
                        "probe.yml:4:5: tcp.tls_config: tls_config needs tls: true"},
        ConfigErrorCase{"UnknownKey", "tcp:\n  address: 127.0.0.1:443\n  tsl: true\n",
                        "probe.yml:3:3: tcp.tsl: unknown key \"tsl\""}),
    testing::ConfigErrorCaseName);

}  // namespace
}  // namespace failover
