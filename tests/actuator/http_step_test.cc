// The http step against a local server: templates, status classification, secrets.
#include <gtest/gtest.h>

#include "actuator/steps/http.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"
#include "tests/support/tls_cert.h"

namespace failover {
namespace {

using testing::TempDir;
using testing::TestHttpServer;
using testing::TlsCert;

// Loads `steps[0].http` from a runbook-like document so errors carry real paths.
Result<std::unique_ptr<Step>> Load(const std::string& body) {
  return testing::LoadListedStep("http", body, &NewHttpStep);
}

TemplateVars Vars() {
  TemplateVars v;
  v.labels = {{"region", "us-east"}, {"odd", "a b&c=d"}};
  v.annotations = {{"summary", "us-east is down"}};
  v.runbook = "failover-us-east";
  v.execution_id = "exec-42";
  return v;
}

class HttpStepTest : public ::testing::Test {
 protected:
  StepOutcome Run(Step& step) { return testing::RunStep(step, SystemClock::Get(), &vars_, &http_); }
  std::unique_ptr<Step> MustLoad(const std::string& body) {
    auto s = Load(body);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  TestHttpServer server_;
  CurlHttpClient http_;
  TemplateVars vars_ = Vars();
};

TEST_F(HttpStepTest, RendersUrlHeadersAndBody) {
  auto step = MustLoad("{method: POST, url: \"" + server_.url("/healthz") +
                       "?region={{labels.region}}\", headers: {X-Runbook: \"{{runbook}}\"}, "
                       "body: '{\"execution\": \"{{execution_id}}\"}', expect_status: [200, 204]}");
  ASSERT_TRUE(step);
  EXPECT_EQ(step->kind(), "http");
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kOk) << o.message;
  auto req = server_.LastRequest();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/healthz?region=us-east");
  EXPECT_EQ(req.Header("x-runbook"), "failover-us-east");
  EXPECT_EQ(req.body, "{\"execution\": \"exec-42\"}");
  EXPECT_NE(o.message.find("POST " + server_.url("/healthz") + "?region=us-east"),
            std::string::npos)
      << o.message;
  EXPECT_NE(o.message.find("200"), std::string::npos) << o.message;
  EXPECT_EQ(o.details["status"], 200);
  EXPECT_EQ(o.details["body"], "ok\n");

