#include "tests/support/fake_dns_api.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <stdexcept>

#include "common/http_server.h"
#include "tests/support/fake_server.h"

namespace failover::testing {

FakeDnsApi::FakeDnsApi(std::string token, std::string prefix, int auth_status,
                       std::string auth_message)
    : token_(std::move(token)),
      prefix_(std::move(prefix)),
      auth_status_(auth_status),
      auth_message_(std::move(auth_message)) {}

FakeDnsApi::~FakeDnsApi() { server_.reset(); }

void FakeDnsApi::Start() {
  std::vector<HttpServer::Route> routes;
  for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    routes.push_back({m, "/", true, [this](const HttpServerRequest& r) { return Handle(r); }});
  }
  server_ = StartFakeServer("fake DNS API", 4, std::move(routes));
}

int FakeDnsApi::port() const { return server_->port(); }
std::string FakeDnsApi::base_url() const { return LocalBaseUrl(*server_) + prefix_; }

void FakeDnsApi::FailNext(int n, int status, int retry_after_s,
                          std::vector<std::pair<std::string, std::string>> headers) {
  std::lock_guard<std::mutex> l(mu_);
  fail_next_ = n;
  fail_status_ = status;
  fail_retry_after_ = retry_after_s;
  fail_headers_ = std::move(headers);
}

void FakeDnsApi::SetPageSize(int n) {
  std::lock_guard<std::mutex> l(mu_);
  page_size_ = n;
}

long long FakeDnsApi::AddRecord(FakeDnsRecord r) {
  std::lock_guard<std::mutex> l(mu_);
  r.id = next_id_++;
  records_.push_back(r);
  return r.id;
}

std::vector<FakeDnsRecord> FakeDnsApi::Records() const {
  std::lock_guard<std::mutex> l(mu_);
  return records_;
}

std::vector<FakeDnsRecord> FakeDnsApi::Find(const std::string& name,
                                            const std::string& type) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<FakeDnsRecord> out;
  for (const auto& r : records_) {
    if (r.name == name && r.type == type) out.push_back(r);
  }
  std::sort(out.begin(), out.end(),
            [](const FakeDnsRecord& a, const FakeDnsRecord& b) { return a.content < b.content; });
  return out;
}

int FakeDnsApi::Requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return requests_;
}
int FakeDnsApi::Writes() const {
  std::lock_guard<std::mutex> l(mu_);
  return writes_;
}
int FakeDnsApi::Rejected() const {
  std::lock_guard<std::mutex> l(mu_);
  return rejected_;
}
int FakeDnsApi::Faulted() const {
  std::lock_guard<std::mutex> l(mu_);
  return faulted_;
}
std::vector<std::string> FakeDnsApi::Log() const {
  std::lock_guard<std::mutex> l(mu_);
  return log_;
}

HttpServerResponse FakeDnsApi::Reject(int status, const std::string& message, int code) {
  ++rejected_;
  return ErrorResponse(status, message, code);
}

bool FakeDnsApi::ParseBody(const HttpServerRequest& req, nlohmann::json& body,
                           HttpServerResponse& error) {
  if (req.Header("content-type").rfind("application/json", 0) != 0) {
    error = Reject(400, "Content-Type must be application/json", 6003);
    return false;
  }
  body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    error = Reject(400, "Malformed JSON in request body", 9207);
    return false;
  }
  return true;
}

int FakeDnsApi::EffectivePageSize(int requested) const {
  return page_size_ > 0 ? std::min(requested, page_size_) : requested;
}

FakeDnsRecord* FakeDnsApi::ById(long long id) {
  for (auto& r : records_) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

HttpServerResponse FakeDnsApi::Handle(const HttpServerRequest& req) {
  std::lock_guard<std::mutex> l(mu_);
  ++requests_;
  log_.push_back(req.method + " " + req.path + (req.query.empty() ? "" : "?" + req.query));
  if (fail_next_ > 0) {
    --fail_next_;
    ++faulted_;
    HttpServerResponse r = ErrorResponse(
        fail_status_, fail_status_ == 429 ? "Too many requests" : "Internal server error", 0);
    if (fail_retry_after_ >= 0)
      r.headers.emplace_back("Retry-After", std::to_string(fail_retry_after_));
    for (const auto& h : fail_headers_) r.headers.push_back(h);
    return r;
  }
  if (req.Header("authorization") != "Bearer " + token_) {
    return Reject(auth_status_, auth_message_, auth_status_ == 403 ? 10000 : 0);
  }
  if (req.path.rfind(prefix_ + "/", 0) != 0) return Reject(404, "Not found", 7000);
  return Serve(req, req.path.substr(prefix_.size()));
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool IsAddress(const std::string& type, const std::string& s) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(type == "AAAA" ? AF_INET6 : AF_INET, s.c_str(), buf) == 1;
}

}  // namespace failover::testing
