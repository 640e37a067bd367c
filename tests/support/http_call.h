// One HTTP request from a test to a server on loopback, by a fresh client, with a 10 s
// timeout (a safety net, not a performance bound).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/http_client.h"

namespace failover::testing {

Result<HttpResponse> Http(const std::string& method, const std::string& url,
                          const std::string& body = "",
                          std::vector<std::pair<std::string, std::string>> headers = {});

}  // namespace failover::testing
