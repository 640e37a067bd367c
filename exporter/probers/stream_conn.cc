#include "exporter/probers/stream_conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace failover {
namespace {

std::string OpensslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail" : out;
}

// A numeric address and port for connect().
bool ToSockaddr(const std::string& ip, int port, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
    return true;
  }
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
    return true;
  }
  return false;
}

}  // namespace

Result<std::shared_ptr<SSL_CTX>> NewClientSslCtx(const TlsClientOptions& opts) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), [](SSL_CTX* c) {
    if (c != nullptr) SSL_CTX_free(c);
  });
  if (!ctx) return Error::Invalid("cannot set up TLS: " + OpensslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (!opts.insecure_skip_verify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    int ok = opts.ca_file.empty()
                 ? SSL_CTX_set_default_verify_paths(ctx.get())
                 : SSL_CTX_load_verify_locations(ctx.get(), opts.ca_file.c_str(), nullptr);
    if (ok != 1) return Error::Invalid("cannot load CA certificates: " + OpensslErrors());
  }
  if (!opts.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), opts.cert_file.c_str()) != 1) {
      return Error::Invalid("cannot load cert_file " + opts.cert_file + ": " + OpensslErrors());
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), opts.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return Error::Invalid("cannot load key_file " + opts.key_file + ": " + OpensslErrors());
    }
  }
  return ctx;
}

Result<std::shared_ptr<SSL_CTX>> NewClientSslCtx(const YamlNode& at, const TlsClientOptions& opts) {
  auto ctx = NewClientSslCtx(opts);
  if (!ctx) return at.Fail(ctx.error().message);
  return ctx;
}

void StreamConn::Close() {
  lookup_.reset();
  if (ssl_ != nullptr) SSL_free(ssl_);
  ssl_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  std::fill(out_.begin(), out_.end(), '\0');
  out_.clear();
  sent_ = 0;
}

ProbeResult StreamConn::ConnectFailure(int err) const {
  return ProbeResult::Failure(err == ECONNREFUSED ? "connection_refused" : "connect_failed",
                              "connect to " + address_ + ": " + std::strerror(err));
}

std::optional<StreamConn::Outcome> StreamConn::Connect() {
  switch (phase_) {
    case Phase::kBegin:
      if (IsIpLiteral(host_)) {
        addresses_ = {host_};
        resolved_at_ = std::chrono::steady_clock::now();
        return ConnectNext();
      }
      phase_ = Phase::kLookup;
      lookup_ = HostLookup::Start(host_);
      [[fallthrough]];
    case Phase::kLookup: {
      if (!lookup_->finished()) return Outcome(SqlWait::On(lookup_->fd(), true, false));
      auto a = lookup_->addresses();
      lookup_.reset();
      if (!a) return Outcome(ProbeResult::Failure("resolve", address_ + ": " + a.error().message));
      addresses_ = std::move(*a);
      resolved_at_ = std::chrono::steady_clock::now();
      return ConnectNext();
    }
    case Phase::kConnecting: {
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0) {
        sockaddr_storage peer{};
        socklen_t plen = sizeof peer;
        if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) {
          return Outcome(SqlWait::On(fd_, false, true));  // not connected yet
        }
        phase_ = Phase::kConnected;
        return std::nullopt;
      }
      ::close(fd_);
      fd_ = -1;
      if (next_address_ < addresses_.size()) return ConnectNext();
      return Outcome(ConnectFailure(err));
    }
    case Phase::kConnected:
      return std::nullopt;
  }
  return Outcome(ProbeResult::Failure("error", "stream: unknown state (internal error)"));
}

std::optional<StreamConn::Outcome> StreamConn::ConnectNext() {
  phase_ = Phase::kConnecting;
  int last_err = EADDRNOTAVAIL;
  while (next_address_ < addresses_.size()) {
    const std::string& ip = addresses_[next_address_++];
    sockaddr_storage ss;
    socklen_t len = 0;
    if (!ToSockaddr(ip, port_, ss, len)) continue;
    fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      last_err = errno;
      continue;
    }
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
      phase_ = Phase::kConnected;
      return std::nullopt;
    }
    if (errno == EINPROGRESS) return Outcome(SqlWait::On(fd_, false, true));
    last_err = errno;
    ::close(fd_);
    fd_ = -1;
  }
  return Outcome(ConnectFailure(last_err));
}

