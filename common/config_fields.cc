#include "common/config_fields.h"

namespace failover {

Result<std::optional<std::string>> ParseBaseUrl(const YamlNode& body, std::string_view key) {
  auto u = body.Get(key);
  if (!u) return std::optional<std::string>();
  auto s = u->AsString();
  if (!s) return s.error();
  if ((s->rfind("http://", 0) != 0 && s->rfind("https://", 0) != 0) ||
      s->find_first_of("?#") != std::string::npos) {
    return u->Fail("expected an http:// or https:// base URL without query, found \"" + *s + "\"");
  }
  std::string url = *s;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return std::optional<std::string>(std::move(url));
}

Result<Duration> ParsePositiveDuration(const YamlNode& body, std::string_view key, Duration max,
                                       Duration fallback) {
  auto p = body.Get(key);
  if (!p) return fallback;
  auto d = p->AsDuration();
  if (!d) return d.error();
  if (*d <= Duration::zero() || *d > max) {
    return p->Fail(std::string(key) + " must be greater than zero and at most " +
                   FormatDuration(max));
  }
  return *d;
}

}  // namespace failover
