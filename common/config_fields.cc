#include "common/config_fields.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace failover {

namespace {

template <typename T>
Status ReadAs(const YamlNode& node, std::string_view key, T& out) {
  auto f = GetField<T>(node, key);
  if (!f) return f.error();
  if (*f) out = std::move((*f)->value);
  return {};
}

}  // namespace

Status ReadOptional(const YamlNode& node, std::string_view key, bool& out) {
  return ReadAs(node, key, out);
}
Status ReadOptional(const YamlNode& node, std::string_view key, std::string& out) {
  return ReadAs(node, key, out);
}
Status ReadOptional(const YamlNode& node, std::string_view key, long long& out) {
  return ReadAs(node, key, out);
}
Status ReadOptional(const YamlNode& node, std::string_view key, int& out) {
  return ReadAs(node, key, out);
}
Status ReadOptional(const YamlNode& node, std::string_view key, double& out) {
  return ReadAs(node, key, out);
}
Status ReadOptional(const YamlNode& node, std::string_view key, Duration& out) {
  return ReadAs(node, key, out);
}
Status ReadOptional(const YamlNode& node, std::string_view key, std::vector<std::string>& out) {
  return ReadAs(node, key, out);
}
Status ReadOptional(const YamlNode& node, std::string_view key,
                    std::map<std::string, std::string>& out) {
  return ReadAs(node, key, out);
}

Result<std::optional<std::string>> ParseBaseUrl(const YamlNode& body, std::string_view key) {
  auto f = GetField<std::string>(body, key);
  if (!f) return f.error();
  if (!*f) return std::optional<std::string>();
  const YamlNode* u = &(*f)->node;
  const std::string* s = &(*f)->value;
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
  auto f = GetField<Duration>(body, key);
  if (!f) return f.error();
  if (!*f) return fallback;
  const Duration* d = &(*f)->value;
  if (*d <= Duration::zero() || *d > max) {
    return (*f)->node.Fail(std::string(key) + " must be greater than zero and at most " +
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
    auto f = GetField<std::string>(node, key);
    if (!f) return f.error();
    if (!*f) continue;
    if (access((*f)->value.c_str(), R_OK) != 0) {
      return (*f)->node.Fail("cannot read " + (*f)->value + ": " + std::strerror(errno));
    }
    *target = (*f)->value;
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
