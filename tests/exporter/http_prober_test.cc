// The http prober against real loopback servers, on a real EventLoop + CurlMulti driven
// from the test thread: what a run reports (success, reason, detail, samples) for each
// way a target can behave, and the config errors of an http block.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "common/yaml.h"
#include "exporter/curl_multi.h"
#include "exporter/event_loop.h"
#include "exporter/probers/http.h"
#include "tests/exporter/probe_runner.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"
#include "tests/support/tls_cert.h"

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
using testing::TlsCertOptions;

const std::map<std::string, RegionConfig> kNoRegions;

::testing::AssertionResult StartsWith(const std::string& text, const std::string& prefix) {
  if (text.rfind(prefix, 0) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << text << "\" does not start with \"" << prefix << "\"";
}

// Builds an http prober from `yaml`, a document whose top-level key is `http:`.
Result<std::shared_ptr<Prober>> BuildHttp(const std::string& yaml, Duration timeout = seconds(5)) {
  auto root = YamlNode::LoadString(yaml, "probe.yml");
  if (!root) return root.error();
  auto node = root->Get("http");
  if (!node) return Error::Invalid("test YAML has no http: block");
  ProberContext ctx{"test_probe", timeout, &kNoRegions};
  return NewHttpProber(*node, ctx);
}

std::optional<double> SampleValue(
    const ProbeResult& r, const std::string& name,
    const std::vector<std::pair<std::string, std::string>>& labels = {}) {
  for (const Sample& s : r.samples) {
    if (name == s.desc->name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}

// The harness, one probe run at a time, keeping when the run ended.
class ProbeRunner : public testing::ProbeRunner {
 public:
  struct Outcome {
    ProbeResult result;
    int done_calls = 0;
    MonoTime deadline;
    MonoTime finished;  // when `done` ran
  };

  Outcome Run(Prober& prober, Duration timeout) {
    Outcome out;
    std::optional<ProbeResult> result;
    out.deadline = std::chrono::steady_clock::now() + timeout;
    Start(prober, out.deadline, [&](ProbeResult r) {
      ++out.done_calls;
      out.finished = std::chrono::steady_clock::now();
      result = std::move(r);
    });
    // A safety net against a prober that never calls done; not a performance bound.
    if (!Pump([&] { return result.has_value(); },
              std::chrono::duration_cast<milliseconds>(timeout) + seconds(20))) {
      ADD_FAILURE() << "the prober never called done";
      out.result = ProbeResult::Failure("test_harness", "done never called");
      return out;
    }
    out.result = std::move(*result);
    return out;
  }

  ProbeResult RunYaml(const std::string& yaml, Duration timeout = seconds(5)) {
    auto prober = BuildHttp(yaml, timeout);
    if (!prober) {
      ADD_FAILURE() << "config error: " << prober.error().message;
      return ProbeResult::Failure("test_harness", prober.error().message);
    }
    Outcome out = Run(**prober, timeout);
    EXPECT_EQ(out.done_calls, 1);
    return out.result;
  }
};

std::string HttpYaml(const std::string& url, const std::string& extra = "") {
  return "http:\n  url: \"" + url + "\"\n" + extra;
}

class HttpProberTest : public ::testing::Test {
 protected:
  TestHttpServer server_;
  ProbeRunner runner_;
};

TEST_F(HttpProberTest, Healthy200) {
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/healthz")));
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(r.reason, "");
  EXPECT_EQ(SampleValue(r, "failover_probe_http_status_code"), 200);
  for (const char* phase : {"resolve", "connect", "tls", "processing", "transfer"}) {
    auto v = SampleValue(r, "failover_probe_http_phase_seconds", {{"phase", phase}});
    ASSERT_TRUE(v.has_value()) << "no phase sample " << phase;
    EXPECT_GE(*v, 0) << phase;
  }
  EXPECT_EQ(SampleValue(r, "failover_probe_http_phase_seconds", {{"phase", "tls"}}), 0.0);
  EXPECT_FALSE(SampleValue(r, "failover_probe_tls_cert_expiry_timestamp_seconds").has_value())
      << "plain http has no certificate";
  EXPECT_EQ(server_.RequestCount("/healthz"), 1);
  auto req = server_.LastRequest();
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.Header("user-agent"), "failover_exporter");
}

TEST_F(HttpProberTest, EachRunIsOneFreshRequest) {
  auto prober = BuildHttp(HttpYaml(server_.url("/healthz")));
  ASSERT_TRUE(prober) << prober.error().message;
  for (int i = 0; i < 3; ++i) {
    auto out = runner_.Run(**prober, seconds(5));
    EXPECT_TRUE(out.result.success) << Describe(out.result);
    EXPECT_EQ(out.done_calls, 1);
  }
  EXPECT_EQ(server_.RequestCount("/healthz"), 3);
  EXPECT_EQ(server_.AcceptedConnections(), 3) << "connections must not be reused";
}

TEST_F(HttpProberTest, Status503Fails) {
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/status/503")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "http_status");
  EXPECT_TRUE(HasSubstr(r.detail, "503"));
  EXPECT_TRUE(HasSubstr(r.detail, "not 2xx"));
  EXPECT_EQ(SampleValue(r, "failover_probe_http_status_code"), 503);
}

TEST_F(HttpProberTest, ValidStatusCodesAccept503) {
  ProbeResult r =
      runner_.RunYaml(HttpYaml(server_.url("/status/503"), "  valid_status_codes: [503, 429]\n"));
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(SampleValue(r, "failover_probe_http_status_code"), 503);
}

TEST_F(HttpProberTest, ValidStatusCodesReplace2xx) {
  ProbeResult r =
      runner_.RunYaml(HttpYaml(server_.url("/healthz"), "  valid_status_codes: [503]\n"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "http_status");
  EXPECT_TRUE(HasSubstr(r.detail, "status 200 is not in valid_status_codes"));
  EXPECT_EQ(SampleValue(r, "failover_probe_http_status_code"), 200);
}

TEST_F(HttpProberTest, SlowResponseWithinTimeoutSucceeds) {
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/slow?ms=300")), seconds(10));
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(SampleValue(r, "failover_probe_http_status_code"), 200);
  // The server held the response back for 300 ms: that wait is server processing time.
  auto processing = SampleValue(r, "failover_probe_http_phase_seconds", {{"phase", "processing"}});
  ASSERT_TRUE(processing.has_value());
  EXPECT_GE(*processing, 0.29);
  EXPECT_EQ(server_.RequestCount("/slow"), 1);
}

TEST_F(HttpProberTest, SlowResponseBeyondTimeoutTimesOut) {
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/slow?ms=5000")), milliseconds(300));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "timeout");
  EXPECT_TRUE(StartsWith(r.detail, "timeout after 300ms"));
  EXPECT_EQ(SampleValue(r, "failover_probe_http_status_code"), 0);
  EXPECT_EQ(server_.RequestCount("/slow"), 1) << "the request did reach the server";
}

TEST_F(HttpProberTest, HangingServerTimesOutByTheDeadline) {
  auto prober = BuildHttp(HttpYaml(server_.url("/hang")), milliseconds(500));
  ASSERT_TRUE(prober) << prober.error().message;
  auto out = runner_.Run(**prober, milliseconds(500));
  EXPECT_EQ(out.done_calls, 1);
  EXPECT_FALSE(out.result.success);
  EXPECT_EQ(out.result.reason, "timeout");
  EXPECT_TRUE(StartsWith(out.result.detail, "timeout after 500ms"));
  EXPECT_TRUE(HasSubstr(out.result.detail, "waiting for the answer of " + server_.address()))
      << "the detail says what the run was waiting for";
  EXPECT_EQ(server_.RequestCount("/hang"), 1);
  // The contract is "done by the deadline"; the margin only absorbs timer granularity and
  // scheduling on a busy machine, a hang would show up as seconds.
  EXPECT_LE(out.finished, out.deadline + seconds(2));
}

TEST_F(HttpProberTest, ConnectionRefused) {
  int port = ClosedPort();
  ProbeResult r =
      runner_.RunYaml(HttpYaml("http://127.0.0.1:" + std::to_string(port) + "/healthz"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "connection_refused");
  EXPECT_FALSE(r.detail.empty());
  EXPECT_EQ(SampleValue(r, "failover_probe_http_status_code"), 0);
}

TEST_F(HttpProberTest, BlackholeTimesOut) {
  BlackholeListener blackhole;
  ProbeResult r =
      runner_.RunYaml(HttpYaml("http://" + blackhole.address() + "/healthz"), milliseconds(300));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "timeout");
  EXPECT_EQ(blackhole.PendingConnections(), 1) << "the connection itself was established";
}

TEST_F(HttpProberTest, RedirectIsFollowed) {
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/redirect?to=/healthz")));
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(SampleValue(r, "failover_probe_http_status_code"), 200);
  EXPECT_EQ(server_.RequestCount("/redirect"), 1);
  EXPECT_EQ(server_.RequestCount("/healthz"), 1);
}

TEST_F(HttpProberTest, RedirectNotFollowedFailsAsNon2xx) {
  ProbeResult r = runner_.RunYaml(
      HttpYaml(server_.url("/redirect?to=/healthz"), "  follow_redirects: false\n"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "http_status");
  EXPECT_TRUE(HasSubstr(r.detail, "302"));
  EXPECT_EQ(SampleValue(r, "failover_probe_http_status_code"), 302);
  EXPECT_EQ(server_.RequestCount("/healthz"), 0);
}

TEST_F(HttpProberTest, RedirectNotFollowedCanBeAValidStatus) {
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/redirect?to=/healthz"),
                                           "  follow_redirects: false\n"
                                           "  valid_status_codes: [302]\n"));
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(server_.RequestCount("/healthz"), 0);
}

TEST_F(HttpProberTest, RedirectLoopIsTooManyRedirects) {
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/redirect-loop")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "too_many_redirects");
  EXPECT_FALSE(r.detail.empty());
  // The first request and 10 redirects followed; the 11th Location is refused.
  EXPECT_EQ(server_.RequestCount("/redirect-loop"), 11);
}

TEST_F(HttpProberTest, ServerThatClosesWithoutAnAnswerIsAnEmptyReply) {
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/drop")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "empty_reply") << Describe(r);
  EXPECT_EQ(SampleValue(r, "failover_probe_http_status_code"), 0);
}

// A body's end told by chunks, or by the server closing, is read to its end.
TEST_F(HttpProberTest, ChunkedAndCloseDelimitedBodiesAreMatched) {
  for (const char* path : {"/chunked", "/until-close"}) {
    std::string url = server_.url(std::string(path) + "?text=hello%20world%0Aversion%3D2");
    ProbeResult ok = runner_.RunYaml(
        HttpYaml(url, "  fail_if_body_not_matches_regexp: [\"hello w.rld\", \"version=2$\"]\n"));
    EXPECT_TRUE(ok.success) << path << ": " << Describe(ok);
    ProbeResult bad =
        runner_.RunYaml(HttpYaml(url, "  fail_if_body_not_matches_regexp: [\"version=3\"]\n"));
    EXPECT_EQ(bad.reason, "body_not_matched") << path << ": " << Describe(bad);
    ProbeResult big = runner_.RunYaml(HttpYaml(url, "  body_size_limit: 8\n"));
    EXPECT_EQ(big.reason, "body_too_large") << path << ": " << Describe(big);
  }
}

// Credentials go to the probe's own host only: a redirect elsewhere does not carry them.
TEST_F(HttpProberTest, RedirectToAnotherHostDropsTheCredentials) {
  TempDir dir;
  std::string token_file = dir.Write("token", "s3cret-token\n");
  server_.SetBearerToken("s3cret-token");
  TestHttpServer other;
  other.SetBearerToken("s3cret-token");
  std::string auth = "  bearer_token_file: " + token_file + "\n";

  ProbeResult same = runner_.RunYaml(HttpYaml(server_.url("/redirect?to=/auth"), auth));
  EXPECT_TRUE(same.success) << Describe(same);
  EXPECT_EQ(server_.LastRequest().Header("authorization"), "Bearer s3cret-token");

  ProbeResult elsewhere =
      runner_.RunYaml(HttpYaml(server_.url("/redirect?to=" + other.url("/auth")), auth));
  EXPECT_EQ(SampleValue(elsewhere, "failover_probe_http_status_code"), 401);
  EXPECT_EQ(other.RequestCount("/auth"), 1);
  EXPECT_EQ(other.LastRequest().Header("authorization"), "");
}

// 303 makes a POST a GET without its body; 307 and 308 keep both.
TEST_F(HttpProberTest, RedirectStatusDecidesTheFollowingMethod) {
  const std::string post = "  method: POST\n  body: 'order=1'\n";
  ProbeResult see_other =
      runner_.RunYaml(HttpYaml(server_.url("/redirect?to=/healthz&status=303"), post));
  EXPECT_TRUE(see_other.success) << Describe(see_other);
  EXPECT_EQ(server_.LastRequest().method, "GET");
  EXPECT_EQ(server_.LastRequest().body, "");

  ProbeResult temporary =
      runner_.RunYaml(HttpYaml(server_.url("/redirect?to=/healthz&status=307"), post));
  EXPECT_TRUE(temporary.success) << Describe(temporary);
  EXPECT_EQ(server_.LastRequest().method, "POST");
  EXPECT_EQ(server_.LastRequest().body, "order=1");
}

TEST_F(HttpProberTest, BodyMustMatch) {
  std::string url = server_.url("/body?text=hello%20world%0Aversion%3D2");
  ProbeResult ok = runner_.RunYaml(
      HttpYaml(url, "  fail_if_body_not_matches_regexp: [\"hello w.rld\", \"version=2\"]\n"));
  EXPECT_TRUE(ok.success) << Describe(ok);

  ProbeResult bad = runner_.RunYaml(
      HttpYaml(url, "  fail_if_body_not_matches_regexp: [\"hello\", \"^goodbye\"]\n"));
  EXPECT_FALSE(bad.success);
  EXPECT_EQ(bad.reason, "body_not_matched");
  EXPECT_EQ(bad.detail, "body does not match \"^goodbye\"");
  EXPECT_EQ(SampleValue(bad, "failover_probe_http_status_code"), 200);
}

TEST_F(HttpProberTest, BodyMustNotMatch) {
  std::string url = server_.url("/body?text=status%3A+degraded");
  ProbeResult bad = runner_.RunYaml(
      HttpYaml(url, "  fail_if_body_matches_regexp: [\"maintenance\", \"degr\"]\n"));
  EXPECT_FALSE(bad.success);
  EXPECT_EQ(bad.reason, "body_matched");
  EXPECT_EQ(bad.detail, "body matches \"degr\"");

  ProbeResult ok =
      runner_.RunYaml(HttpYaml(url, "  fail_if_body_matches_regexp: [\"maintenance\"]\n"));
  EXPECT_TRUE(ok.success) << Describe(ok);
}

TEST_F(HttpProberTest, BodyRegexesApplyOnlyToAcceptedStatus) {
  ProbeResult r = runner_.RunYaml(
      HttpYaml(server_.url("/status/500"), "  fail_if_body_not_matches_regexp: [\"status\"]\n"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "http_status");
}

TEST_F(HttpProberTest, BearerTokenFileIsSentAndReReadEachRun) {
  TempDir dir;
  std::string token_file = dir.Write("token", "s3cret-token\n");
  server_.SetBearerToken("s3cret-token");
  auto prober = BuildHttp(HttpYaml(server_.url("/auth"), "  bearer_token_file: " + token_file +
                                                             "\n"
                                                             "  headers:\n"
                                                             "    X-Probe: failover\n"));
  ASSERT_TRUE(prober) << prober.error().message;

  auto first = runner_.Run(**prober, seconds(5));
  EXPECT_TRUE(first.result.success) << Describe(first.result);
  auto req = server_.LastRequest();
  EXPECT_EQ(req.Header("authorization"), "Bearer s3cret-token");
  EXPECT_EQ(req.Header("x-probe"), "failover") << "custom headers survive the auth header";

  dir.Write("token", "rotated-token\n");  // the server still wants the old one
  auto second = runner_.Run(**prober, seconds(5));
  EXPECT_FALSE(second.result.success);
  EXPECT_EQ(second.result.reason, "http_status");
  EXPECT_EQ(SampleValue(second.result, "failover_probe_http_status_code"), 401);
  EXPECT_EQ(server_.LastRequest().Header("authorization"), "Bearer rotated-token");
}

TEST_F(HttpProberTest, BasicAuthPasswordFile) {
  TempDir dir;
  std::string pw_file = dir.Write("pw", "wonderland\n");
  server_.SetBasicAuth("alice", "wonderland");
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/auth"),
                                           "  basic_auth:\n"
                                           "    username: alice\n"
                                           "    password_file: " +
                                               pw_file + "\n"));
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(server_.LastRequest().Header("authorization"), "Basic YWxpY2U6d29uZGVybGFuZA==");

  server_.SetBasicAuth("alice", "other-password");
  ProbeResult denied = runner_.RunYaml(HttpYaml(server_.url("/auth"),
                                                "  basic_auth:\n"
                                                "    username: alice\n"
                                                "    password_file: " +
                                                    pw_file + "\n"));
  EXPECT_FALSE(denied.success);
  EXPECT_EQ(denied.reason, "http_status");
  EXPECT_EQ(SampleValue(denied, "failover_probe_http_status_code"), 401);
}

TEST_F(HttpProberTest, NoCredentialsIsUnauthorized) {
  server_.SetBearerToken("s3cret-token");
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/auth")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(SampleValue(r, "failover_probe_http_status_code"), 401);
  EXPECT_EQ(server_.LastRequest().Header("authorization"), "");
}

TEST_F(HttpProberTest, PostWithBody) {
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/healthz"),
                                           "  method: POST\n"
                                           "  body: '{\"check\": true}'\n"
                                           "  headers:\n"
                                           "    Content-Type: application/json\n"));
  EXPECT_TRUE(r.success) << Describe(r);
  auto req = server_.LastRequest();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.body, "{\"check\": true}");
  EXPECT_EQ(req.Header("content-length"), "15");
  EXPECT_EQ(req.Header("content-type"), "application/json");
}

