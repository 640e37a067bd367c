#include "exporter/probers/tls_session.h"

#include <openssl/x509.h>
#include <sys/stat.h>

#include <ctime>
#include <map>
#include <mutex>
#include <string>

#include "exporter/probers/stream_conn.h"

namespace failover {
namespace {

std::optional<double> NotAfter(const X509* cert) {
  const ASN1_TIME* t = X509_get0_notAfter(cert);
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return static_cast<double>(timegm(&tm));
}

// A file's identity for the context cache: a file replaced or rewritten gets a new key.
std::string FileKey(const std::string& path) {
  if (path.empty()) return "-";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path + "|missing";
  return path + "|" + std::to_string(st.st_ino) + "|" + std::to_string(st.st_size) + "|" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

Result<std::shared_ptr<SSL_CTX>> SharedClientSslCtx(const TlsClientOptions& opts) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<SSL_CTX>> contexts;
  std::string key = FileKey(opts.ca_file) + "\n" + FileKey(opts.cert_file) + "\n" +
                    FileKey(opts.key_file) + "\n" + (opts.insecure_skip_verify ? "1" : "0");
  std::lock_guard<std::mutex> lock(mu);
  for (auto it = contexts.begin(); it != contexts.end();) {
    it = it->second.expired() ? contexts.erase(it) : std::next(it);
  }
  if (auto found = contexts.find(key); found != contexts.end()) {
    if (auto ctx = found->second.lock()) return ctx;
  }
  auto ctx = NewClientSslCtx(opts);
  if (!ctx) return ctx.error();
  // A body that ends when the server closes may end without TLS's close_notify.
  SSL_CTX_set_options(ctx->get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  contexts[key] = *ctx;
  return *ctx;
}

std::optional<double> PeerChainExpiry(const SSL* ssl) {
  std::optional<double> earliest;
  auto consider = [&](const X509* cert) {
    auto t = cert != nullptr ? NotAfter(cert) : std::nullopt;
    if (t && (!earliest || *t < *earliest)) earliest = t;
  };
  consider(SSL_get0_peer_certificate(ssl));
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    consider(sk_X509_value(chain, i));
  }
  return earliest;
}

void TlsSessionCache::DropSession() {
  if (session_ != nullptr) SSL_SESSION_free(session_);
  session_ = nullptr;
}

SSL_SESSION* TlsSessionCache::SessionToOffer(MonoTime now) {
  bool offer = options_.resumption && session_ != nullptr && has_full_ &&
               now - last_full_ < options_.full_handshake_every;
  if (!offer) DropSession();  // due for a full handshake (or resumption is off)
  return session_;
}

std::optional<double> TlsSessionCache::Handshook(const SSL* ssl, MonoTime now) {
  if (SSL_session_reused(const_cast<SSL*>(ssl)) == 1) return expiry_;
  has_full_ = true;
  last_full_ = now;
  expiry_ = PeerChainExpiry(ssl);
  return expiry_;
}

void TlsSessionCache::Keep(SSL* ssl) {
  if (!options_.resumption) return;
  // The connection is closed without a close_notify. OpenSSL takes a connection freed
  // without one for a failed one and marks its session not resumable; a quiet shutdown
  // (no alert sent) records that this one ended well.
  SSL_set_quiet_shutdown(ssl, 1);
  SSL_shutdown(ssl);
  SSL_SESSION* s = SSL_get1_session(ssl);
  if (s == nullptr) return;
  if (SSL_SESSION_is_resumable(s) != 1) {
    SSL_SESSION_free(s);
    return;
  }
  DropSession();
  session_ = s;
}

}  // namespace failover
