#include "common/web_config.h"

#include <crypt.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/basic_auth.h"
#include "common/flags.h"

namespace failover {
namespace {

// exporter-toolkit keys this implementation does not support: a clear refusal instead
// of a silent difference from what the operator configured.
constexpr std::string_view kUnsupportedTlsKeys[] = {"cert",
                                                    "key",
                                                    "client_ca",
                                                    "client_allowed_sans",
                                                    "cipher_suites",
                                                    "prefer_server_cipher_suites",
                                                    "curve_preferences"};

Result<TlsVersion> ParseVersion(const YamlNode& n) {
  auto s = n.AsString();
  if (!s) return s.error();
  if (*s == "TLS10") return TlsVersion::kTls10;
  if (*s == "TLS11") return TlsVersion::kTls11;
  if (*s == "TLS12") return TlsVersion::kTls12;
  if (*s == "TLS13") return TlsVersion::kTls13;
  return n.Fail("unknown TLS version \"" + *s + "\" (TLS10, TLS11, TLS12 or TLS13)");
}

Result<TlsServerConfig> ParseTls(const YamlNode& n) {
  if (auto s = n.ExpectMap(); !s) return s.error();
  auto entries = n.Entries();
  if (!entries) return entries.error();
  for (const auto& [k, v] : *entries) {
    for (auto u : kUnsupportedTlsKeys) {
      if (k == u) {
        return v.Fail("\"" + k +
                      "\" is not supported by failover (use cert_file, key_file and "
                      "client_ca_file)");
      }
    }
  }
  TlsServerConfig tls;
  auto cert = n.Require("cert_file");
  if (!cert) return cert.error();
  auto key = n.Require("key_file");
  if (!key) return key.error();
  auto cert_s = cert->AsString();
  if (!cert_s) return cert_s.error();
  auto key_s = key->AsString();
  if (!key_s) return key_s.error();
  tls.cert_file = *cert_s;
  tls.key_file = *key_s;
  if (auto c = n.Get("client_auth_type")) {
    auto s = c->AsString();
    if (!s) return s.error();
    if (*s == "NoClientCert") {
      tls.client_auth = ClientAuthType::kNoClientCert;
    } else if (*s == "RequestClientCert") {
      tls.client_auth = ClientAuthType::kRequestClientCert;
    } else if (*s == "RequireAnyClientCert" || *s == "RequireClientCert") {
      tls.client_auth = ClientAuthType::kRequireAnyClientCert;
    } else if (*s == "VerifyClientCertIfGiven") {
      tls.client_auth = ClientAuthType::kVerifyClientCertIfGiven;
    } else if (*s == "RequireAndVerifyClientCert") {
      tls.client_auth = ClientAuthType::kRequireAndVerifyClientCert;
    } else {
      return c->Fail("unknown client_auth_type \"" + *s +
                     "\" (NoClientCert, RequestClientCert, RequireAnyClientCert, "
                     "VerifyClientCertIfGiven or RequireAndVerifyClientCert)");
    }
  }
  if (auto c = n.Get("client_ca_file")) {
    auto s = c->AsString();
    if (!s) return s.error();
    tls.client_ca_file = *s;
    if (tls.client_auth == ClientAuthType::kNoClientCert) {
      return c->Fail(
          "client_ca_file is set but client_auth_type is NoClientCert (set client_auth_type: "
          "RequireAndVerifyClientCert)");
    }
  }
  if ((tls.client_auth == ClientAuthType::kVerifyClientCertIfGiven ||
       tls.client_auth == ClientAuthType::kRequireAndVerifyClientCert) &&
      tls.client_ca_file.empty()) {
    return n.Fail("client_auth_type verifies client certificates: set client_ca_file");
  }
  if (auto v = n.Get("min_version")) {
    auto r = ParseVersion(*v);
    if (!r) return r.error();
    tls.min_version = *r;
  }
  if (auto v = n.Get("max_version")) {
    auto r = ParseVersion(*v);
    if (!r) return r.error();
    tls.max_version = *r;
    if (tls.max_version < tls.min_version) return v->Fail("max_version is below min_version");
  }
  if (auto s = n.RejectUnreadKeys(); !s) return s.error();
  return tls;
}

bool IsBcrypt(const std::string& h) {
  return h.size() == 60 &&
         (h.rfind("$2a$", 0) == 0 || h.rfind("$2b$", 0) == 0 || h.rfind("$2y$", 0) == 0);
}

std::string CacheKey(const std::string& user, const std::string& password,
                     const std::string& hash) {
  std::string material = user;
  material.push_back('\0');
  material += password;
  material.push_back('\0');
  material += hash;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(material.data(), material.size(), digest, &len, EVP_sha256(), nullptr);
  OPENSSL_cleanse(material.data(), material.size());
  return std::string(reinterpret_cast<char*>(digest), len);
}

}  // namespace

bool TlsServerConfig::SameListenerSettings(const TlsServerConfig& o) const {
  return client_auth == o.client_auth && client_ca_file == o.client_ca_file &&
         min_version == o.min_version && max_version == o.max_version;
}

Result<WebConfig> ParseWebConfig(const YamlNode& root) {
  WebConfig cfg;
  if (root.IsNull()) return cfg;
  if (auto s = root.ExpectMap(); !s) return s.error();
  const std::optional<YamlNode> tls_server = root.Get("tls_server_config");
  const std::optional<YamlNode> http_server = root.Get("http_server_config");
  const std::optional<YamlNode> users = root.Get("basic_auth_users");
  if (auto s = root.RejectUnreadKeys(); !s) {
    // exporter-toolkit's rate_limit gets its own message (asked only now, so that it is
    // not named among the known keys).
    if (root.HasKey("rate_limit")) {
      auto rl = root.Get("rate_limit");
      return (rl ? *rl : root).Fail("\"rate_limit\" is not supported by failover");
    }
    return s.error();
  }
  if (auto t = tls_server) {
    auto tls = ParseTls(*t);
    if (!tls) return tls.error();
    cfg.tls = std::move(*tls);
  }
  if (auto h = http_server) {
    if (auto s = h->ExpectMap(); !s) return s.error();
    if (auto v = h->Get("http2")) {
      // HTTP/2 is not served (common/http_server.cc speaks HTTP/1.1); the key is accepted
      // so exporter-toolkit files load unchanged.
      if (auto b = v->AsBool(); !b) return b.error();
    }
    if (auto hd = h->Get("headers")) {
      auto entries = hd->Entries();
      if (!entries) return entries.error();
      for (const auto& [name, value] : *entries) {
        if (name.empty() || name.find_first_of(" \t\r\n:") != std::string::npos) {
          return value.Fail("invalid header name \"" + name + "\"");
        }
        if (name == "Authorization" || name == "Content-Type" || name == "Content-Length" ||
            name == "WWW-Authenticate") {
          return value.Fail("header \"" + name + "\" cannot be set here");
        }
        auto s = value.AsString();
        if (!s) return s.error();
        if (s->find_first_of("\r\n") != std::string::npos) {
          return value.Fail("header value must be one line");
        }
        if (!s->empty()) cfg.headers.emplace_back(name, *s);  // blank: unset
      }
    }
    if (auto s = h->RejectUnreadKeys(); !s) return s.error();
  }
  if (auto u = users) {
    auto entries = u->Entries();
    if (!entries) return entries.error();
    for (const auto& [user, hash] : *entries) {
      if (user.find(':') != std::string::npos) {
        return hash.Fail("user name \"" + user + "\" must not contain ':'");
      }
      auto s = hash.AsString();
      if (!s) return s.error();
      // The hash itself stays out of the message: it is a secret.
      if (!IsBcrypt(*s)) {
        return hash.Fail("the password of \"" + user +
                         "\" must be a bcrypt hash ($2y$... or $2b$..., 60 characters; "
                         "htpasswd -nBC 10 \"\" | tr -d ':\\n')");
      }
      cfg.basic_auth_users[user] = *s;
    }
  }
  return cfg;
}

Result<WebConfig> LoadWebConfigFile(const std::string& path) {
  auto root = YamlNode::LoadFile(path);
  if (!root) return root.error();
  return ParseWebConfig(*root);
}

bool BcryptMatches(const std::string& password, const std::string& hash) {
  if (!IsBcrypt(hash)) return false;
  crypt_data data;
  std::memset(&data, 0, sizeof data);
  const char* out = crypt_rn(password.c_str(), hash.c_str(), &data, sizeof data);
  bool ok = out != nullptr && out[0] != '*' && std::strlen(out) == hash.size() &&
            CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(&data, sizeof data);
  return ok;
}

Result<std::string> BcryptHash(const std::string& password, int cost) {
  unsigned char rnd[16];
  if (RAND_bytes(rnd, sizeof rnd) != 1) return Error::Internal("no random bytes for a salt");
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), reinterpret_cast<char*>(rnd),
                       sizeof rnd, setting, sizeof setting) == nullptr) {
    return Error::Internal("crypt_gensalt_rn failed");
  }
  crypt_data data;
  std::memset(&data, 0, sizeof data);
  const char* out = crypt_rn(password.c_str(), setting, &data, sizeof data);
  if (out == nullptr || out[0] == '*') return Error::Internal("bcrypt failed");
  return std::string(out);
}