TEST_F(HttpProberTest, HeadMethodSendsHead) {
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/healthz"), "  method: HEAD\n"));
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(server_.LastRequest().method, "HEAD");
}

TEST_F(HttpProberTest, CustomHostHeader) {
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/healthz"),
                                           "  headers:\n"
                                           "    Host: api.example.test\n"
                                           "    X-Request-Source: failover\n"));
  EXPECT_TRUE(r.success) << Describe(r);
  auto req = server_.LastRequest();
  EXPECT_EQ(req.Header("host"), "api.example.test");
  EXPECT_EQ(req.Header("x-request-source"), "failover");
}

TEST_F(HttpProberTest, BodySizeLimit) {
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/body?text=0123456789abcdef"),
                                           "  body_size_limit: 8\n"
                                           "  fail_if_body_not_matches_regexp: [\"0\"]\n"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "body_too_large");
  EXPECT_TRUE(HasSubstr(r.detail, "8 bytes"));
}

// Issue 14 point 7: a body that never ends stops at body_size_limit (default 1 MiB) with
// body_too_large, long before the timeout, whether or not a regex needs the body.
TEST_F(HttpProberTest, EndlessBodyStopsAtTheDefaultLimitWithoutARegex) {
  auto start = std::chrono::steady_clock::now();
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/endless")), seconds(20));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "body_too_large") << Describe(r);
  EXPECT_TRUE(HasSubstr(r.detail, "1048576 bytes"));
  EXPECT_LT(took, seconds(10)) << "read until (near) the timeout instead of stopping at 1 MiB";
}

