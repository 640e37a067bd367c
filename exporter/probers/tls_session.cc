#include "exporter/probers/tls_session.h"

#include <openssl/x509.h>

#include <ctime>

namespace failover {
namespace {

std::optional<double> NotAfter(const X509* cert) {
  const ASN1_TIME* t = X509_get0_notAfter(cert);
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return static_cast<double>(timegm(&tm));
}

TlsSessionCache::Run* RunOf(const SSL* ssl) {
  return static_cast<TlsSessionCache::Run*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), TlsSessionCache::ExIndex()));
}

}  // namespace

int TlsSessionCache::ExIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

TlsSessionCache::~TlsSessionCache() { DropSession(); }

void TlsSessionCache::DropSession() {
  if (session_ != nullptr) SSL_SESSION_free(session_);
  session_ = nullptr;
}

void TlsSessionCache::Configure(CURL* h, Run& run, MonoTime now) {
  run.cache = this;
  run.offer = options_.resumption && session_ != nullptr && has_full_ &&
              now - last_full_ < options_.full_handshake_every;
  if (!run.offer) DropSession();  // due for a full handshake (or resumption is off)
  curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, &TlsSessionCache::OnSslCtx);
  curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, &run);
}

std::optional<double> TlsSessionCache::Finish(const Run& run, MonoTime now) {
  if (run.handshake_done && !run.resumed) {
    has_full_ = true;
    last_full_ = now;
    expiry_ = run.first_expiry;
  }
  if (run.connections > 1) return run.last_expiry;
  if (!run.handshake_done) return std::nullopt;
  return run.resumed ? expiry_ : run.first_expiry;
}

// libcurl (7.x) makes an SSL_CTX per connection and hands it here before the SSL object.
CURLcode TlsSessionCache::OnSslCtx(CURL*, void* ssl_ctx, void* user) {
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  auto* run = static_cast<Run*>(user);
  ++run->connections;
  SSL_CTX_set_ex_data(ctx, ExIndex(), run);
  SSL_CTX_set_cert_verify_callback(ctx, &TlsSessionCache::VerifyCert, run);
  SSL_CTX_set_info_callback(ctx, &TlsSessionCache::OnInfo);
  if (run->cache->options_.resumption && run->connections == 1) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    SSL_CTX_sess_set_new_cb(ctx, &TlsSessionCache::OnNewSession);
  }
  return CURLE_OK;
}

// OpenSSL's own verification, unchanged; on the way, the earliest notAfter of the chain
// the peer presented (the leaf and what it sent with it, as CURLOPT_CERTINFO lists them).
int TlsSessionCache::VerifyCert(X509_STORE_CTX* store, void* arg) {
  auto* run = static_cast<Run*>(arg);
  std::optional<double> earliest;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(store);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    auto t = NotAfter(sk_X509_value(chain, i));
    if (t && (!earliest || *t < *earliest)) earliest = t;
  }
  if (X509* leaf = X509_STORE_CTX_get0_cert(store)) {
    auto t = NotAfter(leaf);
    if (t && (!earliest || *t < *earliest)) earliest = t;
  }
  if (run->connections == 1) run->first_expiry = earliest;
  run->last_expiry = earliest;
  return X509_verify_cert(store);
}

void TlsSessionCache::OnInfo(const SSL* ssl, int where, int) {
  Run* run = RunOf(ssl);
  if (run == nullptr || run->connections != 1) return;
  if ((where & SSL_CB_HANDSHAKE_START) != 0 && !run->handshake_done && run->offer &&
      run->cache->session_ != nullptr) {
    // Before the ClientHello is built: offer the kept session.
    SSL_set_session(const_cast<SSL*>(ssl), run->cache->session_);
    run->offer = false;  // once
  }
  if ((where & SSL_CB_HANDSHAKE_DONE) != 0 && !run->handshake_done) {
    run->handshake_done = true;
    run->resumed = SSL_session_reused(const_cast<SSL*>(ssl)) == 1;
  }
}

// A session (or TLS 1.3 ticket) the server issued on the first connection: keep the newest.
int TlsSessionCache::OnNewSession(SSL* ssl, SSL_SESSION* session) {
  Run* run = RunOf(ssl);
  if (run == nullptr || run->connections != 1) return 0;
  TlsSessionCache* cache = run->cache;
  cache->DropSession();
  cache->session_ = session;  // returning 1 hands us the reference
  return 1;
}

}  // namespace failover