BasicAuthVerifier::BasicAuthVerifier(std::map<std::string, std::string> users)
    : users_(std::move(users)) {}

bool BasicAuthVerifier::CheckHeader(const std::string& authorization) {
  auto given = ParseBasicAuthorization(authorization);
  return given && Verify(given->username, given->password);
}

bool BasicAuthVerifier::Verify(const std::string& user, const std::string& password) {
  if (users_.empty()) return false;
  auto it = users_.find(user);
  // An unknown user is checked against another user's hash (and refused whatever the
  // result), so that it costs a bcrypt like a known one.
  const std::string& hash = it != users_.end() ? it->second : users_.begin()->second;
  std::string key = CacheKey(user, password, hash);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (it != users_.end() && cache_.count(key) > 0) return true;
    ++bcrypt_runs_;
  }
  // bcrypt outside the lock: a slow check does not hold up other requests.
  bool ok = BcryptMatches(password, hash) && it != users_.end();
  if (ok) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() >= kCacheLimit) cache_.clear();
    cache_.insert(key);
  }
  return ok;
}

std::uint64_t BasicAuthVerifier::bcrypt_runs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bcrypt_runs_;
}

void WebFlags::Register(Flags& flags, int default_max_connections) {
  max_connections = std::to_string(default_max_connections);
  flags.String("web.config.file", &config_file,
               "Web config (exporter-toolkit format): TLS, client certificates, basic auth, "
               "response headers. See docs/security.md.");
  flags.String("web.max-connections", &max_connections,
               "Worker threads: requests handled at once. Requests still being received "
               "hold none; complete ones wait in a queue for a worker.");
  flags.String("web.request-timeout", &request_timeout,
               "Time a client has to send a whole request (TLS handshake, line, headers, "
               "body) and to take the answer; slower clients are disconnected.");
  flags.String("web.max-header-bytes", &max_header_bytes,
               "Largest request line plus headers; larger requests are refused.");
  flags.Bool("web.systemd-socket", &systemd_socket,
             "Serve the sockets systemd passes (a .socket unit) instead of "
             "--web.listen-address.");
}

