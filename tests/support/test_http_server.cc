#include "tests/support/test_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tests/support/tls_cert.h"

namespace failover::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kListenTag = ~0ULL;
constexpr std::uint64_t kWakeTag = ~0ULL - 1;
constexpr size_t kMaxHeaderBytes = 64 << 10;
constexpr size_t kMaxBodyBytes = 4 << 20;

[[noreturn]] void Fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

// Bound (not listening) TCP socket on 127.0.0.1:0; returns the fd and the port.
std::pair<int, int> BindLoopback() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) Fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    Fail("bind 127.0.0.1:0");
  }
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    Fail("getsockname");
  }
  return {fd, ntohs(addr.sin_port)};
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string QueryParam(const std::string& query, const std::string& name) {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string part = query.substr(pos, amp - pos);
    size_t eq = part.find('=');
    std::string key = PercentDecode(part.substr(0, eq));
    if (key == name) return eq == std::string::npos ? "" : PercentDecode(part.substr(eq + 1));
    pos = amp + 1;
  }
  return "";
}

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 302:
      return "Found";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

struct Response {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // How the body's end is told: Content-Length, chunks of 3 bytes, or closing.
  enum class Framing { kLength, kChunked, kClose } framing = Framing::kLength;
};

}  // namespace

std::string RecordedRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

struct TestHttpServer::Impl {
  enum class State {
    kReading,   // reading the request (a TLS handshake included)
    kParked,    // /slow: waiting for wake_at
    kHanging,   // /hang: never answered
    kWriting,   // sending the response
    kDraining,  // response sent, our side shut down; waiting for the client's close
  };

  struct Conn {
    int fd = -1;
    SSL* ssl = nullptr;
    State state = State::kReading;
    std::string in;
    std::string out;
    size_t out_off = 0;
    bool sent_continue = false;
    bool ssl_wants_write = false;  // the last SSL_read needs the socket writable
    bool ssl_wants_read = false;   // the last SSL_write needs the socket readable
    uint32_t events = 0;           // what epoll watches now
    Clock::time_point wake_at;
    bool head = false;     // a HEAD request: the response has no body
    bool endless = false;  // /endless: the body never ends
    bool dead = false;     // to be closed once the current handler returns
  };

  int listen_fd = -1;
  int epfd = -1;
  int wakefd = -1;
  SSL_CTX* ctx = nullptr;
  std::thread thread;
  std::unordered_map<int, std::unique_ptr<Conn>> conns;  // loop thread only
  std::set<std::pair<Clock::time_point, int>> parked;    // loop thread only

  mutable std::mutex mu;
  std::map<std::string, int> counts;
  int total = 0;
  RecordedRequest last;
  std::string bearer;
  std::string basic;                // "Basic <base64>"
  std::string cert_file, key_file;  // SetCertificate: used for new connections
  std::atomic<int> open{0};
  std::atomic<int> accepted{0};

  ~Impl() {
    if (thread.joinable()) {
      std::uint64_t one = 1;
      ssize_t n = write(wakefd, &one, sizeof one);
      (void)n;
      thread.join();
    }
    for (auto& [fd, c] : conns) {
      if (c->ssl != nullptr) SSL_free(c->ssl);
      close(fd);
    }
    conns.clear();
    if (listen_fd >= 0) close(listen_fd);
    if (epfd >= 0) close(epfd);
    if (wakefd >= 0) close(wakefd);
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }

