#include "common/config_fields.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace failover {

namespace {

template <typename T, typename Read>
Status ReadWith(const YamlNode& node, std::string_view key, T& out, Read read) {
  auto v = node.Get(key);
  if (!v) return {};
  auto r = read(*v);
  if (!r) return r.error();
  out = std::move(*r);
  return {};
}

}  // namespace

Status ReadOptional(const YamlNode& node, std::string_view key, bool& out) {
  return ReadWith(node, key, out, [](const YamlNode& v) { return v.AsBool(); });
}

Status ReadOptional(const YamlNode& node, std::string_view key, std::string& out) {
  return ReadWith(node, key, out, [](const YamlNode& v) { return v.AsString(); });
}

Status ReadOptional(const YamlNode& node, std::string_view key, long long& out) {
  return ReadWith(node, key, out, [](const YamlNode& v) { return v.AsInt(); });
}

Status ReadOptional(const YamlNode& node, std::string_view key, int& out) {
  auto v = node.Get(key);
  if (!v) return {};
  auto i = v->AsInt();
  if (!i) return i.error();
  if (*i < INT_MIN || *i > INT_MAX) return v->Fail("value out of range");
  out = static_cast<int>(*i);
  return {};
}

Status ReadOptional(const YamlNode& node, std::string_view key, double& out) {
  return ReadWith(node, key, out, [](const YamlNode& v) { return v.AsDouble(); });
}

Status ReadOptional(const YamlNode& node, std::string_view key, Duration& out) {
  return ReadWith(node, key, out, [](const YamlNode& v) { return v.AsDuration(); });
}

Status ReadOptional(const YamlNode& node, std::string_view key, std::vector<std::string>& out) {
  return ReadWith(node, key, out, [](const YamlNode& v) { return v.AsStringList(); });
}

Status ReadOptional(const YamlNode& node, std::string_view key,
                    std::map<std::string, std::string>& out) {
  return ReadWith(node, key, out, [](const YamlNode& v) { return v.AsStringMap(); });
}

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

Result<TlsClientOptions> ParseTlsClientOptions(const YamlNode& node) {
  if (auto s = node.ExpectMap(); !s) return s.error();
  TlsClientOptions tls;
  for (auto [key, target] : {std::pair<const char*, std::string*>{"ca_file", &tls.ca_file},
                             {"cert_file", &tls.cert_file},
                             {"key_file", &tls.key_file}}) {
    auto v = node.Get(key);
    if (!v) continue;
    auto s = v->AsString();
    if (!s) return s.error();
    if (access(s->c_str(), R_OK) != 0) {
      return v->Fail("cannot read " + *s + ": " + std::strerror(errno));
    }
    *target = *s;
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return node.Fail("cert_file and key_file go together");
  }
  if (auto s = ReadOptional(node, "server_name", tls.server_name); !s) return s.error();
  if (auto s = ReadOptional(node, "insecure_skip_verify", tls.insecure_skip_verify); !s) {
    return s.error();
  }
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  return tls;
}

}  // namespace failover