Result<std::vector<int>> SystemdListenFds() {
  // sd_listen_fds(3) by hand: the sockets are descriptors 3..3+LISTEN_FDS-1 when
  // LISTEN_PID is this process. The variables are removed so children do not see them.
  const char* pid = std::getenv("LISTEN_PID");
  const char* n = std::getenv("LISTEN_FDS");
  if (pid == nullptr || n == nullptr) {
    return Error::Invalid(
        "flag --web.systemd-socket: systemd passed no sockets (LISTEN_PID and LISTEN_FDS "
        "are not set); start the daemon through its .socket unit, or drop the flag");
  }
  if (std::string(pid) != std::to_string(getpid())) {
    return Error::Invalid("flag --web.systemd-socket: LISTEN_PID=" + std::string(pid) +
                          " names another process than this one (" + std::to_string(getpid()) +
                          ")");
  }
  char* end = nullptr;
  long count = std::strtol(n, &end, 10);
  if (end == n || *end != '\0' || count < 1 || count > 64) {
    return Error::Invalid("flag --web.systemd-socket: LISTEN_FDS=\"" + std::string(n) +
                          "\" is not a number of sockets from 1 to 64");
  }
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  std::vector<int> fds;
  for (int fd = 3; fd < 3 + count; ++fd) {
    int type = 0, listening = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
        (len = sizeof listening, getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len)) !=
            0 ||
        listening == 0) {
      return Error::Invalid("flag --web.systemd-socket: descriptor " + std::to_string(fd) +
                            " from systemd is not a listening stream socket "
                            "(ListenStream= in the .socket unit)");
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fds.push_back(fd);
  }
  return fds;
}

Result<WebOptions> WebFlags::Parse() const {
  WebOptions o;
  o.config_file = config_file;
  auto number = [](const std::string& flag, const std::string& v, long long lo,
                   long long hi) -> Result<long long> {
    long long n = -1;
    try {
      size_t pos = 0;
      n = std::stoll(v, &pos);
      if (pos != v.size()) n = -1;
    } catch (const std::exception&) {
    }
    if (n < lo || n > hi) {
      return Error::Invalid("flag --" + flag + ": expected a number from " + std::to_string(lo) +
                            " to " + std::to_string(hi) + ", not \"" + v + "\"");
    }
    return n;
  };
  auto mc = number("web.max-connections", max_connections, 1, 1024);
  if (!mc) return mc.error();
  o.max_connections = static_cast<int>(*mc);
  auto hb = number("web.max-header-bytes", max_header_bytes, 1024, 1 << 20);
  if (!hb) return hb.error();
  o.max_header_bytes = static_cast<size_t>(*hb);
  auto rt = ParseDuration(request_timeout);
  if (!rt || *rt < std::chrono::milliseconds(100)) {
    return Error::Invalid(
        "flag --web.request-timeout: expected a duration of at least 100ms, not \"" +
        request_timeout + "\"");
  }
  o.request_timeout = *rt;
  if (systemd_socket) {
    auto fds = SystemdListenFds();
    if (!fds) return fds.error();
    o.listen_fds = std::move(*fds);
  }
  return o;
}

}  // namespace failover
