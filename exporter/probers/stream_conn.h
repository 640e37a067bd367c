// A client byte stream for probes that speak a protocol themselves (redis, tcp with
// query_response): host lookup off the loop, a non-blocking connect to each address in
// turn, TLS (from the start, or later for STARTTLS) with OpenSSL, buffered writes and reads.
// Driven from a DbRunSteps (exporter/probers/db_probe.h): every call either finishes its
// part (nullopt) or gives the Outcome to return from Step (a socket to wait for, or the
// failed run's result); Step calls it again when the socket is ready.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "common/yaml.h"
#include "exporter/probers/db_probe.h"

namespace failover {

// An OpenSSL client context from a probe's TLS options (CA file or the system's CAs,
// client certificate, verification off with insecure_skip_verify). Errors are located at
// `at`.
Result<std::shared_ptr<SSL_CTX>> NewClientSslCtx(const YamlNode& at, const TlsClientOptions& opts);
// The same, with errors that name no location (for a context made while probing).
Result<std::shared_ptr<SSL_CTX>> NewClientSslCtx(const TlsClientOptions& opts);

class StreamConn {
 public:
  using Outcome = DbRunSteps::Outcome;

  // `address`: host:port as configured (for messages); `host`, `port`: where to connect.
  StreamConn(std::string address, std::string host, int port)
      : address_(std::move(address)), host_(std::move(host)), port_(port) {}
  ~StreamConn() { Close(); }
  StreamConn(const StreamConn&) = delete;
  StreamConn& operator=(const StreamConn&) = delete;

  // Looks the host up and connects. Failures: resolve, connection_refused, connect_failed.
  std::optional<Outcome> Connect();
  // When the host's addresses were known (the lookup's end; Connect's start for an IP).
  MonoTime resolved_at() const { return resolved_at_; }
  // The TLS handshake on the connected socket, verifying the certificate against
  // opts.server_name (or the host) unless opts.insecure_skip_verify, and offering
  // `session` when not null. Failures: tls_verify, tls_handshake.
  std::optional<Outcome> Handshake(SSL_CTX* ctx, const TlsClientOptions& opts,
                                   SSL_SESSION* session = nullptr);
  // Queues bytes; Flush writes them all, then overwrites the buffer (it may hold a
  // password).
  void Queue(const std::string& bytes) { out_ += bytes; }
  std::optional<Outcome> Flush();
  // Reads what is there into in() (at least one byte), up to `limit` bytes in all.
  // Failures: connection_reset (also for the peer closing, unless `closed` is given: then
  // a clean close sets *closed and reads nothing), error (limit).
  std::optional<Outcome> ReadMore(size_t limit = 1024 * 1024, bool* closed = nullptr);
  std::string& in() { return in_; }
  bool tls() const { return ssl_ != nullptr; }
  SSL* ssl() const { return ssl_; }
  const std::string& address() const { return address_; }
  void Close();

 private:
  std::optional<Outcome> ConnectNext();
  ProbeResult ConnectFailure(int err) const;

  std::string address_, host_;
  int port_;
  enum class Phase { kBegin, kLookup, kConnecting, kConnected } phase_ = Phase::kBegin;
  std::shared_ptr<HostLookup> lookup_;
  std::vector<std::string> addresses_;
  MonoTime resolved_at_{};
  size_t next_address_ = 0;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  bool handshake_done_ = false;
  std::string out_;
  size_t sent_ = 0;
  std::string in_;
};

}  // namespace failover
