// Secrets (tokens, passwords, keys) given inline, from a file (`<key>_file`) or from an
// environment variable (`<key>_env`). The value is read on Resolve(), so a rotated file is
// picked up without a restart, and it never appears in a log line or error message.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/yaml.h"

namespace failover {

class SecretRef {
 public:
  enum class Source { kInline, kFile, kEnv };

  static SecretRef Inline(std::string value) {
    return SecretRef(Source::kInline, std::move(value));
  }
  static SecretRef File(std::string path) { return SecretRef(Source::kFile, std::move(path)); }
  static SecretRef Env(std::string name) { return SecretRef(Source::kEnv, std::move(name)); }

  // Reads `key`, `key_file` or `key_env` from `parent` (at most one may be set).
  // Returns nullopt when none is. A `key_file` that cannot be read is an error here,
  // at load time, naming the file (never its contents).
  static Result<std::optional<SecretRef>> FromYaml(const YamlNode& parent, std::string_view key);

  // The secret's value, without a trailing newline. Errors name the source, not the value.
  Result<std::string> Resolve() const;

  // Where the secret comes from, safe to log: "file /etc/x", "env TOKEN", "inline".
  std::string Describe() const;
  bool operator==(const SecretRef&) const = default;

 private:
  SecretRef(Source s, std::string v) : source_(s), ref_(std::move(v)) {}
  Source source_;
  std::string ref_;  // the value (inline), the path (file) or the variable name (env)
};

}  // namespace failover