  void Loop() {
    epoll_event events[128];
    for (;;) {
      int timeout_ms = -1;
      if (!parked.empty()) {
        auto wait = parked.begin()->first - Clock::now();
        auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
        timeout_ms = ms < 0 ? 0 : static_cast<int>(std::min<long long>(ms, 60'000));
      }
      int n = epoll_wait(epfd, events, 128, timeout_ms);
      if (n < 0 && errno != EINTR) return;
      for (int i = 0; i < n; ++i) {
        std::uint64_t tag = events[i].data.u64;
        if (tag == kWakeTag) return;  // destructor
        if (tag == kListenTag) {
          Accept();
          continue;
        }
        auto it = conns.find(static_cast<int>(tag));
        if (it == conns.end()) continue;
        OnEvent(*it->second, events[i].events);
      }
      auto now = Clock::now();
      while (!parked.empty() && parked.begin()->first <= now) {
        int fd = parked.begin()->second;
        parked.erase(parked.begin());
        auto it = conns.find(fd);
        if (it == conns.end()) continue;
        Conn& c = *it->second;
        c.state = State::kReading;  // already removed from `parked`
        Respond(c, Response{200, "ok\n", {}});
        Settle(c);
      }
    }
  }

  void Accept() {
    for (;;) {
      int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or out of fds: try again on the next wake-up
      accepted++;
      open++;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      if (ctx != nullptr) {
        c->ssl = SSL_new(ctx);
        std::string cert, key;
        {
          std::lock_guard<std::mutex> lock(mu);
          cert = cert_file;
          key = key_file;
        }
        if (!cert.empty()) {
          SSL_use_certificate_chain_file(c->ssl, cert.c_str());
          SSL_use_PrivateKey_file(c->ssl, key.c_str(), SSL_FILETYPE_PEM);
        }
        SSL_set_fd(c->ssl, fd);
        SSL_set_accept_state(c->ssl);
      }
      Conn& ref = *c;
      conns.emplace(fd, std::move(c));
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = static_cast<std::uint64_t>(fd);
      epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
      ref.events = EPOLLIN;
    }
  }

  void Close(Conn& c) {
    int fd = c.fd;
    if (c.state == State::kParked) parked.erase({c.wake_at, fd});
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
    if (c.ssl != nullptr) SSL_free(c.ssl);
    close(fd);
    open--;
    conns.erase(fd);  // destroys c
  }

  void SetEvents(Conn& c, uint32_t events) {
    if (events == c.events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = static_cast<std::uint64_t>(c.fd);
    epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, &ev);
    c.events = events;
  }

  // Watches what the connection's state needs.
  void UpdateEvents(Conn& c) {
    switch (c.state) {
      case State::kReading: {
        uint32_t ev = EPOLLIN;
        if (c.ssl_wants_write || c.out_off < c.out.size()) ev |= EPOLLOUT;
        SetEvents(c, ev);
        break;
      }
      case State::kWriting: {
        uint32_t ev = EPOLLOUT;
        if (c.ssl_wants_read) ev |= EPOLLIN;
        SetEvents(c, ev);
        break;
      }
      case State::kParked:
      case State::kHanging:
        SetEvents(c, EPOLLRDHUP);  // only notice the client going away
        break;
      case State::kDraining:
        SetEvents(c, EPOLLIN);
        break;
    }
  }

  // Handles readiness of one connection; closes it if it is done with.
  void OnEvent(Conn& c, uint32_t ev) {
    switch (c.state) {
      case State::kParked:
      case State::kHanging:
        if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.dead = true;
        break;
      case State::kDraining:
        Drain(c);
        break;
      case State::kReading:
        Read(c);
        if (!c.dead && c.state == State::kReading) Write(c);  // a "100 Continue"
        break;
      case State::kWriting:
        Write(c);
        break;
    }
    Settle(c);
  }

  // After any progress: finish a sent response, close a dead connection, or watch what
  // the connection waits for.
  void Settle(Conn& c) {
    if (!c.dead && c.state == State::kWriting && c.out_off >= c.out.size()) Finish(c);
    if (c.dead) {
      Close(c);
      return;
    }
    UpdateEvents(c);
  }

  void Drain(Conn& c) {
    char buf[4096];
    for (;;) {
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) continue;
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      c.dead = true;  // EOF or error: the client is done
      return;
    }
  }

  // Reads what is there and handles a complete request.
  void Read(Conn& c) {
    char buf[16384];
    for (;;) {
      ssize_t n;
      if (c.ssl != nullptr) {
        ERR_clear_error();
        int r = SSL_read(c.ssl, buf, sizeof buf);
        c.ssl_wants_write = false;
        if (r <= 0) {
          int err = SSL_get_error(c.ssl, r);
          if (err == SSL_ERROR_WANT_READ) break;
          if (err == SSL_ERROR_WANT_WRITE) {
            c.ssl_wants_write = true;
            break;
          }
          ERR_clear_error();
          c.dead = true;  // handshake refused by the client, close_notify, reset...
          return;
        }
        n = r;
      } else {
        n = recv(c.fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        if (n <= 0) {
          c.dead = true;
          return;
        }
      }
      c.in.append(buf, static_cast<size_t>(n));
      if (c.in.size() > kMaxHeaderBytes + kMaxBodyBytes) break;
    }
    Parse(c);
  }

  void Parse(Conn& c) {
    size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (c.in.size() > kMaxHeaderBytes) Respond(c, Response{400, "headers too large\n", {}});
      return;
    }
    RecordedRequest req;
    size_t line_end = c.in.find("\r\n");
    std::string request_line = c.in.substr(0, line_end);
    size_t sp1 = request_line.find(' ');
    size_t sp2 = request_line.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1) {
      Respond(c, Response{400, "bad request line\n", {}});
      return;
    }
    req.method = request_line.substr(0, sp1);
    req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    size_t pos = line_end + 2;
    while (pos < end) {
      size_t eol = c.in.find("\r\n", pos);
      std::string line = c.in.substr(pos, eol - pos);
      pos = eol + 2;
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      req.headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
    }
    size_t content_length = 0;
    if (auto cl = req.Header("content-length"); !cl.empty()) {
      content_length = static_cast<size_t>(std::strtoull(cl.c_str(), nullptr, 10));
    }
    if (content_length > kMaxBodyBytes) {
      Respond(c, Response{400, "body too large\n", {}});
      return;
    }
    size_t body_start = end + 4;
    if (c.in.size() < body_start + content_length) {
      if (!c.sent_continue && Lower(req.Header("expect")) == "100-continue") {
        c.sent_continue = true;
        c.out = "HTTP/1.1 100 Continue\r\n\r\n";
        c.out_off = 0;
      }
      return;
    }
    req.body = c.in.substr(body_start, content_length);
    if (c.ssl != nullptr) {
      const char* sni = SSL_get_servername(c.ssl, TLSEXT_NAMETYPE_host_name);
      if (sni != nullptr) req.sni = sni;
      req.tls_resumed = SSL_session_reused(c.ssl) == 1;
    }
    c.head = req.method == "HEAD";
    Dispatch(c, std::move(req));
  }

