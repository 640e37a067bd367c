// HTTP Basic authentication, both sides, once for both daemons: the `basic_auth:` block a
// client is configured with (the exporter's http probe, the actuator's webhook and API
// credentials) and the Authorization header a server receives (the actuator's webhook
// and API, the listeners' basic_auth_users in common/web_config.cc).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/secret.h"
#include "common/yaml.h"

namespace failover {

struct BasicAuthConfig {
  std::string username;
  SecretRef password;
  bool operator==(const BasicAuthConfig&) const = default;
};

// Parses `basic_auth: {username: ..., password | password_file | password_env: ...}`.
// Errors name file:line and the key; a password file that cannot be read is an error here.
Result<BasicAuthConfig> ParseBasicAuth(const YamlNode& node);

// The user and password an Authorization header carries; the password is wiped from
// memory when this goes away.
struct BasicCredentials {
  std::string username;
  std::string password;
  ~BasicCredentials();
};

// "Basic <base64(user:password)>" (the scheme in any case, RFC 7617) -> the credentials;
// nullopt for any other scheme, bad base64 or a decoded value without ':'.
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header);

}  // namespace failover
