#include "actuator/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace failover {
namespace {

std::string Base64Decode(const std::string& in) {
  if (in.empty() || in.size() % 4 != 0 || in.size() > 4096) return "";
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return "";
  size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace

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