  auto r = step->Render(vars_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["url"], server_.url("/healthz") + "?region=us-east");
  EXPECT_EQ((*r)["method"], "POST");
  EXPECT_EQ((*r)["headers"]["X-Runbook"], "failover-us-east");
  EXPECT_EQ((*r)["expect_status"], nlohmann::json::array({200, 204}));
}

// What the journal and dry-run show for a step that sets only url, and for one that sets
// method (any case), one expected status and a form body.
TEST_F(HttpStepTest, RendersDefaultsAndNormalisedKeys) {
  auto plain = MustLoad("{url: \"" + server_.url("/healthz") + "\"}");
  ASSERT_TRUE(plain);
  auto r = plain->Render(vars_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r,
            nlohmann::json(
                {{"method", "GET"}, {"url", server_.url("/healthz")}, {"expect_status", "2xx"}}));

  auto step = MustLoad("{method: patch, url: \"" + server_.url("/x") +
                       "\", expect_status: 202, body: \"region={{labels.odd}}\"}");
  ASSERT_TRUE(step);
  r = step->Render(vars_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, nlohmann::json({{"method", "PATCH"},
                                {"url", server_.url("/x")},
                                {"body", "region=a%20b%26c%3Dd"},
                                {"expect_status", nlohmann::json::array({202})}}));
}

TEST_F(HttpStepTest, ExpectStatusAndDefault2xx) {
  auto s204 = MustLoad("{url: \"" + server_.url("/status/204") + "\", expect_status: [200, 204]}");
  EXPECT_EQ(Run(*s204).status, StepStatus::kOk);
  auto s201 = MustLoad("{url: \"" + server_.url("/status/201") + "\"}");
  EXPECT_EQ(Run(*s201).status, StepStatus::kOk);
  auto only200 = MustLoad("{url: \"" + server_.url("/status/201") + "\", expect_status: 200}");
  StepOutcome o = Run(*only200);
  EXPECT_EQ(o.status, StepStatus::kFailed);
  EXPECT_NE(o.message.find("201"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("expected 200"), std::string::npos) << o.message;
  auto accept404 = MustLoad("{url: \"" + server_.url("/status/404") + "\", expect_status: [404]}");
  EXPECT_EQ(Run(*accept404).status, StepStatus::kOk);
}

TEST_F(HttpStepTest, ClassifiesFailures) {
  auto s503 = MustLoad("{method: PUT, url: \"" + server_.url("/status/503") + "\"}");
  StepOutcome o = Run(*s503);
  EXPECT_EQ(o.status, StepStatus::kRetryable) << o.message;
  EXPECT_NE(o.message.find("PUT " + server_.url("/status/503")), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("503"), std::string::npos) << o.message;
  EXPECT_EQ(o.details["status"], 503);
  EXPECT_EQ(o.details["body"], "status 503\n");

  auto s429 = MustLoad("{url: \"" + server_.url("/status/429") + "\"}");
  EXPECT_EQ(Run(*s429).status, StepStatus::kRetryable);
  auto s404 = MustLoad("{url: \"" + server_.url("/status/404") + "\"}");
  EXPECT_EQ(Run(*s404).status, StepStatus::kFailed);
  auto s401 = MustLoad("{url: \"" + server_.url("/status/401") + "\"}");
  EXPECT_EQ(Run(*s401).status, StepStatus::kFailed);
}

TEST_F(HttpStepTest, TransportErrorsAndTimeoutsAreRetryable) {
  int port = testing::ClosedPort();
  auto refused = MustLoad("{url: \"http://127.0.0.1:" + std::to_string(port) + "/x\"}");
  StepOutcome o = Run(*refused);
  EXPECT_EQ(o.status, StepStatus::kRetryable) << o.message;
  EXPECT_NE(o.message.find("GET http://127.0.0.1:" + std::to_string(port) + "/x"),
            std::string::npos)
      << o.message;

  auto hang = MustLoad("{url: \"" + server_.url("/hang") + "\", timeout: 300ms}");
  StepOutcome h = Run(*hang);
  EXPECT_EQ(h.status, StepStatus::kRetryable) << h.message;
}

TEST_F(HttpStepTest, BodyExcerptIsBounded) {
  std::string long_text(1000, 'z');
  auto step = MustLoad("{url: \"" + server_.url("/body?text=" + long_text) + "\"}");
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kOk) << o.message;
  EXPECT_EQ(o.details["body"].get<std::string>().size(), 200u);
}

TEST_F(HttpStepTest, BodyExcerptHasNoCarriageReturn) {
  // A CR shown on a terminal or in a log line would rewrite what is shown; CRLF is one
  // line break, as in the exec step's output.
  auto step = MustLoad("{url: \"" + server_.url("/body?text=one%0D%0Atwo%0Dthree%01") + "\"}");
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kOk) << o.message;
  EXPECT_EQ(o.details["body"], "one\ntwo\nthree?");
}

TEST_F(HttpStepTest, BearerTokenIsSentAndRedacted) {
  TempDir dir;
  std::string token_file = dir.Write("token", "s3cr3t-t0ken\n");
  server_.SetBearerToken("s3cr3t-t0ken");
  auto step = MustLoad("{url: \"" + server_.url("/auth") + "\", bearer_token_file: " + token_file +
                       ", headers: {X-Api-Token: inline-secret, X-Plain: visible}}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kOk) << o.message;
  EXPECT_EQ(server_.LastRequest().Header("authorization"), "Bearer s3cr3t-t0ken");
  auto r = step->Render(vars_);
  ASSERT_TRUE(r);
  std::string dumped = r->dump();
  EXPECT_EQ(dumped.find("s3cr3t"), std::string::npos) << dumped;
  EXPECT_EQ(dumped.find("inline-secret"), std::string::npos) << dumped;
  EXPECT_EQ((*r)["headers"]["Authorization"], "<redacted>");
  EXPECT_EQ((*r)["headers"]["X-Api-Token"], "<redacted>");
  EXPECT_EQ((*r)["headers"]["X-Plain"], "visible");
  EXPECT_EQ(o.message.find("s3cr3t"), std::string::npos);

  server_.SetBearerToken("another");
  StepOutcome denied = Run(*step);
  EXPECT_EQ(denied.status, StepStatus::kFailed);
  EXPECT_EQ(denied.message.find("s3cr3t"), std::string::npos) << denied.message;
  EXPECT_EQ(denied.details.dump().find("s3cr3t"), std::string::npos);
}

TEST_F(HttpStepTest, AuthorizationHeaderIsRedactedAndUserinfoHidden) {
  auto step = MustLoad("{url: \"http://user:pa55word@127.0.0.1:" + std::to_string(server_.port()) +
                       "/healthz\", headers: {Authorization: \"Basic abcdef\"}}");
  ASSERT_TRUE(step);
  auto r = step->Render(vars_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dump().find("pa55word"), std::string::npos) << r->dump();
  EXPECT_EQ(r->dump().find("abcdef"), std::string::npos) << r->dump();
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kOk) << o.message;
  EXPECT_EQ(o.message.find("pa55word"), std::string::npos) << o.message;
}

TEST_F(HttpStepTest, MissingLabelFailsAtRender) {
  auto step = MustLoad("{url: \"" + server_.url("/healthz") + "?dc={{labels.datacenter}}\"}");
  ASSERT_TRUE(step);
  EXPECT_FALSE(step->Render(vars_));
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kFailed);
  EXPECT_NE(o.message.find("datacenter"), std::string::npos) << o.message;
  EXPECT_EQ(server_.TotalRequests(), 0);
}

