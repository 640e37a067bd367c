#include "actuator/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/basic_auth.h"

namespace failover {

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

AuthResult CheckAuth(const AuthConfig& auth, const std::string& header) {
  if (!auth.configured()) return AuthResult::kOk;
  if (header.empty()) return AuthResult::kMissing;
  if (auth.bearer_token) {
    if (header.rfind("Bearer ", 0) != 0) return AuthResult::kWrong;
    auto token = auth.bearer_token->Resolve();
    if (!token) return AuthResult::kError;
    return ConstantTimeEquals(header.substr(7), *token) ? AuthResult::kOk : AuthResult::kWrong;
  }
  auto given = ParseBasicAuthorization(header);
  if (!given) return AuthResult::kWrong;
  auto pw = auth.basic_auth->password.Resolve();
  if (!pw) return AuthResult::kError;
  bool user_ok = ConstantTimeEquals(given->username, auth.basic_auth->username);
  bool pw_ok = ConstantTimeEquals(given->password, *pw);
  return user_ok && pw_ok ? AuthResult::kOk : AuthResult::kWrong;
}

Identity Identify(const ActuatorConfig& config, bool web_basic_auth,
                  const std::string& authorization) {
  Identity id;
  id.api = CheckAuth(config.api_auth, authorization);
  std::string basic_user;
  if (auto given = ParseBasicAuthorization(authorization)) basic_user = given->username;
  if (config.api_auth.configured() && id.api == AuthResult::kOk) {
    id.user = config.api_auth.bearer_token ? "api" : basic_user;
    id.role = Role::kOperator;
    return id;
  }
  if (web_basic_auth && !basic_user.empty()) {
    auto it = config.console_roles.find(basic_user);
    if (it == config.console_roles.end()) return id;  // not a console user (a scraper)
    id.user = basic_user;
    id.role = it->second == "operator" ? Role::kOperator : Role::kViewer;
    return id;
  }
  if (!config.api_auth.configured() && !web_basic_auth) {
    id.role = Role::kOperator;  // nothing configured: the API was always open
    return id;
  }
  return id;
}

}  // namespace failover
