// What the fakes of internet APIs share: their HTTP server on 127.0.0.1, a free port.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/http_server.h"

namespace failover::testing {

// Starts fake `name`'s server ("fake RDS") on 127.0.0.1:0 with `threads` workers and
// `routes` (`opts` for anything else); throws std::runtime_error naming it when it cannot.
std::unique_ptr<HttpServer> StartFakeServer(const std::string& name, int threads,
                                            std::vector<HttpServer::Route> routes,
                                            HttpServerOptions opts = {});

// "http://127.0.0.1:<port>" of `server`.
std::string LocalBaseUrl(const HttpServer& server);

// `t` as ISO 8601 in UTC to the second ("2026-01-02T03:04:05Z"), as AWS's credential
// answers give expiry times.
std::string Iso8601(std::chrono::system_clock::time_point t);

}  // namespace failover::testing
