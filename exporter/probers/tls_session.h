// What an https probe keeps between its runs, for libcurl's OpenSSL backend: the TLS
// session to resume, when the last full handshake was, and the certificate expiry it read.
//
// - The certificate's expiry is read while OpenSSL verifies the chain the peer presented
//   (SSL_CTX_set_cert_verify_callback; the verification itself is OpenSSL's, unchanged),
//   instead of CURLOPT_CERTINFO, which prints every certificate as text on every run.
// - With resumption on, a run offers the session of the previous run (TLS 1.3 PSK or a
//   TLS 1.2 ticket/session id): the server skips sending and the client skips verifying
//   the certificate. A full handshake, which verifies the chain and reads the expiry
//   again, still happens at least every `full_handshake_every` (default 1m): a run that
//   finds the last full handshake older than that offers no session. A resumed run
//   exports the expiry read by the last full handshake. Only the first TLS connection of
//   a run (to the probe's own URL) offers or stores a session, never a redirect's.
// - libcurl's own session cache is off for every probe (CURLOPT_SSL_SESSIONID_CACHE):
//   its handles are pooled across probes, so it would resume sessions of one probe's
//   target for any other probe of the same host and port, without a bound.
//
// Everything here runs on the exporter's loop thread.
#pragma once

#include <curl/curl.h>
#include <openssl/ssl.h>

#include <optional>

#include "common/clock.h"
#include "common/duration.h"

namespace failover {

class TlsSessionCache {
 public:
  struct Options {
    bool resumption = false;
    Duration full_handshake_every = std::chrono::minutes(1);
    bool operator==(const Options&) const = default;
  };

  // What one run saw; lives as long as the run's transfer.
  struct Run {
    TlsSessionCache* cache = nullptr;
    bool offer = false;                  // this run may offer the kept session
    int connections = 0;                 // TLS connections of this run so far
    bool handshake_done = false;         // the first connection's handshake completed
    bool resumed = false;                // ... and the server accepted the session
    std::optional<double> first_expiry;  // earliest notAfter the first connection's peer sent
    std::optional<double> last_expiry;   // ... the last connection's (a redirect's)
  };

  explicit TlsSessionCache(Options options) : options_(options) {}
  ~TlsSessionCache();
  TlsSessionCache(const TlsSessionCache&) = delete;
  TlsSessionCache& operator=(const TlsSessionCache&) = delete;

  // Sets the handle's TLS callbacks for one run (`run` must outlive the transfer).
  void Configure(CURL* h, Run& run, MonoTime now);
  // After the transfer: the certificate expiry to export (the one this run's full
  // handshake read, or for a resumed run the last full handshake's; after a redirect, the
  // last connection's, as libcurl's certificate info gave it), or nullopt.
  std::optional<double> Finish(const Run& run, MonoTime now);

  const Options& options() const { return options_; }
  static int ExIndex();  // of the SSL_CTX ex_data slot that points at the run

 private:
  static CURLcode OnSslCtx(CURL* h, void* ssl_ctx, void* user);
  static int VerifyCert(X509_STORE_CTX* store, void* arg);
  static void OnInfo(const SSL* ssl, int where, int ret);
  static int OnNewSession(SSL* ssl, SSL_SESSION* session);
  void DropSession();

  Options options_;
  SSL_SESSION* session_ = nullptr;
  MonoTime last_full_{};
  bool has_full_ = false;
  std::optional<double> expiry_;  // read by the last full handshake
};

}  // namespace failover
