// The tcp prober against real loopback listeners, on a real EventLoop + CurlMulti driven
// from the test thread: connect success, refusal, a listener that never answers, and
// `tls: true` handshakes with certificate verification and expiry.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <string>

#include "common/yaml.h"
#include "exporter/curl_multi.h"
#include "exporter/event_loop.h"
#include "exporter/probers/tcp.h"
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
using testing::TempDir;
using testing::TestHttpServer;
using testing::TlsCert;
using testing::WaitFor;

const std::map<std::string, RegionConfig> kNoRegions;

::testing::AssertionResult HasSubstr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

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

std::string Describe(const ProbeResult& r) {
  return "success=" + std::to_string(r.success) + " reason=" + r.reason + " detail=" + r.detail;
}

// An event loop and curl multi driven by the test thread, one probe run at a time.
class ProbeRunner {
 public:
  ProbeRunner() {
    env_.loop = &loop_;
    env_.curl = &curl_;
  }

  ProbeResult RunYaml(const std::string& yaml, Duration timeout = seconds(5)) {
    auto prober = BuildTcp(yaml, timeout);
    if (!prober) {
      ADD_FAILURE() << "config error: " << prober.error().message;
      return ProbeResult::Failure("test_harness", prober.error().message);
    }
    std::optional<ProbeResult> result;
    int calls = 0;
    MonoTime deadline = std::chrono::steady_clock::now() + timeout;
    (*prober)->Start(env_, deadline, [&](ProbeResult r) {
      ++calls;
      result = std::move(r);
    });
    MonoTime give_up = deadline + seconds(20);  // safety net, not a performance bound
    while (!result && std::chrono::steady_clock::now() < give_up) {
      loop_.RunOnce(std::min(give_up, std::chrono::steady_clock::now() + milliseconds(200)));
    }
    if (!result) {
      ADD_FAILURE() << "the prober never called done";
      return ProbeResult::Failure("test_harness", "done never called");
    }
    EXPECT_EQ(calls, 1);
    return *result;
  }

 private:
  EventLoop loop_;
  CurlMulti curl_{loop_};
  ProbeEnv env_;
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

struct ConfigErrorCase {
  const char* name;
  const char* yaml;
  const char* expected;
};

// Named in test listings (and ctest) by its name rather than its bytes.
void PrintTo(const ConfigErrorCase& c, std::ostream* os) { *os << c.name; }

class TcpConfigErrorTest : public ::testing::TestWithParam<ConfigErrorCase> {};

TEST_P(TcpConfigErrorTest, ErrorNamesLocationAndKey) {
  auto prober = BuildTcp(GetParam().yaml);
  ASSERT_FALSE(prober) << "config was accepted";
  EXPECT_TRUE(HasSubstr(prober.error().message, GetParam().expected));
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
    [](const ::testing::TestParamInfo<ConfigErrorCase>& info) { return info.param.name; });

}  // namespace
}  // namespace failover