// Issue 14 point 3: a label value is encoded for the URL component it lands in (libcurl
// would otherwise turn /notify/../../admin into /admin, and '?', '&', '#' would add query
// parameters or cut the path), and for the JSON string it stands in (no added keys).
TEST_F(HttpStepTest, HostileValuesStayInTheirUrlComponentAndJsonString) {
  vars_.labels["evil"] = "../../admin?x=1&y=2#frag";
  vars_.labels["inject"] = "us\", \"admin\": true, \"x\": \"";
  auto step = MustLoad("{method: POST, url: \"" + server_.url("/notify/{{labels.evil}}/send") +
                       "?dc={{labels.evil}}&a=1\", "
                       "body: '{\"region\": \"{{labels.inject}}\"}', expect_status: [404]}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kOk) << o.message;
  auto req = server_.LastRequest();
  EXPECT_EQ(req.path, "/notify/..%2F..%2Fadmin%3Fx%3D1%26y%3D2%23frag/send");
  EXPECT_EQ(req.query, "dc=..%2F..%2Fadmin%3Fx%3D1%26y%3D2%23frag&a=1");
  EXPECT_EQ(server_.RequestCount("/admin"), 0);
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << req.body;
  EXPECT_EQ(body, (nlohmann::json{{"region", vars_.labels["inject"]}})) << req.body;
  // A body that looks like JSON and has no Content-Type is declared JSON.
  EXPECT_EQ(req.Header("content-type"), "application/json");
  auto r = step->Render(vars_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["url"], server_.url("/notify/..%2F..%2Fadmin%3Fx%3D1%26y%3D2%23frag/send") +
                             "?dc=..%2F..%2Fadmin%3Fx%3D1%26y%3D2%23frag&a=1");

  // A form body (what libcurl declares a body without Content-Type that is not JSON).
  auto form = MustLoad("{method: POST, url: \"" + server_.url("/healthz") +
                       "\", body: 'region={{labels.evil}}&a=1'}");
  ASSERT_TRUE(form);
  EXPECT_EQ(Run(*form).status, StepStatus::kOk);
  EXPECT_EQ(server_.LastRequest().body, "region=..%2F..%2Fadmin%3Fx%3D1%26y%3D2%23frag&a=1");
}

// Values that cannot be made safe fail the step before anything is sent, and the message
// names the variable: a ".." path segment, a host that is not a host name, a header value
// with a control character (CR/LF would split the header, NUL would cut it).
TEST_F(HttpStepTest, UnsafeValuesFailBeforeSending) {
  vars_.labels["dots"] = "..";
  vars_.labels["host"] = "127.0.0.1:1@evil.test";
  vars_.labels["nul"] = std::string("a\0X-Admin: 1", 12);
  vars_.labels["esc"] = "a\x1b[2J";
  vars_.labels["crlf"] = "a\r\nX-Admin: 1";
  struct Case {
    std::string body;
    std::string variable;
  };
  for (const Case& c : std::vector<Case>{
           {"{url: \"" + server_.url("/notify/{{labels.dots}}/admin") + "\"}", "labels.dots"},
           {"{url: \"http://{{labels.host}}:" + std::to_string(server_.port()) + "/healthz\"}",
            "labels.host"},
           {"{url: \"" + server_.url("/healthz") + "\", headers: {X-Region: \"{{labels.nul}}\"}}",
            "labels.nul"},
           {"{url: \"" + server_.url("/healthz") + "\", headers: {X-Region: \"{{labels.esc}}\"}}",
            "labels.esc"},
           {"{url: \"" + server_.url("/healthz") + "\", headers: {X-Region: \"{{labels.crlf}}\"}}",
            "labels.crlf"},
       }) {
    auto step = MustLoad(c.body);
    ASSERT_TRUE(step) << c.body;
    StepOutcome o = Run(*step);
    EXPECT_EQ(o.status, StepStatus::kFailed) << c.body << ": " << o.message;
    EXPECT_NE(o.message.find(c.variable), std::string::npos) << o.message;
    EXPECT_FALSE(step->Render(vars_)) << c.body;
  }
  EXPECT_EQ(server_.TotalRequests(), 0);
}

// Where no value could be made safe, the config is refused at load: a placeholder outside
// a JSON string in a JSON body, or choosing the URL's scheme.
TEST(HttpStepConfigTest, PlaceholdersWhereNoEscapingHelpsAreRefusedAtLoad) {
  struct Case {
    std::string body;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {"{url: \"http://x\", body: '{\"n\": {{labels.n}}}'}",
            "steps[0].http.body: template \"{\"n\": {{labels.n}}}\": {{labels.n}} stands outside "
            "a JSON string"},
           {"{url: \"http://x\", headers: {Content-Type: application/json}, "
            "body: '[{{labels.n}}]'}",
            "{{labels.n}} stands outside a JSON string"},
           {"{url: \"http://x\", headers: {content-type: application/merge-patch+json}, "
            "body: '{\"a\": \"{{labels.n}}\"'}",
            "is not valid JSON"},
           {"{url: \"{{annotations.url}}\"}", "steps[0].http.url: url must start with http://"},
       }) {
    auto s = Load(c.body);
    ASSERT_FALSE(s) << c.body;
    EXPECT_NE(s.error().message.find(c.want), std::string::npos)
        << c.body << "\n  got: " << s.error().message;
  }
  // A body declared as something else is taken as text.
  EXPECT_TRUE(
      Load("{url: \"http://x\", headers: {Content-Type: text/plain}, "
           "body: 'n={{labels.n}}}'}"));
}

