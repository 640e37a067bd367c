#include "tests/support/fake_server.h"

#include <ctime>
#include <stdexcept>

namespace failover::testing {

std::unique_ptr<HttpServer> StartFakeServer(const std::string& name, int threads,
                                            std::vector<HttpServer::Route> routes,
                                            HttpServerOptions opts) {
  opts.listen_address = "127.0.0.1:0";
  opts.num_threads = threads;
  auto s = HttpServer::Start(opts, std::move(routes));
  if (!s) throw std::runtime_error(name + ": " + s.error().message);
  return std::move(*s);
}

std::string LocalBaseUrl(const HttpServer& server) {
  return "http://127.0.0.1:" + std::to_string(server.port());
}

std::string Iso8601(std::chrono::system_clock::time_point t) {
  time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace failover::testing