TEST_F(HttpProberTest, EndlessBodyStopsAtTheLimitWithARegex) {
  auto start = std::chrono::steady_clock::now();
  ProbeResult r =
      runner_.RunYaml(HttpYaml(server_.url("/endless"),
                               "  body_size_limit: 64KiB\n"
                               "  fail_if_body_not_matches_regexp: [\"never there\"]\n"),
                      seconds(20));
  EXPECT_EQ(r.reason, "body_too_large") << Describe(r);
  EXPECT_TRUE(HasSubstr(r.detail, "65536 bytes"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));
}

TEST_F(HttpProberTest, BodySizeLimitTakesUnits) {
  for (const auto& [value, bytes] :
       std::vector<std::pair<std::string, std::string>>{{"2048", "2048"},
                                                        {"512KiB", "524288"},
                                                        {"2MB", "2097152"},
                                                        {"1MiB", "1048576"},
                                                        {"3 KB", "3072"}}) {
    ProbeResult r = runner_.RunYaml(
        HttpYaml(server_.url("/endless"), "  body_size_limit: \"" + value + "\"\n"), seconds(20));
    EXPECT_EQ(r.reason, "body_too_large") << value << ": " << Describe(r);
    EXPECT_TRUE(HasSubstr(r.detail, " " + bytes + " bytes")) << value;
  }
  // A body within the limit is fine.
  ProbeResult ok = runner_.RunYaml(HttpYaml(server_.url("/healthz"), "  body_size_limit: 3\n"));
  EXPECT_TRUE(ok.success) << Describe(ok);
}