std::optional<StreamConn::Outcome> StreamConn::Handshake(SSL_CTX* ctx, const TlsClientOptions& opts,
                                                         SSL_SESSION* session) {
  if (handshake_done_) return std::nullopt;
  if (ssl_ == nullptr) {
    ssl_ = SSL_new(ctx);
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) {
      return Outcome(ProbeResult::Failure("error", address_ + ": TLS setup: " + OpensslErrors()));
    }
    const std::string& name = opts.server_name.empty() ? host_ : opts.server_name;
    if (!opts.insecure_skip_verify) {
      if (IsIpLiteral(name)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());
      } else {
        SSL_set1_host(ssl_, name.c_str());
      }
    }
    if (!IsIpLiteral(name)) SSL_set_tlsext_host_name(ssl_, name.c_str());
    if (session != nullptr) SSL_set_session(ssl_, session);
    SSL_set_connect_state(ssl_);
  }
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    handshake_done_ = true;
    return std::nullopt;
  }
  int e = SSL_get_error(ssl_, rc);
  if (e == SSL_ERROR_WANT_READ) return Outcome(SqlWait::On(fd_, true, false));
  if (e == SSL_ERROR_WANT_WRITE) return Outcome(SqlWait::On(fd_, false, true));
  long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    return Outcome(ProbeResult::Failure(
        "tls_verify", address_ + ": certificate: " + X509_verify_cert_error_string(verify)));
  }
  return Outcome(
      ProbeResult::Failure("tls_handshake", address_ + ": TLS handshake: " + OpensslErrors()));
}

std::optional<StreamConn::Outcome> StreamConn::Flush() {
  while (sent_ < out_.size()) {
    ssize_t n;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      int rc = SSL_write(ssl_, out_.data() + sent_, static_cast<int>(out_.size() - sent_));
      if (rc <= 0) {
        int e = SSL_get_error(ssl_, rc);
        if (e == SSL_ERROR_WANT_READ) return Outcome(SqlWait::On(fd_, true, false));
        if (e == SSL_ERROR_WANT_WRITE) return Outcome(SqlWait::On(fd_, false, true));
        return Outcome(
            ProbeResult::Failure("connection_reset", address_ + ": TLS write: " + OpensslErrors()));
      }
      n = rc;
    } else {
      n = ::send(fd_, out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          return Outcome(SqlWait::On(fd_, false, true));
        }
        return Outcome(
            ProbeResult::Failure("connection_reset", address_ + ": send: " + std::strerror(errno)));
      }
    }
    sent_ += static_cast<size_t>(n);
  }
  std::fill(out_.begin(), out_.end(), '\0');
  out_.clear();
  sent_ = 0;
  return std::nullopt;
}

std::optional<StreamConn::Outcome> StreamConn::ReadMore(size_t limit, bool* closed) {
  char buf[16384];
  ssize_t n;
  if (ssl_ != nullptr) {
    ERR_clear_error();
    int rc = SSL_read(ssl_, buf, sizeof buf);
    if (rc <= 0) {
      int e = SSL_get_error(ssl_, rc);
      if (e == SSL_ERROR_WANT_READ) return Outcome(SqlWait::On(fd_, true, false));
      if (e == SSL_ERROR_WANT_WRITE) return Outcome(SqlWait::On(fd_, false, true));
      if (e == SSL_ERROR_ZERO_RETURN) {
        if (closed != nullptr) {
          *closed = true;
          return std::nullopt;
        }
        return Outcome(ProbeResult::Failure("connection_reset",
                                            address_ + ": the server closed the connection"));
      }
      return Outcome(
          ProbeResult::Failure("connection_reset", address_ + ": TLS read: " + OpensslErrors()));
    }
    n = rc;
  } else {
    n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Outcome(SqlWait::On(fd_, true, false));
      return Outcome(
          ProbeResult::Failure("connection_reset", address_ + ": recv: " + std::strerror(errno)));
    }
    if (n == 0) {
      if (closed != nullptr) {
        *closed = true;
        return std::nullopt;
      }
      return Outcome(ProbeResult::Failure("connection_reset",
                                          address_ + ": the server closed the connection"));
    }
  }
  if (in_.size() + static_cast<size_t>(n) > limit) {
    return Outcome(ProbeResult::Failure(
        "error", address_ + ": answer larger than " + std::to_string(limit) + " bytes"));
  }
  in_.append(buf, static_cast<size_t>(n));
  return std::nullopt;
}

}  // namespace failover
