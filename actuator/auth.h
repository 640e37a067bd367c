// Checks a request's Authorization header against a configured bearer token or basic
// auth, in constant time. Secrets are resolved per request (rotation without restart).
#pragma once

#include <string>

#include "actuator/config.h"

namespace failover {

enum class AuthResult { kOk, kMissing, kWrong, kError };

AuthResult CheckAuth(const AuthConfig& auth, const std::string& authorization_header);

// Constant-time comparison (length leaks, content does not).
bool ConstantTimeEquals(const std::string& a, const std::string& b);

}  // namespace failover