  void Dispatch(Conn& c, RecordedRequest req) {
    std::string expected_bearer, expected_basic;
    {
      std::lock_guard<std::mutex> lock(mu);
      counts[req.path]++;
      total++;
      last = req;
      expected_bearer = bearer;
      expected_basic = basic;
    }
    const std::string& path = req.path;
    if (path == "/healthz") {
      Respond(c, Response{200, "ok\n", {}});
    } else if (path.rfind("/status/", 0) == 0) {
      int status = std::atoi(path.c_str() + 8);
      if (status < 200 || status > 599) {
        Respond(c, Response{400, "bad status\n", {}});
      } else if (status == 204 || status == 304) {
        Respond(c, Response{status, "", {}});
      } else {
        Respond(c, Response{status, "status " + std::to_string(status) + "\n", {}});
      }
    } else if (path == "/body") {
      Respond(c, Response{200, QueryParam(req.query, "text"), {}});
    } else if (path == "/chunked") {
      Respond(c, Response{200, QueryParam(req.query, "text"), {}, Response::Framing::kChunked});
    } else if (path == "/until-close") {
      Respond(c, Response{200, QueryParam(req.query, "text"), {}, Response::Framing::kClose});
    } else if (path == "/endless") {
      // No Content-Length: the body lasts until the connection closes, which it never does.
      c.endless = !c.head;
      c.out = c.out.substr(std::min(c.out_off, c.out.size())) +
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n";
      c.out_off = 0;
      c.state = State::kWriting;
      Write(c);
    } else if (path == "/slow") {
      long ms = std::atol(QueryParam(req.query, "ms").c_str());
      c.state = State::kParked;
      c.wake_at = Clock::now() + std::chrono::milliseconds(ms < 0 ? 0 : ms);
      parked.emplace(c.wake_at, c.fd);
    } else if (path == "/hang" || path.rfind("/hang/", 0) == 0) {
      c.state = State::kHanging;
    } else if (path == "/drop" || path.rfind("/drop/", 0) == 0) {
      c.dead = true;  // read the whole request, then close without a word
    } else if (path == "/redirect") {
      std::string to = QueryParam(req.query, "to");
      if (to.empty()) to = "/healthz";
      int status = std::atoi(QueryParam(req.query, "status").c_str());
      Respond(c, Response{status >= 300 && status < 400 ? status : 302,
                          "redirecting\n",
                          {{"Location", to}}});
    } else if (path == "/redirect-loop") {
      Respond(c, Response{302, "redirecting\n", {{"Location", "/redirect-loop"}}});
    } else if (path == "/auth") {
      std::string got = req.Header("authorization");
      bool ok = (!expected_bearer.empty() && got == "Bearer " + expected_bearer) ||
                (!expected_basic.empty() && got == expected_basic);
      if (ok) {
        Respond(c, Response{200, "authorized\n", {}});
      } else {
        Respond(c, Response{401, "unauthorized\n", {{"WWW-Authenticate", "Basic realm=\"test\""}}});
      }
    } else {
      Respond(c, Response{404, "not found\n", {}});
    }
  }

