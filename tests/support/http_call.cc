#include "tests/support/http_call.h"

#include <chrono>

namespace failover::testing {

Result<HttpResponse> Http(const std::string& method, const std::string& url,
                          const std::string& body,
                          std::vector<std::pair<std::string, std::string>> headers) {
  HttpRequest req;
  req.method = method;
  req.url = url;
  req.body = body;
  req.headers = std::move(headers);
  req.timeout = std::chrono::seconds(10);
  return CurlHttpClient().Send(req);
}

}  // namespace failover::testing
