#include "common/host_port.h"

namespace failover {

Result<std::pair<std::string, int>> SplitHostPort(const std::string& address) {
  std::string host, port;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return Error::Invalid("\"" + address + "\" is not host:port ([v6]:port for IPv6)");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos || address.find(':') != colon) {
      return Error::Invalid("\"" + address + "\" is not host:port ([v6]:port for IPv6)");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (host.empty()) return Error::Invalid("\"" + address + "\" has no host");
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
      std::stoi(port) > 65535) {
    return Error::Invalid("\"" + address + "\" has no valid port (1..65535)");
  }
  return std::make_pair(host, std::stoi(port));
}

}  // namespace failover
