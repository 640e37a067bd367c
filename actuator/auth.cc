#include "actuator/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/encoding.h"

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
  if (header.rfind("Basic ", 0) != 0) return AuthResult::kWrong;
  std::string decoded = Base64Decode(header.substr(6));
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return AuthResult::kWrong;
  auto pw = auth.basic_password->Resolve();
  if (!pw) return AuthResult::kError;
  bool user_ok = ConstantTimeEquals(decoded.substr(0, colon), auth.basic_username);
  bool pw_ok = ConstantTimeEquals(decoded.substr(colon + 1), *pw);
  return user_ok && pw_ok ? AuthResult::kOk : AuthResult::kWrong;
}

}  // namespace failover
