// An Authorization header value for HTTP Basic authentication, for tests.
#pragma once

#include <openssl/evp.h>

#include <string>

namespace failover::testing {

// "<scheme> <base64(plain)>"; plain is "user:password" (or anything, to test refusals).
inline std::string BasicAuthorization(const std::string& plain,
                                      const std::string& scheme = "Basic") {
  std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(plain.data()),
                          static_cast<int>(plain.size()));
  out.resize(static_cast<size_t>(n));
  return scheme + " " + out;
}

// The Basic Authorization header value for `user` with `password`.
inline std::string Basic(const std::string& user, const std::string& password) {
  return BasicAuthorization(user + ":" + password);
}

}  // namespace failover::testing
