// Config fields that several loaders read the same way, with the same errors: optional
// typed fields, base URLs, bounded durations and the TLS client block. Each reads its keys
// through YamlNode::Get, so a parser that ends with RejectUnreadKeys accepts them.
#pragma once

#include <climits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/duration.h"
#include "common/http_client.h"
#include "common/result.h"
#include "common/yaml.h"

namespace failover {

// Optional `key` of a mapping: when present, parsed into `out` (a type error names
// file:line:key); when absent or null, `out` is left as it was (the default).
Status ReadOptional(const YamlNode& node, std::string_view key, bool& out);
Status ReadOptional(const YamlNode& node, std::string_view key, std::string& out);
Status ReadOptional(const YamlNode& node, std::string_view key, long long& out);
Status ReadOptional(const YamlNode& node, std::string_view key, int& out);  // int range
Status ReadOptional(const YamlNode& node, std::string_view key, double& out);
Status ReadOptional(const YamlNode& node, std::string_view key, Duration& out);
Status ReadOptional(const YamlNode& node, std::string_view key, std::vector<std::string>& out);
Status ReadOptional(const YamlNode& node, std::string_view key,
                    std::map<std::string, std::string>& out);

// The same for a field whose absence matters: set only when the key is present.
template <typename T>
Status ReadOptional(const YamlNode& node, std::string_view key, std::optional<T>& out) {
  if (!node.Has(key)) return {};
  T value{};
  if (auto s = ReadOptional(node, key, value); !s) return s;
  out = std::move(value);
  return {};
}

// A key's value parsed as T: std::string, bool, long long, int (range-checked), double,
// Duration, std::vector<std::string> or std::map<std::string, std::string>.
template <typename T>
Result<T> ParseAs(const YamlNode& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return v.AsString();
  } else if constexpr (std::is_same_v<T, bool>) {
    return v.AsBool();
  } else if constexpr (std::is_same_v<T, long long>) {
    return v.AsInt();
  } else if constexpr (std::is_same_v<T, int>) {
    auto i = v.AsInt();
    if (!i) return i.error();
    if (*i < INT_MIN || *i > INT_MAX) return v.Fail("value out of range");
    return static_cast<int>(*i);
  } else if constexpr (std::is_same_v<T, double>) {
    return v.AsDouble();
  } else if constexpr (std::is_same_v<T, Duration>) {
    return v.AsDuration();
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return v.AsStringList();
  } else {
    static_assert(std::is_same_v<T, std::map<std::string, std::string>>, "no ParseAs for T");
    return v.AsStringMap();
  }
}

// A key's node and its typed value, for a parser whose own checks point at the node
// (`field->node.Fail("must not be empty")`).
template <typename T>
struct Field {
  YamlNode node;
  T value;
};

// Required `key` of a mapping, parsed as T (a missing key or a type error names
// file:line:key).
template <typename T>
Result<Field<T>> RequireField(const YamlNode& body, std::string_view key) {
  auto node = body.Require(key);
  if (!node) return node.error();
  auto value = ParseAs<T>(*node);
  if (!value) return value.error();
  return Field<T>{*node, std::move(*value)};
}

// Optional `key` of a mapping, parsed as T; nullopt when absent or null.
template <typename T>
Result<std::optional<Field<T>>> GetField(const YamlNode& body, std::string_view key) {
  auto node = body.Get(key);
  if (!node) return std::optional<Field<T>>();
  auto value = ParseAs<T>(*node);
  if (!value) return value.error();
  return std::optional<Field<T>>(Field<T>{*node, std::move(*value)});
}

// Required `key` of a mapping, parsed into `out`.
template <typename T>
Status ReadRequired(const YamlNode& body, std::string_view key, T& out) {
  auto f = RequireField<T>(body, key);
  if (!f) return f.error();
  out = std::move(f->value);
  return {};
}

// Optional `key` of a mapping: an http:// or https:// base URL without query or fragment,
// trailing slashes removed; nullopt when absent.
Result<std::optional<std::string>> ParseBaseUrl(const YamlNode& body, std::string_view key);

// Optional `key` of a mapping: a duration greater than zero and at most `max`; `fallback`
// when absent.
Result<Duration> ParsePositiveDuration(const YamlNode& body, std::string_view key, Duration max,
                                       Duration fallback);

// A client's `tls:` block, for both daemons (the exporter's http, tcp and redis probes,
// the actuator's http step): ca_file, cert_file, key_file (the files must be readable
// now), server_name, insecure_skip_verify. Ends with RejectUnreadKeys on `node`.
Result<TlsClientOptions> ParseTlsClientOptions(const YamlNode& node);

}  // namespace failover