  // Queues the response and sends what the socket takes now; Settle() does the rest.
  void Respond(Conn& c, const Response& r) {
    if (c.state == State::kParked) parked.erase({c.wake_at, c.fd});
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + Reason(r.status) + "\r\n";
    head += "Content-Type: text/plain\r\n";
    std::string body = r.body;
    if (r.framing == Response::Framing::kLength) {
      head += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    } else if (r.framing == Response::Framing::kChunked) {
      head += "Transfer-Encoding: chunked\r\n";
      body.clear();
      for (size_t i = 0; i < r.body.size(); i += 3) {
        std::string piece = r.body.substr(i, 3);
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
        body += size + piece + "\r\n";
      }
      body += "0\r\n\r\n";
    }
    head += "Connection: close\r\n";
    for (const auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
    head += "\r\n";
    // An unsent "100 Continue" still goes first.
    std::string pending = c.out.substr(std::min(c.out_off, c.out.size()));
    c.out = pending + head + (c.head ? "" : body);
    c.out_off = 0;
    c.state = State::kWriting;
    Write(c);
  }

  // Sends what the socket takes.
  void Write(Conn& c) {
    while (c.out_off < c.out.size() || c.endless) {
      if (c.out_off >= c.out.size()) {
        c.out.assign(64 << 10, 'x');
        c.out_off = 0;
      }
      const char* data = c.out.data() + c.out_off;
      size_t len = c.out.size() - c.out_off;
      if (c.ssl != nullptr) {
        ERR_clear_error();
        int w = SSL_write(c.ssl, data, static_cast<int>(std::min<size_t>(len, 1 << 20)));
        c.ssl_wants_read = false;
        if (w <= 0) {
          int err = SSL_get_error(c.ssl, w);
          if (err == SSL_ERROR_WANT_WRITE) return;
          if (err == SSL_ERROR_WANT_READ) {
            c.ssl_wants_read = true;
            return;
          }
          ERR_clear_error();
          c.dead = true;
          return;
        }
        c.out_off += static_cast<size_t>(w);
      } else {
        ssize_t w = send(c.fd, data, len, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (w <= 0) {
          c.dead = true;
          return;
        }
        c.out_off += static_cast<size_t>(w);
      }
    }
  }

  // The response is out: close our sending side and wait for the client to close, so
  // that nothing it still sends (a TLS close_notify) turns our close into a reset.
  void Finish(Conn& c) {
    if (c.ssl != nullptr) {
      ERR_clear_error();
      SSL_shutdown(c.ssl);  // one close_notify; no waiting for the client's
      ERR_clear_error();
    }
    shutdown(c.fd, SHUT_WR);
    c.state = State::kDraining;
  }
};

void TestHttpServer::SetCertificate(const TlsCert& cert) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->cert_file = cert.cert_path();
  impl_->key_file = cert.key_path();
}

TestHttpServer::TestHttpServer(const TlsCert* tls) : impl_(std::make_unique<Impl>()) {
  // SSL_write() on a socket the client has closed must be an error, not a signal.
  static std::once_flag sigpipe_once;
  std::call_once(sigpipe_once, [] { signal(SIGPIPE, SIG_IGN); });

  if (tls != nullptr) {
    tls_ = true;
    impl_->ctx = SSL_CTX_new(TLS_server_method());
    if (impl_->ctx == nullptr ||
        SSL_CTX_use_certificate_chain_file(impl_->ctx, tls->cert_path().c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(impl_->ctx, tls->key_path().c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(impl_->ctx) != 1) {
      ERR_clear_error();
      throw std::runtime_error("TestHttpServer: cannot load " + tls->cert_path());
    }
    SSL_CTX_set_mode(impl_->ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  }
  auto [fd, port] = BindLoopback();
  impl_->listen_fd = fd;
  port_ = port;
  if (listen(fd, SOMAXCONN) != 0) Fail("listen");
  impl_->epfd = epoll_create1(EPOLL_CLOEXEC);
  impl_->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl_->epfd < 0 || impl_->wakefd < 0) Fail("epoll/eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  epoll_ctl(impl_->epfd, EPOLL_CTL_ADD, fd, &ev);
  ev.data.u64 = kWakeTag;
  epoll_ctl(impl_->epfd, EPOLL_CTL_ADD, impl_->wakefd, &ev);
  impl_->thread = std::thread([impl = impl_.get()] { impl->Loop(); });
}

TestHttpServer::~TestHttpServer() = default;

std::string TestHttpServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::string TestHttpServer::url(const std::string& path) const {
  return std::string(tls_ ? "https" : "http") + "://" + address() + path;
}

void TestHttpServer::SetBearerToken(const std::string& token) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->bearer = token;
}

void TestHttpServer::SetBasicAuth(const std::string& user, const std::string& password) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->basic = "Basic " + Base64(user + ":" + password);
}

int TestHttpServer::RequestCount(const std::string& path) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->counts.find(path);
  return it == impl_->counts.end() ? 0 : it->second;
}

int TestHttpServer::TotalRequests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->total;
}

RecordedRequest TestHttpServer::LastRequest() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->last;
}

int TestHttpServer::OpenConnections() const { return impl_->open.load(); }
int TestHttpServer::AcceptedConnections() const { return impl_->accepted.load(); }

BlackholeListener::BlackholeListener() {
  auto [fd, port] = BindLoopback();
  fd_ = fd;
  port_ = port;
  // The kernel clamps the backlog to net.core.somaxconn.
  if (listen(fd_, 65535) != 0) {
    close(fd_);
    Fail("listen");
  }
}

BlackholeListener::~BlackholeListener() {
  if (fd_ >= 0) close(fd_);
}

std::string BlackholeListener::address() const { return "127.0.0.1:" + std::to_string(port_); }

int BlackholeListener::PendingConnections() const {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -1;
  return static_cast<int>(info.tcpi_unacked);  // for a listener: the accept queue length
}

int BlackholeListener::Backlog() const {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -1;
  return static_cast<int>(info.tcpi_sacked);  // for a listener: the accept queue capacity
}

int ClosedPort() {
  auto [fd, port] = BindLoopback();
  close(fd);
  return port;
}

}  // namespace failover::testing
