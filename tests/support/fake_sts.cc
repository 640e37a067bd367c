#include "tests/support/fake_sts.h"

#include <ctime>
#include <map>
#include <stdexcept>

#include "common/xml.h"

namespace failover::testing {
namespace {

constexpr const char* kNs = "https://sts.amazonaws.com/doc/2011-06-15/";

std::string Iso8601(std::chrono::system_clock::time_point t) {
  time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    std::string kv = body.substr(start, end - start);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) out[Decode(kv.substr(0, eq))] = Decode(kv.substr(eq + 1));
    start = end + 1;
  }
  return out;
}

HttpServerResponse ErrorXml(int status, const std::string& code, const std::string& message) {
  HttpServerResponse r;
  r.status = status;
  r.content_type = "text/xml";
  r.body = std::string("<ErrorResponse xmlns=\"") + kNs + "\"><Error><Type>" +
           (status >= 500 ? "Receiver" : "Sender") + "</Type><Code>" + code + "</Code><Message>" +
           XmlEscape(message) + "</Message></Error><RequestId>fake</RequestId></ErrorResponse>";
  return r;
}

}  // namespace

FakeSts::FakeSts(std::string role_arn, std::string token)
    : role_arn_(std::move(role_arn)),
      token_(std::move(token)),
      expiration_(std::chrono::system_clock::now() + std::chrono::hours(1)) {
  HttpServerOptions opts;
  opts.listen_address = "127.0.0.1:0";
  opts.num_threads = 2;
  std::vector<HttpServer::Route> routes = {
      {"POST", "/", false, [this](const HttpServerRequest& r) { return Handle(r); }},
  };
  auto s = HttpServer::Start(opts, std::move(routes));
  if (!s) throw std::runtime_error("fake STS: " + s.error().message);
  server_ = std::move(*s);
}

FakeSts::~FakeSts() { server_.reset(); }

std::string FakeSts::base_url() const {
  return "http://127.0.0.1:" + std::to_string(server_->port());
}
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
  auto form = ParseForm(req.body);
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
