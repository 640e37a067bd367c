// HttpClient: the one interface every provider and step uses to talk HTTP, so tests can
// point them at local servers. CurlHttpClient is the libcurl implementation.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/result.h"

namespace failover {

struct TlsClientOptions {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;  // name to verify (and send as SNI) instead of the URL's host
  bool insecure_skip_verify = false;
  bool operator==(const TlsClientOptions&) const = default;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Duration timeout = std::chrono::seconds(10);
  TlsClientOptions tls;
  bool follow_redirects = false;
  size_t max_response_bytes = 16 << 20;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::string body;
  std::string Header(const std::string& lower_name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Transport failures (refused, timeout, TLS) are errors; any HTTP status is a response.
  // Timeouts and connection failures are marked retryable.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

class CurlHttpClient final : public HttpClient {
 public:
  Result<HttpResponse> Send(const HttpRequest& request) override;
};

// Process-wide libcurl initialisation; call once from main() before any thread starts.
void InitCurl();

}  // namespace failover
