// What the fakes of the hosted DNS APIs (fake_cloudflare, fake_linode, fake_digitalocean)
// share: an HTTP server on 127.0.0.1 (a free port) that holds one zone's records in
// memory, checks the bearer token of every request, counts requests and writes, pages
// lists with a page size the test can shrink, and answers the next N requests with an
// injected 429 (with Retry-After) or 5xx. Each fake adds its API's paths, envelopes,
// validation and error bodies (see docs/contracts/dns-providers.md).
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace failover {
class HttpServer;
struct HttpServerRequest;
struct HttpServerResponse;
}  // namespace failover

namespace failover::testing {

struct FakeDnsRecord {
  long long id = 0;  // assigned by the fake
  std::string type;
  std::string name;  // as the API names it: Cloudflare "www.example.com", Linode "www" or ""
                     // for the apex, DigitalOcean "www" or "@"
  std::string content;
  int ttl = 0;
  bool proxied = false;  // Cloudflare only
};

class FakeDnsApi {
 public:
  virtual ~FakeDnsApi();
  FakeDnsApi(const FakeDnsApi&) = delete;
  FakeDnsApi& operator=(const FakeDnsApi&) = delete;

  // The API's base URL, as a provider's `url:` takes it.
  std::string base_url() const;
  int port() const;
  // The only token the fake accepts.
  const std::string& token() const { return token_; }

  // The next `n` requests (whatever they are) get `status` (429 or 5xx) in the API's error
  // envelope, with Retry-After when `retry_after_s` >= 0 and any extra `headers`.
  void FailNext(int n, int status, int retry_after_s = -1,
                std::vector<std::pair<std::string, std::string>> headers = {});
  // At most `n` records per page of a list, whatever page size the client asks for.
  void SetPageSize(int n);

  // Test setup, not counted as a write; returns the id.
  long long AddRecord(FakeDnsRecord r);
  std::vector<FakeDnsRecord> Records() const;
  // Records with this API name and type, sorted by content.
  std::vector<FakeDnsRecord> Find(const std::string& name, const std::string& type) const;

  int Requests() const;  // every request
  int Writes() const;    // accepted creates, updates and deletes
  int Rejected() const;  // answered 4xx for a bad token, path or body (not injected faults)
  int Faulted() const;   // answered with an injected fault
  // "METHOD target" of every request, in order.
  std::vector<std::string> Log() const;

 protected:
  // `prefix`: the API's path prefix ("/client/v4", "/v4", ""); `auth_status`: what a
  // wrong or missing token gets (with `auth_message`).
  FakeDnsApi(std::string token, std::string prefix, int auth_status, std::string auth_message);
  // Starts the server; call at the end of the subclass' constructor.
  void Start();

  // The API's error envelope; `code` is Cloudflare's numeric code (0: derived).
  virtual HttpServerResponse ErrorResponse(int status, const std::string& message, int code) = 0;
  // Serves an authenticated request that no fault took; `path` is below the prefix.
  // Called with mu_ held.
  virtual HttpServerResponse Serve(const HttpServerRequest& req, const std::string& path) = 0;

  // Helpers for Serve.
  HttpServerResponse Reject(int status, const std::string& message, int code = 0);
  // Parses a JSON object body; on failure `error` is set to the rejection.
  bool ParseBody(const HttpServerRequest& req, nlohmann::json& body, HttpServerResponse& error);
  // Page `page` (1-based) of `items` with `per_page` (shrunk to the test's page size).
  int EffectivePageSize(int requested) const;
  FakeDnsRecord* ById(long long id);

  mutable std::mutex mu_;
  std::vector<FakeDnsRecord> records_;
  long long next_id_ = 1001;
  int writes_ = 0;

 private:
  HttpServerResponse Handle(const HttpServerRequest& req);

  std::string token_;
  std::string prefix_;
  int auth_status_;
  std::string auth_message_;
  int page_size_ = 0;
  int requests_ = 0;
  int rejected_ = 0;
  int faulted_ = 0;
  int fail_next_ = 0;
  int fail_status_ = 429;
  int fail_retry_after_ = -1;
  std::vector<std::pair<std::string, std::string>> fail_headers_;
  std::vector<std::string> log_;
  std::unique_ptr<HttpServer> server_;
};

// "a.b.c" -> {"a","b","c"} for paths below the prefix ("/zones/x/dns_records" ->
// {"zones","x","dns_records"}).
std::vector<std::string> SplitPath(const std::string& path);
// Whether `s` is an IPv4 (type A) or IPv6 (AAAA) address.
bool IsAddress(const std::string& type, const std::string& s);

}  // namespace failover::testing
