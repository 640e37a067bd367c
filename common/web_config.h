// The --web.config.file of both daemons, in the Prometheus exporter-toolkit format
// (tls_server_config, http_server_config, basic_auth_users), the --web.* listener flags,
// and the basic-auth check with its bcrypt cache. Applied by common/http_server.cc.
// See docs/security.md.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/duration.h"
#include "common/result.h"
#include "common/yaml.h"

namespace failover {

class Flags;

enum class ClientAuthType {
  kNoClientCert,
  kRequestClientCert,           // asked for, not verified, not required
  kRequireAnyClientCert,        // required, not verified
  kVerifyClientCertIfGiven,     // verified against client_ca_file when sent
  kRequireAndVerifyClientCert,  // required and verified against client_ca_file
};

enum class TlsVersion { kTls10, kTls11, kTls12, kTls13 };

struct TlsServerConfig {
  std::string cert_file;  // PEM; may hold the chain after the leaf
  std::string key_file;
  ClientAuthType client_auth = ClientAuthType::kNoClientCert;
  std::string client_ca_file;
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;

  // True when a reload can apply `other` to a running listener (only the certificate and
  // key paths may differ; those files are read again at every handshake anyway).
  bool SameListenerSettings(const TlsServerConfig& other) const;
};

struct WebConfig {
  std::optional<TlsServerConfig> tls;
  // http_server_config.headers, added to every response.
  std::vector<std::pair<std::string, std::string>> headers;
  // user -> bcrypt hash ($2a$, $2b$ or $2y$). Empty: no basic auth.
  std::map<std::string, std::string> basic_auth_users;
};

// Parses a web config; every error names file:line:column and the key. An empty file is
// a valid config that changes nothing.
Result<WebConfig> ParseWebConfig(const YamlNode& root);
Result<WebConfig> LoadWebConfigFile(const std::string& path);

// Verifies basic-auth credentials against bcrypt hashes (libcrypt). A successful check is
// remembered under a SHA-256 of user, password and hash, so a scraper that sends the same
// credentials every 15 s costs one bcrypt, not one per scrape; failures are never cached
// (each guess costs a bcrypt). Unknown users cost a bcrypt too (no timing oracle for
// user names). Thread-safe.
class BasicAuthVerifier {
 public:
  explicit BasicAuthVerifier(std::map<std::string, std::string> users);

  bool enabled() const { return !users_.empty(); }
  // Checks an Authorization header value ("Basic base64(user:password)").
  bool CheckHeader(const std::string& authorization);
  bool Verify(const std::string& user, const std::string& password);
  // How many bcrypt computations ran (for tests of the cache).
  std::uint64_t bcrypt_runs() const;

  static constexpr size_t kCacheLimit = 256;

 private:
  std::map<std::string, std::string> users_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> cache_;  // SHA-256 digests of verified credentials
  std::uint64_t bcrypt_runs_ = 0;
};

// True when `password` hashes to the bcrypt `hash` (compared in constant time).
bool BcryptMatches(const std::string& password, const std::string& hash);
// A bcrypt hash of `password` with the given cost ($2b$), for tests and tooling.
Result<std::string> BcryptHash(const std::string& password, int cost);

// Listener settings both daemons take from the command line.
struct WebOptions {
  std::string config_file;  // --web.config.file; "" = plain HTTP, no auth
  int max_connections = 0;  // 0 = the daemon's default
  Duration request_timeout = std::chrono::seconds(10);
  size_t max_header_bytes = 16 << 10;
  // --web.listen-address given more than once: the addresses after the first.
  std::vector<std::string> more_listen_addresses;
  // --web.systemd-socket: the listening sockets systemd passed (sd_listen_fds(3):
  // LISTEN_PID, LISTEN_FDS, descriptors from 3), served instead of --web.listen-address.
  std::vector<int> listen_fds;
};

// The --web.* flags shared by both daemons: register them, then Parse() after
// Flags::Parse.
struct WebFlags {
  std::string config_file;
  std::string max_connections;
  std::string request_timeout = "10s";
  std::string max_header_bytes = "16384";
  bool systemd_socket = false;

  void Register(Flags& flags, int default_max_connections);
  // With --web.systemd-socket, also takes the sockets systemd passed (SystemdListenFds).
  Result<WebOptions> Parse() const;
};

// The listening sockets systemd passed to this process (LISTEN_PID, LISTEN_FDS), with the
// variables removed from the environment; an error names what is missing or wrong.
Result<std::vector<int>> SystemdListenFds();

}  // namespace failover
