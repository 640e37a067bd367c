#include "tests/support/fake_imds.h"

#include <ctime>
#include <stdexcept>

#include "tests/support/fake_server.h"

namespace failover::testing {
namespace {

constexpr const char* kCredsPath = "/latest/meta-data/iam/security-credentials/";

}  // namespace

FakeImds::FakeImds(std::string role)
    : role_(std::move(role)),
      expiration_(std::chrono::system_clock::now() + std::chrono::hours(6)) {
  server_ = StartFakeServer(
      "fake IMDS", 2,
      {{"GET", "/latest/", true, [this](const HttpServerRequest& r) { return Handle(r); }},
       {"PUT", "/latest/", true, [this](const HttpServerRequest& r) { return Handle(r); }}});
}

FakeImds::~FakeImds() { server_.reset(); }

std::string FakeImds::base_url() const { return LocalBaseUrl(*server_); }

void FakeImds::SetExpiration(std::chrono::system_clock::time_point t) {
  std::lock_guard<std::mutex> l(mu_);
  expiration_ = t;
}
void FakeImds::SetNoRole(bool none) {
  std::lock_guard<std::mutex> l(mu_);
  no_role_ = none;
}
int FakeImds::TokenRequests() const {
  std::lock_guard<std::mutex> l(mu_);
  return tokens_;
}
int FakeImds::CredentialRequests() const {
  std::lock_guard<std::mutex> l(mu_);
  return creds_;
}
int FakeImds::RefusedWithoutToken() const {
  std::lock_guard<std::mutex> l(mu_);
  return refused_;
}
std::string FakeImds::LastSecret() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_secret_;
}

HttpServerResponse FakeImds::Handle(const HttpServerRequest& req) {
  std::lock_guard<std::mutex> l(mu_);
  if (req.method == "PUT") {
    if (req.path != "/latest/api/token") return HttpServerResponse::Text(404, "Not Found");
    if (!req.Header("x-forwarded-for").empty()) return HttpServerResponse::Text(403, "Forbidden");
    std::string ttl = req.Header("x-aws-ec2-metadata-token-ttl-seconds");
    int n = 0;
    try {
      n = std::stoi(ttl);
    } catch (...) {
      n = 0;
    }
    if (n < 1 || n > 21600) return HttpServerResponse::Text(400, "Bad Request");
    ++tokens_;
    token_ = "AQAEAFAKETOKEN" + std::to_string(tokens_) + "==";
    return HttpServerResponse::Text(200, token_);
  }
  if (token_.empty() || req.Header("x-aws-ec2-metadata-token") != token_) {
    ++refused_;
    return HttpServerResponse::Text(401, "Unauthorized");
  }
  if (req.path == kCredsPath) {
    if (no_role_) return HttpServerResponse::Text(404, "Not Found");
    return HttpServerResponse::Text(200, role_);
  }
  if (req.path == std::string(kCredsPath) + role_ && !no_role_) {
    ++creds_;
    ++serial_;
    last_secret_ = "fakeImdsSecret" + std::to_string(serial_) + "xyzzy";
    std::string body = "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"" +
                       Iso8601(std::chrono::system_clock::now()) +
                       "\",\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIAFAKE" +
                       std::to_string(serial_) + "\",\n  \"SecretAccessKey\" : \"" + last_secret_ +
                       "\",\n  \"Token\" : \"fakeImdsSessionToken" + std::to_string(serial_) +
                       "\",\n  \"Expiration\" : \"" + Iso8601(expiration_) + "\"\n}";
    return HttpServerResponse::Text(200, body);
  }
  return HttpServerResponse::Text(404, "Not Found");
}

}  // namespace failover::testing