TEST_F(HttpStepTest, CommonKeys) {
  auto step = MustLoad("{url: \"" + server_.url("/healthz") +
                       "\", timeout: 10s, retries: 3, backoff: 500ms}");
  ASSERT_TRUE(step);
  EXPECT_EQ(step->common().timeout, std::chrono::seconds(10));
  EXPECT_EQ(step->common().retries, 3);
  EXPECT_EQ(step->common().backoff, std::chrono::milliseconds(500));
}

TEST(HttpStepConfigTest, LocatedErrors) {
  struct Case {
    std::string body;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {"{method: POST}", "actuator.yml:2:11: steps[0].http: missing required key \"url\""},
           {"{url: \"ftp://x\"}", "steps[0].http.url: url must start with http://"},
           {"{url: \"http://x/{{label.region}}\"}", "steps[0].http.url: "},
           {"{url: \"http://x\", method: FETCH}", "steps[0].http.method: unknown method"},
           {"{url: \"http://x\", expect_status: [200, 700]}",
            "steps[0].http.expect_status[1]: status code must be between 100 and 599"},
           {"{url: \"http://x\", expect_status: []}", "steps[0].http.expect_status: "},
           {"{url: \"http://x\", retries: 11}",
            "steps[0].http.retries: retries must be between 0 and 10"},
           {"{url: \"http://x\", retries: -1}", "steps[0].http.retries: "},
           {"{url: \"http://x\", timeout: 5}", "steps[0].http.timeout: "},
           {"{url: \"http://x\", timeout: 0s}", "steps[0].http.timeout: timeout must be greater"},
           {"{url: \"http://x\", backoff: soon}", "steps[0].http.backoff: "},
           {"{url: \"http://x\", verb: GET}", "steps[0].http.verb: unknown key \"verb\""},
           {"{url: \"http://x\", headers: {\"bad header\": x}}", "invalid header name"},
           {"{url: \"http://x\", headers: [X-A]}", "steps[0].http.headers: expected a mapping"},
           {"{url: \"http://x\", body: {a: b}}", "steps[0].http.body: expected a string"},
           {"{url: \"http://x\", expect_status: [ok]}",
            "steps[0].http.expect_status[0]: expected an integer"},
           {"{url: \"http://x\", bearer_token: abc, headers: {authorization: x}}",
            "steps[0].http: set either bearer_token or an Authorization header, not both"},
           {"{url: \"http://x\", bearer_token_file: /nonexistent/failover/token}",
            "steps[0].http.bearer_token_file: cannot read secret file"},
       }) {
    auto s = Load(c.body);
    ASSERT_FALSE(s) << c.body;
    EXPECT_NE(s.error().message.find(c.want), std::string::npos)
        << c.body << "\n  got: " << s.error().message;
    EXPECT_EQ(s.error().message.rfind("actuator.yml:", 0), 0u) << s.error().message;
  }
}

