#include "tests/support/fake_sts.h"

#include <ctime>
#include <map>
#include <stdexcept>

#include "common/xml.h"
#include "tests/support/aws_query.h"
#include "tests/support/fake_server.h"

namespace failover::testing {
namespace {

constexpr const char* kNs = "https://sts.amazonaws.com/doc/2011-06-15/";

HttpServerResponse ErrorXml(int status, const std::string& code, const std::string& message) {
  return AwsErrorXml(status, kNs, code, message, status >= 500 ? "Receiver" : "Sender", "fake");
}

}  // namespace

FakeSts::FakeSts(std::string role_arn, std::string token)
    : role_arn_(std::move(role_arn)),
      token_(std::move(token)),
      expiration_(std::chrono::system_clock::now() + std::chrono::hours(1)) {
  server_ = StartFakeServer(
      "fake STS", 2,
      {{"POST", "/", false, [this](const HttpServerRequest& r) { return Handle(r); }}});
}

FakeSts::~FakeSts() { server_.reset(); }

std::string FakeSts::base_url() const { return LocalBaseUrl(*server_); }
void FakeSts::SetExpiration(std::chrono::system_clock::time_point t) {
  std::lock_guard<std::mutex> l(mu_);
  expiration_ = t;
}
void FakeSts::SetToken(std::string token) {
  std::lock_guard<std::mutex> l(mu_);
  token_ = std::move(token);
}
void FakeSts::FailNext(int n) {
  std::lock_guard<std::mutex> l(mu_);
  fail_next_ = n;
}
void FakeSts::IssueKeys(std::string access_key_id, std::string secret_access_key) {
  std::lock_guard<std::mutex> l(mu_);
  issued_id_ = std::move(access_key_id);
  issued_secret_ = std::move(secret_access_key);
}
int FakeSts::Calls() const {
  std::lock_guard<std::mutex> l(mu_);
  return calls_;
}
std::string FakeSts::LastSessionName() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_session_;
}

HttpServerResponse FakeSts::Handle(const HttpServerRequest& req) {
  std::lock_guard<std::mutex> l(mu_);
  ++calls_;
  if (fail_next_ > 0) {
    --fail_next_;
    return ErrorXml(503, "ServiceUnavailable", "Service unavailable");
  }
  if (req.Header("content-type").rfind("application/x-www-form-urlencoded", 0) != 0) {
    return ErrorXml(400, "InvalidParameterValue", "expected a form body");
  }
  auto form = ParseAwsForm(req.body);
  if (form["Action"] != "AssumeRoleWithWebIdentity" || form["Version"] != "2011-06-15") {
    return ErrorXml(400, "InvalidAction", "Could not find operation " + form["Action"]);
  }
  for (const char* k : {"RoleArn", "RoleSessionName", "WebIdentityToken"}) {
    if (form[k].empty()) {
      return ErrorXml(400, "MissingParameter",
                      std::string("The request must contain the parameter ") + k);
    }
  }
  if (form["RoleArn"] != role_arn_) {
    return ErrorXml(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
  }
  if (form["WebIdentityToken"] != token_) {
    return ErrorXml(400, "InvalidIdentityToken", "Couldn't retrieve verification key");
  }
  last_session_ = form["RoleSessionName"];
  std::string n = std::to_string(calls_);
  HttpServerResponse r;
  r.content_type = "text/xml";
  r.body = std::string("<AssumeRoleWithWebIdentityResponse xmlns=\"") + kNs +
           "\"><AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>system:serviceaccount:"
           "failover:actuator</SubjectFromWebIdentityToken><AssumedRoleUser><Arn>" +
           XmlEscape(role_arn_) + "/" + XmlEscape(last_session_) +
           "</Arn><AssumedRoleId>AROAFAKE:" + XmlEscape(last_session_) +
           "</AssumedRoleId></AssumedRoleUser><Credentials><SessionToken>fakeStsSessionToken" + n +
           "</SessionToken><SecretAccessKey>" +
           (issued_secret_.empty() ? "fakeStsSecret" + n + "xyzzy" : issued_secret_) +
           "</SecretAccessKey><Expiration>" + Iso8601(expiration_) + "</Expiration><AccessKeyId>" +
           (issued_id_.empty() ? "ASIASTSFAKE" + n : issued_id_) +
           "</AccessKeyId></Credentials><Audience>sts.amazonaws.com</Audience>"
           "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>fake</RequestId>"
           "</ResponseMetadata></AssumeRoleWithWebIdentityResponse>";
  return r;
}

}  // namespace failover::testing
