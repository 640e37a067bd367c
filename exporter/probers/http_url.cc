#include "exporter/probers/http_url.h"

#include <optional>
#include <string_view>

#include "common/encoding.h"

namespace failover {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// A URI reference split as RFC 3986 appendix B does; a part that is absent (not merely
// empty) is nullopt.
struct Reference {
  std::optional<std::string> scheme;
  std::optional<std::string> authority;
  std::string path;
  std::optional<std::string> query;
};

Reference Split(std::string_view s) {
  Reference r;
  if (auto hash = s.find('#'); hash != std::string_view::npos) s = s.substr(0, hash);
  size_t i = 0;
  if (!s.empty() && IsAlpha(s[0])) {
    while (i < s.size() &&
           (IsAlpha(s[i]) || IsDigit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) {
      ++i;
    }
    if (i < s.size() && s[i] == ':') {
      r.scheme = std::string(s.substr(0, i));
      s = s.substr(i + 1);
    }
  }
  if (s.substr(0, 2) == "//") {
    size_t end = s.find_first_of("/?", 2);
    r.authority = std::string(s.substr(2, end == std::string_view::npos ? s.npos : end - 2));
    s = end == std::string_view::npos ? std::string_view() : s.substr(end);
  }
  size_t q = s.find('?');
  r.path = std::string(s.substr(0, q));
  if (q != std::string_view::npos) r.query = std::string(s.substr(q + 1));
  return r;
}

// RFC 3986 section 5.2.4.
std::string RemoveDotSegments(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    if (in.substr(0, 3) == "../") {
      in.remove_prefix(3);
    } else if (in.substr(0, 2) == "./") {
      in.remove_prefix(2);
    } else if (in.substr(0, 3) == "/./") {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.substr(0, 4) == "/../" || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      auto slash = out.rfind('/');
      out.erase(slash == std::string::npos ? 0 : slash);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      size_t next = in.find('/', 1);
      if (next == std::string_view::npos) next = in.size();
      out.append(in.substr(0, next));
      in.remove_prefix(next);
    }
  }
  return out;
}

// RFC 3986 section 5.2.3.
std::string Merge(const Reference& base, const std::string& path) {
  if (base.authority && base.path.empty()) return "/" + path;
  auto slash = base.path.rfind('/');
  return slash == std::string::npos ? path : base.path.substr(0, slash + 1) + path;
}

// RFC 3986 section 5.2.2 (strict).
Reference Resolve(const Reference& base, Reference r) {
  if (r.scheme) {
    r.path = RemoveDotSegments(r.path);
    return r;
  }
  r.scheme = base.scheme;
  if (r.authority) {
    r.path = RemoveDotSegments(r.path);
    return r;
  }
  r.authority = base.authority;
  if (r.path.empty()) {
    r.path = base.path;
    if (!r.query) r.query = base.query;
  } else {
    r.path = RemoveDotSegments(r.path[0] == '/' ? r.path : Merge(base, r.path));
  }
  return r;
}

// Bytes from 0x80 up as %XX; the rest is printable ASCII here (spaces and control
// characters are refused first), and stays as it is.
std::string PercentEncodeHigh(const std::string& s) {
  static const std::string kPrintable = [] {
    std::string all;
    for (char c = 0x21; c < 0x7f; ++c) all += c;
    return all;
  }();
  return UrlEncode(s, kPrintable);
}

bool RegNameChar(char c) {
  return IsAlpha(c) || IsDigit(c) ||
         std::string_view("-._~%!$&'()*+,;=").find(c) != std::string_view::npos;
}

bool Ipv6Char(char c) {
  return IsDigit(c) || (Lower(c) >= 'a' && Lower(c) <= 'f') || c == ':' || c == '.';
}

}  // namespace

Result<HttpTarget> ParseHttpTarget(const std::string& location, const std::string* base) {
  auto invalid = [&](const std::string& why) {
    return Error::Invalid("invalid URL \"" + location + "\": " + why);
  };
  // The base is the URL that answered, already checked; looked at again all the same.
  for (const std::string* text : {&location, base}) {
    if (text == nullptr) continue;
    for (char c : *text) {
      auto b = static_cast<unsigned char>(c);
      if (b <= 0x20 || b == 0x7f) return invalid("it contains a space or a control character");
    }
  }
  Reference r = Split(location);
  // Resolve removes the dot segments of the reference's path; a path taken from the base
  // as it is (a reference of only a query) is normalised here, in case the base was not.
  if (base != nullptr) r = Resolve(Split(*base), std::move(r));
  r.path = RemoveDotSegments(r.path);
  if (!r.scheme) return invalid("no scheme (http:// or https://)");  // nor the base's
  std::string scheme;
  for (char c : *r.scheme) scheme += Lower(c);
  if (scheme != "http" && scheme != "https") return invalid("scheme must be http or https");
  if (!r.authority || r.authority->empty()) return invalid("no host");
  std::string_view authority = *r.authority;
  if (authority.find('@') !=
      std::string_view::npos) {  // the URL is not repeated: it holds a password
    return Error::Invalid(
        "a user or password in the URL is not sent; use basic_auth with a password_file");
  }
  HttpTarget t;
  t.https = scheme == "https";
  std::string_view host, port;
  if (authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid("an IPv6 address without its closing ]");
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return invalid("text after the IPv6 address");
    if (!rest.empty()) port = rest.substr(1);
    size_t zone = host.find('%');
    std::string_view addr = host.substr(0, zone);
    if (addr.find(':') == std::string_view::npos) return invalid("a bad IPv6 address");
    for (char c : addr) {
      if (!Ipv6Char(c)) return invalid("a bad IPv6 address");
    }
    if (zone != std::string_view::npos) {  // RFC 6874: unreserved characters and %XX
      for (char c : host.substr(zone + 1)) {
        if (!IsAlpha(c) && !IsDigit(c) &&
            std::string_view("-._~%").find(c) == std::string_view::npos) {
          return invalid("a bad IPv6 zone");
        }
      }
    }
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    for (char c : host) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        return invalid("the host must be ASCII (an international name in its xn-- form)");
      }
      if (!RegNameChar(c)) return invalid(std::string("the host has a '") + c + "'");
    }
  }
  if (host.empty()) return invalid("no host");
  t.port = t.https ? 443 : 80;
  if (!port.empty()) {
    if (port.size() > 5) return invalid("the port must be a number from 1 to 65535");
    int p = 0;
    for (char c : port) {
      if (!IsDigit(c)) return invalid("the port must be a number from 1 to 65535");
      p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535) return invalid("the port must be a number from 1 to 65535");
    t.port = p;
  }
  t.host = std::string(host);
  t.host_header = authority[0] == '[' ? "[" + t.host + "]" : t.host;
  if (t.port != (t.https ? 443 : 80)) t.host_header += ":" + std::to_string(t.port);
  t.path = PercentEncodeHigh(r.path.empty() ? "/" : r.path);
  if (r.query && !r.query->empty()) t.path += "?" + PercentEncodeHigh(*r.query);
  return t;
}

}  // namespace failover
