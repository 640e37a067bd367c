#include "common/basic_auth.h"

#include <openssl/crypto.h>
#include <strings.h>

#include "common/encoding.h"

namespace failover {

Result<BasicAuthConfig> ParseBasicAuth(const YamlNode& node) {
  if (auto s = node.ExpectMap(); !s) return s.error();
  auto user = node.Require("username");
  if (!user) return user.error();
  auto u = user->AsString();
  if (!u) return u.error();
  auto pw = SecretRef::FromYaml(node, "password");
  if (!pw) return pw.error();
  // Every key is read: a misspelt password key is named before "needs password".
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  if (!*pw) return node.Fail("basic_auth needs password, password_file or password_env");
  return BasicAuthConfig{*u, **pw};
}

BasicCredentials::~BasicCredentials() { OPENSSL_cleanse(password.data(), password.size()); }

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header) {
  if (header.size() < 6 || strncasecmp(header.data(), "Basic ", 6) != 0) return std::nullopt;
  std::string decoded = Base64Decode(header.substr(6));
  size_t colon = decoded.find(':');
  std::optional<BasicCredentials> out;
  if (colon != std::string::npos) {
    out.emplace();
    out->username = decoded.substr(0, colon);
    out->password = decoded.substr(colon + 1);
  }
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return out;
}

}  // namespace failover
