// Config fields that several loaders read the same way, with the same errors: optional
// typed fields, base URLs, bounded durations and the TLS client block. Each reads its keys
// through YamlNode::Get, so a parser that ends with RejectUnreadKeys accepts them.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
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
