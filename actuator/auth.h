// Checks a request's Authorization header against a configured bearer token or basic
// auth, in constant time. Secrets are resolved per request (rotation without restart).
#pragma once

#include <string>

#include "actuator/config.h"

namespace failover {

enum class AuthResult { kOk, kMissing, kWrong, kError };

AuthResult CheckAuth(const AuthConfig& auth, const std::string& authorization_header);

// Console and API users (docs/actuator.md, "Users and roles").
enum class Role { kNone, kViewer, kOperator };

struct Identity {
  std::string user;  // "" for anonymous
  Role role = Role::kNone;
  AuthResult api = AuthResult::kMissing;  // the API credentials' check, for the 401 answer
};

// Who sends `authorization`: the `api` credentials (bearer token or basic auth) are an
// operator; a user of basic_auth_users of the web config (`web_basic_auth`: the listener
// has checked the password already) has the role console.users gives it (a user not
// listed there, e.g. the scraper's, has none); with no credentials configured at all, anyone is an
// anonymous operator (as the API always was). Otherwise kNone: the caller answers 401.
Identity Identify(const ActuatorConfig& config, bool web_basic_auth,
                  const std::string& authorization);

// Constant-time comparison (length leaks, content does not).
bool ConstantTimeEquals(const std::string& a, const std::string& b);

}  // namespace failover