// tls: (the block the exporter's probes take) lets a runbook call an internal https
// endpoint whose certificate comes from a private CA.
TEST_F(HttpStepTest, TlsCaFileTrustsAPrivateCa) {
  TempDir dir;
  TlsCert cert(dir.path());  // self-signed: its own CA, unknown to the system store
  TestHttpServer https(&cert);
  auto plain = MustLoad("{url: \"" + https.url("/healthz") + "\", retries: 0}");
  ASSERT_TRUE(plain);
  StepOutcome refused = Run(*plain);
  EXPECT_NE(refused.status, StepStatus::kOk) << "the private CA is not trusted without tls:";
  EXPECT_EQ(https.RequestCount("/healthz"), 0);

  auto step = MustLoad("{url: \"" + https.url("/healthz") + "\", tls: {ca_file: \"" +
                       cert.cert_path() + "\", server_name: localhost}}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kOk) << o.message;
  EXPECT_EQ(https.RequestCount("/healthz"), 1);
}

TEST_F(HttpStepTest, TlsBadCaFileNamesFileLineAndKey) {
  auto s = Load("{url: \"https://127.0.0.1:1/x\", tls: {ca_file: /nonexistent/ca.pem}}");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message.rfind("actuator.yml:2:", 0), 0u) << s.error().message;
  EXPECT_NE(s.error().message.find("steps[0].http.tls.ca_file: cannot read /nonexistent/ca.pem"),
            std::string::npos)
      << s.error().message;
  auto unknown = Load("{url: \"https://127.0.0.1:1/x\", tls: {ca_fil: /etc/hosts}}");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("steps[0].http.tls.ca_fil: unknown key \"ca_fil\""),
            std::string::npos)
      << unknown.error().message;
}

}  // namespace
}  // namespace failover
