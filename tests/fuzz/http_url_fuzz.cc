// libFuzzer target: a URL as the http probe takes it (ParseHttpTarget,
// exporter/probers/http_url.h). Without a newline the input is a configured URL; with one,
// the text before it is the URL that answered and the text after it a redirect's
// Location. The parser may not crash, and what it accepts must be safe to send and stable:
// a host, a port from 1 to 65535, a path that starts with '/' and, like the Host header,
// holds no space, control character or byte from 0x80 up (they go into the request line
// and headers as they are); and the target's URL parsed again gives the same target.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "exporter/probers/http_url.h"

namespace {

using failover::HttpTarget;

bool Sendable(const std::string& s) {
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f) return false;
  }
  return true;
}

void Check(const HttpTarget& t) {
  if (t.host.empty() || t.port < 1 || t.port > 65535) std::abort();
  if (t.path.empty() || t.path[0] != '/') std::abort();
  if (!Sendable(t.path) || !Sendable(t.host_header)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string base = nl == std::string::npos ? "" : in.substr(0, nl);
  std::string location = nl == std::string::npos ? in : in.substr(nl + 1);
  auto t = failover::ParseHttpTarget(location, nl == std::string::npos ? nullptr : &base);
  if (!t) {
    if (t.error().message.empty()) std::abort();
    return 0;
  }
  Check(*t);
  auto again = failover::ParseHttpTarget(t->Url(), nullptr);
  if (!again) std::abort();
  Check(*again);
  if (again->https != t->https || again->port != t->port || again->host != t->host ||
      again->host_header != t->host_header || again->path != t->path) {
    std::abort();
  }
  return 0;
}