TEST(HttpProberConfigTest, BadBodySizeLimitNamesTheKey) {
  for (const char* bad : {"0", "-1", "1.5MiB", "12XB", "lots", "99999999999999999999"}) {
    auto p =
        BuildHttp(HttpYaml("http://127.0.0.1:1/", std::string("  body_size_limit: ") + bad + "\n"));
    ASSERT_FALSE(p) << bad;
    EXPECT_TRUE(HasSubstr(p.error().message, "probe.yml:3:")) << p.error().message;
    EXPECT_TRUE(HasSubstr(p.error().message, "body_size_limit")) << p.error().message;
    EXPECT_TRUE(HasSubstr(p.error().message, "byte size")) << p.error().message;
  }
}

class HttpsProberTest : public ::testing::Test {
 protected:
  TempDir dir_;
  TlsCert cert_{dir_.path()};
  TestHttpServer server_{&cert_};
  ProbeRunner runner_;
};

TEST_F(HttpsProberTest, SelfSignedFailsVerificationWithoutCa) {
  ProbeResult r = runner_.RunYaml(HttpYaml(server_.url("/healthz")));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "tls_verify");
  EXPECT_TRUE(HasSubstr(r.detail, "certificate"));
  EXPECT_EQ(server_.RequestCount("/healthz"), 0) << "no request over an unverified connection";
}

