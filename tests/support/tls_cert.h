// A self-signed TLS certificate made at test time (OpenSSL, in-process): EC P-256 key,
// subject/SAN chosen by the test, and a notAfter the test can assert on exactly.
//
//   TempDir dir;
//   TlsCert cert(dir.path());                  // CN/SAN localhost + IP 127.0.0.1, 30 days
//   cert.cert_path();                          // <dir>/cert.pem (also usable as ca_file)
//   cert.not_after_unix();                     // what the expiry metric must say
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace failover::testing {

class TlsCert;

struct TlsCertOptions {
  std::string common_name = "localhost";
  std::vector<std::string> dns_names = {"localhost"};
  std::vector<std::string> ip_addresses = {"127.0.0.1"};
  // notAfter as a Unix timestamp; 0 means now + 30 days (whole seconds either way).
  std::int64_t not_after_unix = 0;
  // File names inside the directory (change them to keep two certificates in one dir).
  std::string cert_file = "cert.pem";
  std::string key_file = "key.pem";
  // extendedKeyUsage: "serverAuth" for servers, "clientAuth" for client certificates
  // (a CA that signs client certificates needs clientAuth too, or none restricts it).
  std::string ext_key_usage = "serverAuth";
  // Signed by this certificate's key (a CA made by TlsCert) instead of self-signed; the
  // result is a leaf (CA:FALSE).
  const TlsCert* issuer = nullptr;
};

class TlsCert {
 public:
  // Generates the key and certificate and writes both PEM files into `dir`.
  // Throws std::runtime_error when OpenSSL or the file system fails.
  explicit TlsCert(const std::string& dir, TlsCertOptions options = {});

  const std::string& cert_path() const { return cert_path_; }
  const std::string& key_path() const { return key_path_; }
  std::int64_t not_after_unix() const { return not_after_unix_; }
  const std::string& cert_pem() const { return cert_pem_; }

 private:
  std::string cert_path_;
  std::string key_path_;
  std::string cert_pem_;
  std::int64_t not_after_unix_ = 0;
};

}  // namespace failover::testing
