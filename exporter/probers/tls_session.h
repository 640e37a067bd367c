// What an https probe keeps for its TLS connections (exporter/probers/http.cc): one
// OpenSSL client context per set of TLS options, shared by every probe with those options,
// and per probe the session to resume, when the last full handshake was, and the
// certificate expiry it read.
//
// - Every full handshake verifies the chain with OpenSSL (the context's CA file or the
//   system's CAs, and the host name or server_name), and the expiry exported is the
//   earliest notAfter of the chain the server presented (the leaf and what it sent with it).
// - With resumption on, a run offers the session its previous run was given (a TLS 1.3
//   ticket, or a TLS 1.2 ticket or session id): the server skips sending the certificate
//   and the client skips verifying it. A full handshake, which verifies the chain and
//   reads the expiry again, still happens at least every `full_handshake_every` (default
//   1m): a run that finds the last full handshake older than that offers no session. A
//   resumed run exports the expiry the last full handshake read. Only the first connection
//   of a run (to the probe's own URL) offers or keeps a session, never a redirect's.
// - Sessions are the probe's own: nothing is shared between probes, even of one host.
//
// A probe's sessions are used on the exporter's loop thread only.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>

#include "common/clock.h"
#include "common/duration.h"
#include "common/http_client.h"
#include "common/result.h"

namespace failover {

// The client context for `opts`: made (CA and client certificate files loaded) on first
// use, then shared while any probe holds it. A changed CA or certificate file (another
// size, time or inode) gets a context of its own, so a reload reads it again.
Result<std::shared_ptr<SSL_CTX>> SharedClientSslCtx(const TlsClientOptions& opts);

// The earliest notAfter of the chain the peer presented on `ssl` (as a Unix time).
std::optional<double> PeerChainExpiry(const SSL* ssl);

class TlsSessionCache {
 public:
  struct Options {
    bool resumption = false;
    Duration full_handshake_every = std::chrono::minutes(1);
    bool operator==(const Options&) const = default;
  };

  explicit TlsSessionCache(Options options) : options_(options) {}
  ~TlsSessionCache() { DropSession(); }
  TlsSessionCache(const TlsSessionCache&) = delete;
  TlsSessionCache& operator=(const TlsSessionCache&) = delete;

  // The session a run's first connection offers, or null: resumption is off, there is
  // none yet, or a full handshake is due (the kept session is dropped then).
  SSL_SESSION* SessionToOffer(MonoTime now);
  // After the first connection's handshake: the expiry to export for it. A full handshake
  // records its time and the expiry it read; a resumed one gives the last full one's.
  std::optional<double> Handshook(const SSL* ssl, MonoTime now);
  // After the first connection's answer: keeps the newest session the server gave on it
  // (a TLS 1.3 ticket comes after the handshake) for the next run, when resumption is on.
  void Keep(SSL* ssl);

  const Options& options() const { return options_; }

 private:
  void DropSession();

  Options options_;
  SSL_SESSION* session_ = nullptr;
  MonoTime last_full_{};
  bool has_full_ = false;
  std::optional<double> expiry_;  // read by the last full handshake
};

}  // namespace failover
