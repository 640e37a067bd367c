// Where the http probe sends a request: its configured URL, or a redirect's Location
// resolved against the URL it answered (RFC 3986 section 5). No sockets and no library:
// the parsing is tested on its own (tests/exporter/http_url_test.cc).
//
// What is accepted: http and https URLs (the scheme in any case) with a host name, an
// IPv4 address or a bracketed IPv6 address, an optional port from 1 to 65535, a path and
// a query; the fragment is dropped. Dot segments in the path are removed ("/a/../b" is
// "/b"); bytes from 0x80 up in the path and query are percent-encoded, as browsers send
// them. Refused, with the reason: spaces and control characters, a user or password (never
// repeated: it may be a password), any other scheme, no host, a host that is not ASCII
// (an international name goes in its xn-- form), a bad port.
#pragma once

#include <string>

#include "common/result.h"

namespace failover {

struct HttpTarget {
  bool https = false;
  int port = 0;
  std::string host;         // to connect to: a name or an IP (without brackets)
  std::string host_header;  // the Host header: the URL's host[:port]
  std::string path;         // path and query, as the request line carries them

  // The URL again, for resolving a relative Location against it.
  std::string Url() const { return (https ? "https://" : "http://") + host_header + path; }
};

// `location` as a request target: an absolute URL, or when `base` is given a reference
// relative to it ("/x", "x", "../x", "?q", "//host/x"). Errors start with
// `invalid URL "<location>"` unless the URL holds a user or password.
Result<HttpTarget> ParseHttpTarget(const std::string& location, const std::string* base);

}  // namespace failover