TEST_F(HttpsProberTest, SucceedsWithCaFileAndReportsExpiry) {
  ProbeResult r = runner_.RunYaml(
      HttpYaml(server_.url("/healthz"), "  tls:\n    ca_file: " + cert_.cert_path() + "\n"));
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(SampleValue(r, "failover_probe_http_status_code"), 200);
  EXPECT_EQ(SampleValue(r, "failover_probe_tls_cert_expiry_timestamp_seconds"),
            static_cast<double>(cert_.not_after_unix()));
  auto tls_phase = SampleValue(r, "failover_probe_http_phase_seconds", {{"phase", "tls"}});
  ASSERT_TRUE(tls_phase.has_value());
  EXPECT_GT(*tls_phase, 0) << "a handshake took place";
  EXPECT_EQ(server_.RequestCount("/healthz"), 1);
}

TEST_F(HttpsProberTest, ExpiryIsTheCertificatesNotAfter) {
  // A second server with a certificate expiring at a chosen instant.
  TempDir dir;
  TlsCertOptions opts;
  opts.not_after_unix = 2'000'000'000;  // 2033-05-18T03:33:20Z
  TlsCert cert(dir.path(), opts);
  TestHttpServer server(&cert);
  ProbeResult r = runner_.RunYaml(
      HttpYaml(server.url("/healthz"), "  tls:\n    ca_file: " + cert.cert_path() + "\n"));
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(SampleValue(r, "failover_probe_tls_cert_expiry_timestamp_seconds"), 2'000'000'000.0);
}

TEST_F(HttpsProberTest, InsecureSkipVerify) {
  ProbeResult r = runner_.RunYaml(
      HttpYaml(server_.url("/healthz"), "  tls:\n    insecure_skip_verify: true\n"));
  EXPECT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(SampleValue(r, "failover_probe_tls_cert_expiry_timestamp_seconds"),
            static_cast<double>(cert_.not_after_unix()));
}

TEST_F(HttpsProberTest, StatusIsCheckedOverTls) {
  ProbeResult r = runner_.RunYaml(
      HttpYaml(server_.url("/status/503"), "  tls:\n    ca_file: " + cert_.cert_path() + "\n"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, "http_status");
  EXPECT_EQ(SampleValue(r, "failover_probe_tls_cert_expiry_timestamp_seconds"),
            static_cast<double>(cert_.not_after_unix()));
}

// TLS session resumption (exporter/probers/tls_session.h). A CA and two leaves it signed,
// which differ in their notAfter, so the exported expiry tells which one a run saw.
class HttpsSessionTest : public ::testing::Test {
 protected:
  static TlsCertOptions Leaf(const TlsCert* ca, std::int64_t not_after, const char* name) {
    TlsCertOptions o;
    o.issuer = ca;
    o.not_after_unix = not_after;
    o.cert_file = std::string(name) + ".pem";
    o.key_file = std::string(name) + "-key.pem";
    return o;
  }
  static TlsCertOptions Ca() {
    TlsCertOptions o;
    o.common_name = "test CA";
    o.cert_file = "ca.pem";
    o.key_file = "ca-key.pem";
    return o;
  }
  std::shared_ptr<Prober> Build(const std::string& extra) {
    auto p = BuildHttp(
        HttpYaml(server_.url("/healthz"), "  tls:\n    ca_file: " + ca_.cert_path() + "\n" + extra),
        seconds(5));
    EXPECT_TRUE(p) << (p ? "" : p.error().message);
    return p ? *p : nullptr;
  }
  std::optional<double> Expiry(const ProbeResult& r) {
    return SampleValue(r, "failover_probe_tls_cert_expiry_timestamp_seconds");
  }

  TempDir dir_;
  TlsCert ca_{dir_.path(), Ca()};
  TlsCert a_{dir_.path(), Leaf(&ca_, 2'000'000'000, "a")};
  TlsCert b_{dir_.path(), Leaf(&ca_, 2'100'000'000, "b")};
  TestHttpServer server_{&a_};
  ProbeRunner runner_;
};

TEST_F(HttpsSessionTest, ResumesButStillVerifiesWithinTheBoundAndSeesAChangedCertificate) {
  auto prober = Build("  tls_session_resumption: true\n  tls_full_handshake_every: 1s\n");
  ASSERT_NE(prober, nullptr);
  auto run = [&] { return runner_.Run(*prober, seconds(5)).result; };

  ProbeResult first = run();
  ASSERT_TRUE(first.success) << Describe(first);
  EXPECT_FALSE(server_.LastRequest().tls_resumed) << "nothing to resume yet";
  EXPECT_EQ(Expiry(first), 2'000'000'000.0);

  ProbeResult second = run();
  ASSERT_TRUE(second.success) << Describe(second);
  EXPECT_TRUE(server_.LastRequest().tls_resumed) << "the second run resumes the first's session";
  EXPECT_EQ(Expiry(second), 2'000'000'000.0) << "the expiry the last full handshake read";

  // The server now presents another certificate; its session tickets stay valid.
  server_.SetCertificate(b_);
  int resumed_after_change = 0;
  std::optional<ProbeResult> full;
  MonoTime give_up = std::chrono::steady_clock::now() + seconds(15);
  while (!full && std::chrono::steady_clock::now() < give_up) {
    ProbeResult r = run();
    ASSERT_TRUE(r.success) << Describe(r);
    if (!server_.LastRequest().tls_resumed) {
      full = r;
      break;
    }
    ++resumed_after_change;
    EXPECT_EQ(Expiry(r), 2'000'000'000.0);
    std::this_thread::sleep_for(milliseconds(50));  // pacing the runs, not waiting for them
  }
  ASSERT_TRUE(full.has_value()) << "no full handshake within 15 s, with a bound of 1 s";
  EXPECT_GT(resumed_after_change, 0);
  EXPECT_EQ(Expiry(*full), 2'100'000'000.0) << "the full handshake read the new certificate";
}

TEST_F(HttpsSessionTest, AfterARedirectTheExpiryIsTheLastServersAndItsSessionIsNotKept) {
  TestHttpServer other(&b_);
  auto p = BuildHttp(
      HttpYaml(server_.url("/redirect?to=" + other.url("/healthz")),
               "  tls:\n    ca_file: " + ca_.cert_path() + "\n  tls_session_resumption: true\n"),
      seconds(5));
  ASSERT_TRUE(p) << p.error().message;
  for (int i = 0; i < 2; ++i) {
    ProbeResult r = runner_.Run(**p, seconds(5)).result;
    ASSERT_TRUE(r.success) << Describe(r);
    EXPECT_EQ(Expiry(r), 2'100'000'000.0) << "run " << i << ": the certificate of the last hop";
    EXPECT_FALSE(other.LastRequest().tls_resumed) << "run " << i << ": no session for a redirect";
  }
  EXPECT_TRUE(server_.LastRequest().tls_resumed) << "the probe's own URL resumes";
}

TEST_F(HttpsSessionTest, ByDefaultEveryRunVerifiesTheCertificate) {
  auto prober = Build("");
  ASSERT_NE(prober, nullptr);
  for (int i = 0; i < 3; ++i) {
    ProbeResult r = runner_.Run(*prober, seconds(5)).result;
    ASSERT_TRUE(r.success) << Describe(r);
    EXPECT_FALSE(server_.LastRequest().tls_resumed) << "run " << i;
    EXPECT_EQ(Expiry(r), 2'000'000'000.0);
  }
  server_.SetCertificate(b_);
  ProbeResult r = runner_.Run(*prober, seconds(5)).result;
  ASSERT_TRUE(r.success) << Describe(r);
  EXPECT_EQ(Expiry(r), 2'100'000'000.0) << "the very next run sees the new certificate";
}

// A certificate valid only for a name that does not resolve: server_name makes the probe
// connect to the URL's address but verify (and send SNI) for that name.
TEST(HttpsServerNameTest, ServerNameIsVerifiedAndSentAsSni) {
  TempDir dir;
  TlsCertOptions opts;
  opts.common_name = "failover.test";
  opts.dns_names = {"failover.test"};
  opts.ip_addresses = {};
  TlsCert cert(dir.path(), opts);
  TestHttpServer server(&cert);
  ProbeRunner runner;
  std::string tls = "  tls:\n    ca_file: " + cert.cert_path() + "\n";

  ProbeResult by_ip = runner.RunYaml(HttpYaml(server.url("/healthz"), tls));
  EXPECT_FALSE(by_ip.success) << "the certificate does not cover 127.0.0.1";
  EXPECT_EQ(by_ip.reason, "tls_verify");

  ProbeResult named =
      runner.RunYaml(HttpYaml(server.url("/healthz"), tls + "    server_name: failover.test\n"));
  EXPECT_TRUE(named.success) << Describe(named);
  EXPECT_EQ(server.LastRequest().sni, "failover.test");
  EXPECT_EQ(SampleValue(named, "failover_probe_tls_cert_expiry_timestamp_seconds"),
            static_cast<double>(cert.not_after_unix()));

  ProbeResult wrong =
      runner.RunYaml(HttpYaml(server.url("/healthz"), tls + "    server_name: other.test\n"));
  EXPECT_FALSE(wrong.success);
  EXPECT_EQ(wrong.reason, "tls_verify");
  EXPECT_EQ(server.RequestCount("/healthz"), 1);
}

// Config-time errors: each names the file, line:column and key path.
class HttpConfigErrorTest : public ::testing::TestWithParam<ConfigErrorCase> {};

// A password in the URL would be sent by no one and shown by the error: it is refused, and
// the error does not repeat it.
TEST(HttpProberConfigTest, CredentialsInTheUrlAreRefusedWithoutRepeatingThem) {
  auto p = BuildHttp(HttpYaml("http://alice:s3cret@127.0.0.1:1/healthz"));
  ASSERT_FALSE(p);
  EXPECT_TRUE(HasSubstr(p.error().message, "probe.yml:2:8: http.url:")) << p.error().message;
  EXPECT_TRUE(HasSubstr(p.error().message, "basic_auth")) << p.error().message;
  EXPECT_FALSE(HasSubstr(p.error().message, "s3cret")) << p.error().message;
}

TEST_P(HttpConfigErrorTest, ErrorNamesLocationAndKey) {
  testing::ExpectRefused(BuildHttp(GetParam().body), GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Http, HttpConfigErrorTest,
    ::testing::Values(
        ConfigErrorCase{"BadUrl", "http:\n  url: \"not a url\"\n",
                        "probe.yml:2:8: http.url: invalid URL \"not a url\""},
        ConfigErrorCase{"WrongScheme", "http:\n  url: \"ftp://127.0.0.1/x\"\n",
                        "probe.yml:2:8: http.url: invalid URL \"ftp://127.0.0.1/x\": scheme must "
                        "be http or https"},
        ConfigErrorCase{"MissingUrl", "http:\n  method: GET\n",
                        "probe.yml:2:3: http: missing required key \"url\""},
        ConfigErrorCase{"ZeroFullHandshakeBound",
                        "http:\n  url: \"https://127.0.0.1:1/\"\n  tls_full_handshake_every: 0s\n",
                        "probe.yml:3:29: http.tls_full_handshake_every: must be a positive "
                        "duration"},
        ConfigErrorCase{"ResumptionNotABool",
                        "http:\n  url: \"https://127.0.0.1:1/\"\n  tls_session_resumption: maybe\n",
                        "http.tls_session_resumption"},
        ConfigErrorCase{"BadRegex",
                        "http:\n  url: \"http://127.0.0.1:1/\"\n"
                        "  fail_if_body_matches_regexp:\n    - \"ok\"\n    - \"(unclosed\"\n",
                        "probe.yml:5:7: http.fail_if_body_matches_regexp[1]: invalid regular "
                        "expression \"(unclosed\""},
        ConfigErrorCase{"BadRegexMustMatch",
                        "http:\n  url: \"http://127.0.0.1:1/\"\n"
                        "  fail_if_body_not_matches_regexp: [\"a[\"]\n",
                        "probe.yml:3:37: http.fail_if_body_not_matches_regexp[0]: invalid regular "
                        "expression"},
        ConfigErrorCase{"UnknownKey", "http:\n  url: \"http://127.0.0.1:1/\"\n  timeuot: 5s\n",
                        "probe.yml:3:3: http.timeuot: unknown key \"timeuot\""},
        ConfigErrorCase{"UnknownMethod", "http:\n  url: \"http://127.0.0.1:1/\"\n  method: FETCH\n",
                        "probe.yml:3:11: http.method: unknown method \"FETCH\""},
        ConfigErrorCase{"StatusCodeOutOfRange",
                        "http:\n  url: \"http://127.0.0.1:1/\"\n  valid_status_codes:\n"
                        "    - 200\n    - 700\n",
                        "probe.yml:5:7: http.valid_status_codes[1]: status code must be 100..599"},
        ConfigErrorCase{"StatusCodeNotANumber",
                        "http:\n  url: \"http://127.0.0.1:1/\"\n  valid_status_codes: [ok]\n",
                        "probe.yml:3:24: http.valid_status_codes[0]: expected an integer"},
        ConfigErrorCase{"EmptyStatusCodes",
                        "http:\n  url: \"http://127.0.0.1:1/\"\n  valid_status_codes: []\n",
                        "probe.yml:3:23: http.valid_status_codes: list is empty"},
        ConfigErrorCase{"UnknownBasicAuthKey",
                        "http:\n  url: \"http://127.0.0.1:1/\"\n  basic_auth:\n"
                        "    username: a\n    pasword: b\n",
                        "probe.yml:5:5: http.basic_auth.pasword: unknown key \"pasword\""},
        ConfigErrorCase{"UnreadableTokenFile",
                        "http:\n  url: \"http://127.0.0.1:1/\"\n"
                        "  bearer_token_file: /nonexistent/token\n",
                        "probe.yml:3:22: http.bearer_token_file: cannot read secret file "
                        "/nonexistent/token"},
        ConfigErrorCase{"UnreadableCaFile",
                        "http:\n  url: \"https://127.0.0.1:1/\"\n  tls:\n"
                        "    ca_file: /nonexistent/ca.pem\n",
                        "probe.yml:4:14: http.tls.ca_file: cannot read /nonexistent/ca.pem"},
        ConfigErrorCase{"BadHeaderName",
                        "http:\n  url: \"http://127.0.0.1:1/\"\n  headers:\n    \"X Bad\": v\n",
                        "http.headers.X Bad: invalid header name \"X Bad\""}),
    testing::ConfigErrorCaseName);

}  // namespace
}  // namespace failover
