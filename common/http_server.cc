#include "common/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "common/json_limits.h"
#include "common/log.h"

namespace failover {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Open connections at most; further ones wait in the kernel's listen backlog until some
// close. Each costs a socket and its buffers, never a thread.
constexpr size_t kMaxOpenConnections = 4096;
// After an answer that closes the connection, the rest of what the client sends is read
// and dropped for up to this long (so that unread request bytes do not turn the close
// into a reset that destroys the answer on its way to the client).
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kMaxChunkLine = 1024;  // chunk size line, with extensions

std::once_flag g_init_once;

const char* StatusText(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Query strings decode '+' to a space; paths do not.
std::string PercentDecode(std::string_view s, bool plus_is_space = true) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexDigit(s[i + 1]), lo = HexDigit(s[i + 2]);
      if (hi < 0 || lo < 0) {
        out += s[i];
        continue;
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

std::string OpensslError() {
  char buf[256] = {0};
  unsigned long e = ERR_get_error();
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return e != 0 ? buf : "unknown error";
}

int OpensslVersion(TlsVersion v) {
  switch (v) {
    case TlsVersion::kTls10:
      return TLS1_VERSION;
    case TlsVersion::kTls11:
      return TLS1_1_VERSION;
    case TlsVersion::kTls12:
      return TLS1_2_VERSION;
    case TlsVersion::kTls13:
      return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

// Certificates that are asked for but not verified (RequestClientCert,
// RequireAnyClientCert) are accepted whatever their chain.
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

// "scheme://host[:port]" lower-cased, the scheme's default port left out; "" when `url`
// has no such prefix.
std::string NormalizedOrigin(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return "";
  std::string scheme = Lower(url.substr(0, sep));
  std::string_view rest = url.substr(sep + 3);
  std::string host = Lower(rest.substr(0, rest.find_first_of("/?#")));
  if (host.empty() || host.find('@') != std::string::npos) return "";
  if (scheme == "http" && host.size() > 3 && host.ends_with(":80")) host.resize(host.size() - 3);
  if (scheme == "https" && host.size() > 4 && host.ends_with(":443")) host.resize(host.size() - 4);
  return scheme + "://" + host;
}

bool StateChanging(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

}  // namespace

// One client connection. Owned by the event loop while a request is received (or the
// connection lingers before its close), by one worker while a request is checked,
// handled and answered; handed between them whole, so only one thread touches it.
struct HttpServer::Conn {
  enum class Phase { kHandshake, kHead, kBody, kDrain };
  enum class BodyMode { kNone, kLength, kChunked };
  enum class Chunk { kSize, kData, kDataEnd, kTrailers };
  enum class Job { kHead, kBody, kReject, kAnswer, kWriteRest };

  ~Conn() {
    if (ssl != nullptr) SSL_free(ssl);
    if (fd >= 0) close(fd);
    if (open_count != nullptr) --*open_count;
  }
  // Ready for the next request on the same connection.
  void ResetRequest() {
    req = HttpServerRequest();
    scanned = 0;
    http10 = false;
    client_close = false;
    route = nullptr;
    body_mode = BodyMode::kNone;
    content_length = 0;
    expect_continue = false;
    chunk = Chunk::kSize;
    chunk_left = 0;
    trailer_bytes = 0;
    reject.reset();
  }

  int fd = -1;
  SSL* ssl = nullptr;
  std::atomic<size_t>* open_count = nullptr;  // the server's count of open connections
  std::string remote;
  Phase phase = Phase::kHead;
  SteadyClock::time_point deadline;  // of the request being received, or of the linger
  uint32_t events = 0;               // registered with epoll; 0: not registered
  std::string in;                    // received, not yet consumed
  size_t scanned = 0;                // bytes of `in` searched for the end of the head

  HttpServerRequest req;
  bool http10 = false;
  bool client_close = false;
  const Route* route = nullptr;
  BodyMode body_mode = BodyMode::kNone;
  size_t content_length = 0;
  bool expect_continue = false;
  Chunk chunk = Chunk::kSize;
  size_t chunk_left = 0;
  size_t trailer_bytes = 0;

  Job job = Job::kHead;
  std::optional<HttpServerResponse> reject;  // Job::kReject, Job::kAnswer: the answer to send
  std::string unsent;         // Job::kWriteRest: the end of an answer the socket did not take
  bool unsent_close = false;  // and whether the connection closes after it
};

// One request of an async route between its handler and its answer: owns the connection
// (and so the request the handler was given) until the responder is called.
struct HttpServer::PendingAnswer {
  PendingAnswer(std::shared_ptr<Shared> s, std::unique_ptr<Conn> c)
      : shared(std::move(s)), conn(std::move(c)) {}
  ~PendingAnswer() {
    if (!answered.load()) Answer(HttpServerResponse::Text(500, "internal error\n"));
  }
  void Answer(HttpServerResponse resp);

  std::shared_ptr<Shared> shared;
  std::unique_ptr<Conn> conn;
  std::atomic<bool> answered{false};
};

struct HttpServer::Shared : std::enable_shared_from_this<HttpServer::Shared> {
  explicit Shared(HttpServer* s) : server(s) {}
  ~Shared() {
    if (epoll_fd >= 0) close(epoll_fd);
    if (wake_fd >= 0) close(wake_fd);
    for (int fd : listen_fds) close(fd);
  }

  // Event loop (one thread).
  void Loop();
  void Accept(int listen_fd);
  void OnEvent(Conn* c, uint32_t events);
  void Handshake(Conn* c);
  void ReadInput(Conn* c);
  bool Parse(Conn* c);  // false: handed off or closed
  bool ParseHead(Conn* c, std::string_view head, HttpServerResponse* error);
  enum class BodyStep { kMore, kDone, kHandedOff };
  BodyStep ParseChunks(Conn* c);
  void Arm(Conn* c, uint32_t events);
  bool ArmForTls(Conn* c, int ssl_error);  // false: not a want-read/want-write
  void Disarm(Conn* c);
  void Close(Conn* c);
  void HandOff(Conn* c, Conn::Job job);
  void Reject(Conn* c, HttpServerResponse resp);
  void TakeReturned();
  void Expire();

  // Workers.
  void WorkerMain();
  void Work(std::unique_ptr<Conn> c);
  std::optional<HttpServerResponse> PreBody(Conn& c, const WebState& web);
  HttpServerResponse RunHandler(Conn& c);
  void RunAsyncHandler(std::unique_ptr<Conn> c);
  // Writes the answer to the request `c` holds, then keeps or closes the connection.
  void Answer(std::unique_ptr<Conn> c, HttpServerResponse resp, const WebState& web);
  // An async request's answer, from any thread: written at once if the socket takes it,
  // else queued for a worker.
  void Answered(std::unique_ptr<Conn> c, HttpServerResponse resp);
  // The answer is out (or failed): frees the request's body, then keeps or closes.
  void AnswerSent(std::unique_ptr<Conn> c, bool close);
  bool Respond(Conn& c, HttpServerResponse resp, bool close, const WebState& web);
  // The answer's bytes: the head, and the body unless it is sent chunked (`*chunked`).
  std::string Render(const Conn& c, HttpServerResponse& resp, bool close, const WebState& web,
                     bool* chunked);
  bool WriteAll(Conn& c, std::string_view data, SteadyClock::time_point deadline);
  void Finish(std::unique_ptr<Conn> c, bool close);
  void GiveBack(std::unique_ptr<Conn> c);

  SteadyClock::duration RequestTimeout() const {
    return std::chrono::milliseconds(server->options_.request_timeout_ms);
  }

  HttpServer* server;
  std::vector<int> listen_fds;  // one per listen address (or socket systemd passed)
  int epoll_fd = -1;
  int wake_fd = -1;
  std::atomic<size_t> open{0};  // connections, wherever they are (see Conn::open_count)
  std::thread loop;
  std::vector<std::thread> workers;

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  // Async answers written by other threads hold it shared; the server's teardown takes it
  // to set answers_stopped, after which answers are dropped.
  std::shared_mutex answer_mu;
  bool answers_stopped = false;
  std::deque<std::unique_ptr<Conn>> jobs;       // for the workers
  std::vector<std::unique_ptr<Conn>> returned;  // back to the event loop

  // Event loop only.
  std::unordered_map<int, std::unique_ptr<Conn>> conns;
  bool accepting = true;
  SteadyClock::time_point accept_resume;
  SteadyClock::time_point next_expire;
};

void HttpServer::Shared::Loop() {
  epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(epoll_fd, evs, 64, 100);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) break;
    }
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (std::find(listen_fds.begin(), listen_fds.end(), fd) != listen_fds.end()) {
        Accept(fd);
      } else if (fd == wake_fd) {
        uint64_t v;
        [[maybe_unused]] ssize_t r = read(wake_fd, &v, sizeof v);
      } else {
        auto it = conns.find(fd);
        if (it != conns.end()) OnEvent(it->second.get(), evs[i].events);
      }
    }
    TakeReturned();
    auto now = SteadyClock::now();
    if (!accepting && now >= accept_resume && open < kMaxOpenConnections) {
      for (int lfd : listen_fds) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = lfd;
        epoll_ctl(epoll_fd, EPOLL_CTL_ADD, lfd, &ev);
      }
      accepting = true;
    }
    if (now >= next_expire) {
      Expire();
      next_expire = now + std::chrono::milliseconds(50);
    }
  }
  conns.clear();
}

void HttpServer::Shared::Accept(int listen_fd) {
  for (;;) {
    if (open >= kMaxOpenConnections) {
      for (int lfd : listen_fds) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, lfd, nullptr);
      accepting = false;
      accept_resume = SteadyClock::now();
      return;
    }
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd =
        accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop accepting for a moment instead of spinning.
        log::Warn("http server: cannot accept a connection", {{"err", std::strerror(errno)}});
        for (int lfd : listen_fds) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, lfd, nullptr);
        accepting = false;
        accept_resume = SteadyClock::now() + std::chrono::milliseconds(100);
      }
      return;  // EAGAIN, or a connection that went away before it was accepted
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    char addr[INET6_ADDRSTRLEN] = {0};
    if (peer.ss_family == AF_INET6) {  // a socket systemd passed may be IPv6
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr, addr, sizeof addr);
    } else {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, addr, sizeof addr);
    }
    c->remote = addr;
    c->deadline = SteadyClock::now() + RequestTimeout();
    ++open;
    c->open_count = &open;
    Conn* raw = c.get();
    conns[fd] = std::move(c);
    if (server->ssl_ctx_ != nullptr) {
      raw->ssl = SSL_new(server->ssl_ctx_);
      if (raw->ssl == nullptr || SSL_set_fd(raw->ssl, fd) != 1) {
        log::Error("http server: cannot set up TLS for a connection", {{"err", OpensslError()}});
        Close(raw);
        continue;
      }
      SSL_set_accept_state(raw->ssl);
      raw->phase = Conn::Phase::kHandshake;
      Handshake(raw);
    } else {
      raw->phase = Conn::Phase::kHead;
      ReadInput(raw);
    }
  }
}

void HttpServer::Shared::Arm(Conn* c, uint32_t events) {
  if (c->events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = c->fd;
  epoll_ctl(epoll_fd, c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev);
  c->events = events;
}

void HttpServer::Shared::Disarm(Conn* c) {
  if (c->events != 0) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, nullptr);
  c->events = 0;
}

void HttpServer::Shared::Close(Conn* c) {
  Disarm(c);
  conns.erase(c->fd);  // closes the socket
}

void HttpServer::Shared::OnEvent(Conn* c, uint32_t events) {
  switch (c->phase) {
    case Conn::Phase::kHandshake:
      Handshake(c);
      return;
    case Conn::Phase::kHead:
    case Conn::Phase::kBody:
      ReadInput(c);
      return;
    case Conn::Phase::kDrain: {
      char buf[4096];
      for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n > 0) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && (events & EPOLLHUP) == 0) {
          return;
        }
        Close(c);
        return;
      }
    }
  }
}

void HttpServer::Shared::Handshake(Conn* c) {
  ERR_clear_error();
  int r = SSL_do_handshake(c->ssl);
  if (r == 1) {
    c->phase = Conn::Phase::kHead;
    ReadInput(c);
    return;
  }
  if (!ArmForTls(c, SSL_get_error(c->ssl, r))) {
    log::Debug("TLS handshake failed", {{"remote", c->remote}, {"err", OpensslError()}});
    Close(c);
  }
}

// An SSL call that wants to read or write first waits for the socket to be ready for it.
bool HttpServer::Shared::ArmForTls(Conn* c, int ssl_error) {
  if (ssl_error == SSL_ERROR_WANT_READ) {
    Arm(c, EPOLLIN);
  } else if (ssl_error == SSL_ERROR_WANT_WRITE) {
    Arm(c, EPOLLOUT);
  } else {
    return false;
  }
  return true;
}

void HttpServer::Shared::ReadInput(Conn* c) {
  char buf[16384];
  for (;;) {
    ssize_t n;
    if (c->ssl != nullptr) {
      ERR_clear_error();
      int r = SSL_read(c->ssl, buf, sizeof buf);
      if (r <= 0) {
        if (!ArmForTls(c, SSL_get_error(c->ssl, r))) Close(c);
        return;
      }
      n = r;
    } else {
      n = recv(c->fd, buf, sizeof buf, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        Arm(c, EPOLLIN);
        return;
      }
      if (n <= 0) {
        Close(c);
        return;
      }
    }
    c->in.append(buf, static_cast<size_t>(n));
    if (!Parse(c)) return;
  }
}

void HttpServer::Shared::HandOff(Conn* c, Conn::Job job) {
  Disarm(c);
  c->job = job;
  auto it = conns.find(c->fd);
  std::unique_ptr<Conn> owned = std::move(it->second);
  conns.erase(it);
  {
    std::lock_guard<std::mutex> lock(mu);
    jobs.push_back(std::move(owned));
  }
  cv.notify_one();
}

void HttpServer::Shared::Reject(Conn* c, HttpServerResponse resp) {
  c->reject = std::move(resp);
  c->client_close = true;
  HandOff(c, Conn::Job::kReject);
}

bool HttpServer::Shared::Parse(Conn* c) {
  const HttpServerOptions& o = server->options_;
  if (c->phase == Conn::Phase::kHead) {
    // Blank lines before a request line are ignored (RFC 9112 2.2).
    size_t skip = 0;
    while (skip + 1 < c->in.size() && c->in[skip] == '\r' && c->in[skip + 1] == '\n') skip += 2;
    if (skip > 0) {
      c->in.erase(0, skip);
      c->scanned = 0;
    }
    size_t from = c->scanned > 3 ? c->scanned - 3 : 0;
    size_t end = c->in.find("\r\n\r\n", from);
    if (end == std::string::npos) {
      c->scanned = c->in.size();
      if (c->in.size() > o.max_header_bytes) {
        Reject(c,
               HttpServerResponse::Text(431, "request line and headers exceed " +
                                                 std::to_string(o.max_header_bytes) + " bytes\n"));
        return false;
      }
      return true;
    }
    if (end + 4 > o.max_header_bytes) {
      Reject(c, HttpServerResponse::Text(431, "request line and headers exceed " +
                                                  std::to_string(o.max_header_bytes) + " bytes\n"));
      return false;
    }
    HttpServerResponse error;
    bool ok = ParseHead(c, std::string_view(c->in).substr(0, end), &error);
    c->in.erase(0, end + 4);
    if (!ok) {
      Reject(c, std::move(error));
      return false;
    }
    // The checks that need no body (auth, route, origin, size) run on a worker: bcrypt and
    // secret files are too slow for this thread.
    HandOff(c, Conn::Job::kHead);
    return false;
  }
  if (c->phase != Conn::Phase::kBody) return true;
  if (c->body_mode == Conn::BodyMode::kLength) {
    size_t want = c->content_length - c->req.body.size();
    size_t take = std::min(want, c->in.size());
    c->req.body.append(c->in, 0, take);
    c->in.erase(0, take);
    if (c->req.body.size() < c->content_length) return true;
    HandOff(c, Conn::Job::kBody);
    return false;
  }
  return ParseChunks(c) == BodyStep::kMore;
}

HttpServer::Shared::BodyStep HttpServer::Shared::ParseChunks(Conn* c) {
  const HttpServerOptions& o = server->options_;
  auto bad = [&](const std::string& why) {
    Reject(c, HttpServerResponse::Text(400, "malformed chunked body: " + why + "\n"));
    return BodyStep::kHandedOff;
  };
  auto too_large = [&] {
    Reject(c, HttpServerResponse::Text(413, "request body exceeds the limit of " +
                                                std::to_string(o.max_body_bytes) + " bytes\n"));
    return BodyStep::kHandedOff;
  };
  for (;;) {
    switch (c->chunk) {
      case Conn::Chunk::kSize: {
        size_t eol = c->in.find("\r\n");
        if (eol == std::string::npos) {
          if (c->in.size() > kMaxChunkLine) return bad("chunk size line too long");
          return BodyStep::kMore;
        }
        if (eol > kMaxChunkLine) return bad("chunk size line too long");
        std::string_view line = Trim(std::string_view(c->in).substr(0, eol));
        line = Trim(line.substr(0, line.find(';')));
        if (line.empty() || line.size() > 16) return bad("invalid chunk size");
        size_t size = 0;
        for (char ch : line) {
          int d = HexDigit(ch);
          if (d < 0) return bad("invalid chunk size");
          size = size * 16 + static_cast<size_t>(d);
        }
        c->in.erase(0, eol + 2);
        if (size > o.max_body_bytes || c->req.body.size() + size > o.max_body_bytes) {
          return too_large();
        }
        if (size == 0) {
          c->chunk = Conn::Chunk::kTrailers;
        } else {
          c->chunk_left = size;
          c->chunk = Conn::Chunk::kData;
        }
        break;
      }
      case Conn::Chunk::kData: {
        size_t take = std::min(c->chunk_left, c->in.size());
        c->req.body.append(c->in, 0, take);
        c->in.erase(0, take);
        c->chunk_left -= take;
        if (c->chunk_left > 0) return BodyStep::kMore;
        c->chunk = Conn::Chunk::kDataEnd;
        break;
      }
      case Conn::Chunk::kDataEnd:
        if (c->in.size() < 2) return BodyStep::kMore;
        if (c->in.compare(0, 2, "\r\n") != 0) return bad("chunk not followed by CRLF");
        c->in.erase(0, 2);
        c->chunk = Conn::Chunk::kSize;
        break;
      case Conn::Chunk::kTrailers: {
        size_t eol = c->in.find("\r\n");
        if (eol == std::string::npos) {
          if (c->trailer_bytes + c->in.size() > o.max_header_bytes) return bad("trailers too long");
          return BodyStep::kMore;
        }
        c->trailer_bytes += eol + 2;
        if (c->trailer_bytes > o.max_header_bytes) return bad("trailers too long");
        c->in.erase(0, eol + 2);
        if (eol == 0) {
          HandOff(c, Conn::Job::kBody);
          return BodyStep::kHandedOff;
        }
        break;  // trailer fields are ignored
      }
    }
  }
}

bool HttpServer::Shared::ParseHead(Conn* c, std::string_view head, HttpServerResponse* error) {
  auto bad = [&](const std::string& why) {
    *error = HttpServerResponse::Text(400, "malformed request: " + why + "\n");
    return false;
  };
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return bad("request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (method.empty()) return bad("method");
  for (char ch : method) {
    if (!IsTokenChar(ch)) return bad("method");
  }
  if (version == "HTTP/1.0") {
    c->http10 = true;
  } else if (version != "HTTP/1.1") {
    *error = HttpServerResponse::Text(505, "only HTTP/1.0 and HTTP/1.1 are served\n");
    return false;
  }
  if (target.empty() || target.front() != '/') return bad("request target");
  for (char ch : target) {
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) return bad("request target");
  }
  c->req.method = std::string(method);
  size_t q = target.find('?');
  c->req.path = PercentDecode(target.substr(0, q), false);
  if (c->req.path.find('\0') != std::string::npos) return bad("request target");
  c->req.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  c->req.remote_addr = c->remote;

  bool have_length = false;
  bool have_te = false;
  while (!head.empty()) {
    eol = head.find("\r\n");
    std::string_view h = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    if (h.front() == ' ' || h.front() == '\t') return bad("folded header line");
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return bad("header line");
    for (char ch : h.substr(0, colon)) {
      if (!IsTokenChar(ch)) return bad("header name");
    }
    std::string name = Lower(h.substr(0, colon));
    std::string_view value = Trim(h.substr(colon + 1));
    for (char ch : value) {
      if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f) {
        return bad("control character in header " + name);
      }
    }
    if (name == "content-length") {
      if (have_length) return bad("more than one Content-Length");
      if (value.empty() || value.size() > 18 ||
          value.find_first_not_of("0123456789") != std::string_view::npos) {
        return bad("Content-Length");
      }
      have_length = true;
      c->content_length = std::stoull(std::string(value));
    } else if (name == "transfer-encoding") {
      if (have_te) return bad("more than one Transfer-Encoding");
      have_te = true;
      if (Lower(value) != "chunked") {
        *error = HttpServerResponse::Text(501, "only the chunked transfer coding is served\n");
        return false;
      }
    }
    c->req.headers[name] = std::string(value);  // a repeated header: the last one counts
  }
  if (have_te && have_length) return bad("both Content-Length and Transfer-Encoding");
  if (have_te && c->http10) return bad("chunked in HTTP/1.0");
  c->body_mode = have_te                                ? Conn::BodyMode::kChunked
                 : have_length && c->content_length > 0 ? Conn::BodyMode::kLength
                                                        : Conn::BodyMode::kNone;
  std::string connection = Lower(c->req.Header("connection"));
  c->client_close = connection.find("close") != std::string::npos;
  c->expect_continue = !c->http10 && Lower(c->req.Header("expect")) == "100-continue";
  return true;
}

void HttpServer::Shared::TakeReturned() {
  std::vector<std::unique_ptr<Conn>> back;
  {
    std::lock_guard<std::mutex> lock(mu);
    back.swap(returned);
  }
  for (auto& owned : back) {
    Conn* c = owned.get();
    conns[c->fd] = std::move(owned);
    if (c->phase == Conn::Phase::kDrain) {
      Arm(c, EPOLLIN | EPOLLRDHUP);
      continue;
    }
    // What the client sent meanwhile (a pipelined request, the body) is read now: TLS may
    // hold decrypted bytes that epoll cannot announce.
    if (!c->in.empty() && !Parse(c)) continue;
    ReadInput(c);
  }
}

void HttpServer::Shared::Expire() {
  auto now = SteadyClock::now();
  std::vector<Conn*> late;
  for (auto& [fd, c] : conns) {
    if (c->deadline <= now) late.push_back(c.get());
  }
  for (Conn* c : late) {
    if (c->phase != Conn::Phase::kDrain && (!c->in.empty() || !c->req.method.empty())) {
      log::Debug("http request not received in time; connection closed",
                 {{"remote", c->remote}, {"path", c->req.path}});
    }
    Close(c);
  }
}

void HttpServer::Shared::WorkerMain() {
  for (;;) {
    std::unique_ptr<Conn> c;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return stopping || !jobs.empty(); });
      if (stopping) return;
      c = std::move(jobs.front());
      jobs.pop_front();
    }
    try {
      Work(std::move(c));
    } catch (const std::exception& e) {
      // A route's check or a streamed body threw: the connection (owned by Work's
      // argument) is closed when the stack unwinds, the server goes on.
      log::Error("http request failed", {{"err", e.what()}});
    }
  }
}

void HttpServer::Shared::Work(std::unique_ptr<Conn> c) {
  WebState web = server->web();
  auto reject = [&](HttpServerResponse resp) {
    if (c->route != nullptr && c->route->on_reject) c->route->on_reject(resp.status);
    // The body, if any, was not read: the connection cannot carry another request.
    bool close = c->body_mode != Conn::BodyMode::kNone || c->job == Conn::Job::kReject ||
                 !server->options_.keep_alive || c->client_close || c->http10;
    bool ok = Respond(*c, std::move(resp), close, web);
    Finish(std::move(c), close || !ok);
  };
  switch (c->job) {
    case Conn::Job::kReject:
      reject(std::move(*c->reject));
      return;
    case Conn::Job::kAnswer: {
      HttpServerResponse resp = std::move(*c->reject);
      Answer(std::move(c), std::move(resp), web);
      return;
    }
    case Conn::Job::kWriteRest: {
      bool close =
          !WriteAll(*c, c->unsent, SteadyClock::now() + RequestTimeout()) || c->unsent_close;
      std::string().swap(c->unsent);
      AnswerSent(std::move(c), close);
      return;
    }
    case Conn::Job::kHead: {
      if (auto early = PreBody(*c, web)) {
        reject(std::move(*early));
        return;
      }
      if (c->body_mode == Conn::BodyMode::kLength && !c->expect_continue &&
          c->in.size() >= c->content_length) {
        // The body came with the head (a small webhook does): taken here, without a trip
        // back to the event loop. PreBody has checked its size and Content-Type.
        c->req.body.assign(c->in, 0, c->content_length);
        c->in.erase(0, c->content_length);
        break;
      }
      if (c->body_mode != Conn::BodyMode::kNone) {
        if (c->expect_continue &&
            !WriteAll(*c, "HTTP/1.1 100 Continue\r\n\r\n", SteadyClock::now() + RequestTimeout())) {
          Finish(std::move(c), true);
          return;
        }
        c->phase = Conn::Phase::kBody;
        GiveBack(std::move(c));
        return;
      }
      break;
    }
    case Conn::Job::kBody:
      if (c->route->json_body && !c->req.body.empty()) {
        std::string type = Lower(
            Trim(c->req.Header("content-type").substr(0, c->req.Header("content-type").find(';'))));
        if (type != "application/json") {
          c->body_mode = Conn::BodyMode::kNone;  // read whole: the connection may stay
          reject(HttpServerResponse::Text(415, "the body must be application/json\n"));
          return;
        }
      }
      break;
  }
  if (c->route->async_handler) {
    RunAsyncHandler(std::move(c));
    return;
  }
  HttpServerResponse resp = RunHandler(*c);
  Answer(std::move(c), std::move(resp), web);
}

void HttpServer::Shared::Answer(std::unique_ptr<Conn> c, HttpServerResponse resp,
                                const WebState& web) {
  bool close = !server->options_.keep_alive || c->client_close || c->http10;
  bool ok = Respond(*c, std::move(resp), close, web);
  AnswerSent(std::move(c), close || !ok);
}

void HttpServer::Shared::AnswerSent(std::unique_ptr<Conn> c, bool close) {
  // A big body (and what its handler parsed) leaves freed heap behind that glibc would
  // keep: give it back once the answer is out (common/json_limits.h).
  size_t body_bytes = c->req.body.size();
  std::string().swap(c->req.body);
  ReleaseHeapAfterBigBody(body_bytes);
  Finish(std::move(c), close);
}

void HttpServer::Shared::RunAsyncHandler(std::unique_ptr<Conn> c) {
  const Route* route = c->route;
  auto pending = std::make_shared<PendingAnswer>(shared_from_this(), std::move(c));
  const HttpServerRequest& req = pending->conn->req;
  try {
    route->async_handler(req,
                         [pending](HttpServerResponse resp) { pending->Answer(std::move(resp)); });
  } catch (const std::exception& e) {
    log::Error("http handler failed", {{"err", e.what()}});
    pending->Answer(HttpServerResponse::Text(500, "internal error\n"));
  }
}

void HttpServer::PendingAnswer::Answer(HttpServerResponse resp) {
  if (answered.exchange(true)) return;
  shared->Answered(std::move(conn), std::move(resp));
}

void HttpServer::Shared::Answered(std::unique_ptr<Conn> c, HttpServerResponse resp) {
  // Held while the answer is written here: the server is not torn down meanwhile.
  std::shared_lock<std::shared_mutex> alive(answer_mu);
  if (answers_stopped) return;  // the server is gone: the connection closes with `c`
  if (c->ssl == nullptr && !resp.stream) {
    // A plain answer is written on the calling thread (the one that completed the request,
    // e.g. the actuator's group commit), if the socket takes it whole now; that saves
    // waking a worker for each. What the socket does not take goes to a worker.
    bool close = !server->options_.keep_alive || c->client_close || c->http10;
    bool chunked = false;
    std::string out = Render(*c, resp, close, server->web(), &chunked);
    ssize_t n = send(c->fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(out.size())) {
      AnswerSent(std::move(c), close);
      return;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      Finish(std::move(c), true);
      return;
    }
    c->unsent = out.substr(n > 0 ? static_cast<size_t>(n) : 0);
    c->unsent_close = close;
    c->job = Conn::Job::kWriteRest;
  } else {
    c->job = Conn::Job::kAnswer;
    c->reject = std::move(resp);
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    if (stopping) return;
    jobs.push_back(std::move(c));
  }
  cv.notify_one();
}

std::optional<HttpServerResponse> HttpServer::Shared::PreBody(Conn& c, const WebState& web) {
  const HttpServerRequest& req = c.req;
  if (web.auth->enabled() && !web.auth->CheckHeader(req.Header("authorization"))) {
    // basic_auth_users guard every route of the listener, before any handler runs.
    auto resp = HttpServerResponse::Text(401, "Unauthorized\n");
    resp.headers.emplace_back("WWW-Authenticate", "Basic realm=\"failover\"");
    log::Debug("basic auth refused", {{"remote", c.remote}});
    return resp;
  }
  std::string allow;
  for (const Route& r : server->routes_) {
    bool path_ok = r.prefix ? req.path.rfind(r.path, 0) == 0 : req.path == r.path;
    if (!path_ok) continue;
    if (r.method == req.method || (r.method == "GET" && req.method == "HEAD")) {
      c.route = &r;
      break;
    }
    if (!allow.empty()) allow += ", ";
    allow += r.method;
  }
  if (c.route == nullptr) {
    if (!allow.empty()) {
      auto r = HttpServerResponse::Text(
          405, "method " + req.method + " not allowed; use " + allow + "\n");
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    return HttpServerResponse::Text(404, "not found: " + req.path + "\n");
  }
  if (StateChanging(req.method)) {
    // A browser names the page that sent the request; another site's page must not change
    // anything here (cross-site request forgery). Clients that are not browsers send
    // neither header.
    std::string source = req.Header("origin");
    const char* which = "Origin";
    if (source.empty()) {
      source = req.Header("referer");
      which = "Referer";
    }
    if (!source.empty()) {
      std::string own = NormalizedOrigin(
          std::string(server->ssl_ctx_ != nullptr ? "https" : "http") + "://" + req.Header("host"));
      std::string theirs = NormalizedOrigin(source);
      if (req.Header("host").empty() || theirs.empty() || theirs != own) {
        // Only the site goes to the log: a Referer's path and query may hold anything.
        log::Warn("cross-site request refused",
                  {{"remote", c.remote}, {"path", req.path}, {"origin", theirs}});
        return HttpServerResponse::Text(
            403, std::string("cross-site request refused: the ") + which + " is not this server\n");
      }
    }
  }
  if (c.route->authorize) {
    if (auto refused = c.route->authorize(req)) return refused;
  }
  const size_t limit = server->options_.max_body_bytes;
  if (c.body_mode == Conn::BodyMode::kLength && c.content_length > limit) {
    return HttpServerResponse::Text(413, "request body of " + std::to_string(c.content_length) +
                                             " bytes exceeds the limit of " +
                                             std::to_string(limit) + " bytes\n");
  }
  if (c.route->json_body && c.body_mode == Conn::BodyMode::kLength) {
    std::string ct = req.Header("content-type");
    if (Lower(Trim(std::string_view(ct).substr(0, ct.find(';')))) != "application/json") {
      return HttpServerResponse::Text(415, "the body must be application/json\n");
    }
  }
  return std::nullopt;
}

HttpServerResponse HttpServer::Shared::RunHandler(Conn& c) {
  HttpServerResponse resp;
  try {
    resp = c.route->handler(c.req);
  } catch (const std::exception& e) {
    log::Error("http handler failed", {{"err", e.what()}});
    resp = HttpServerResponse::Text(500, "internal error\n");
  }
  return resp;
}

std::string HttpServer::Shared::Render(const Conn& c, HttpServerResponse& resp, bool close,
                                       const WebState& web, bool* chunked) {
  if (c.req.method == "HEAD") {
    resp.body.clear();
    resp.stream = nullptr;
  }
  for (const auto& h : web.config->headers) resp.headers.push_back(h);
  *chunked = false;
  if (resp.stream) {
    if (!c.http10) {
      *chunked = true;
    } else {
      while (resp.stream(resp.body)) {
      }
      resp.stream = nullptr;
    }
  }
  std::string head = "HTTP/1.1 " + std::to_string(resp.status) + " " + StatusText(resp.status) +
                     "\r\nContent-Type: " + resp.content_type +
                     (*chunked ? std::string("\r\nTransfer-Encoding: chunked")
                               : "\r\nContent-Length: " + std::to_string(resp.body.size())) +
                     "\r\nCache-Control: no-store\r\n";
  for (const auto& [k, v] : resp.headers) head += k + ": " + v + "\r\n";
  // Say so when the connection closes after this answer: an HTTP/1.1 client otherwise
  // sends its next request on a socket that is being closed, and that request is lost.
  if (close) head += "Connection: close\r\n";
  head += "\r\n";
  if (!*chunked) head += resp.body;
  return head;
}

bool HttpServer::Shared::Respond(Conn& c, HttpServerResponse resp, bool close,
                                 const WebState& web) {
  auto deadline = SteadyClock::now() + RequestTimeout();
  bool chunked = false;
  std::string head = Render(c, resp, close, web, &chunked);
  if (!chunked) return WriteAll(c, head, deadline);
  if (!WriteAll(c, head, deadline)) return false;
  std::string part;
  bool more = true;
  while (more) {
    part.clear();
    more = resp.stream(part);
    if (part.empty()) continue;
    char size[32];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    part.insert(0, size, static_cast<size_t>(n));
    part += "\r\n";
    if (!WriteAll(c, part, deadline)) return false;  // the client went away or stalled
  }
  return WriteAll(c, "0\r\n\r\n", deadline);
}

bool HttpServer::Shared::WriteAll(Conn& c, std::string_view data,
                                  SteadyClock::time_point deadline) {
  size_t off = 0;
  while (off < data.size()) {
    short wait_for = POLLOUT;
    if (c.ssl != nullptr) {
      ERR_clear_error();
      int chunk = static_cast<int>(std::min<size_t>(data.size() - off, 1 << 30));
      int r = SSL_write(c.ssl, data.data() + off, chunk);
      if (r > 0) {
        off += static_cast<size_t>(r);
        continue;
      }
      int e = SSL_get_error(c.ssl, r);
      if (e == SSL_ERROR_WANT_READ) {
        wait_for = POLLIN;
      } else if (e != SSL_ERROR_WANT_WRITE) {
        return false;
      }
    } else {
      ssize_t n = send(c.fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
    }
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) {
      log::Debug("http answer not taken in time; connection closed", {{"remote", c.remote}});
      return false;
    }
    pollfd p{c.fd, wait_for, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) return false;
  }
  return true;
}

void HttpServer::Shared::Finish(std::unique_ptr<Conn> c, bool close) {
  if (!close) {
    c->ResetRequest();
    c->phase = Conn::Phase::kHead;
    c->deadline = SteadyClock::now() + RequestTimeout();
    GiveBack(std::move(c));
    return;
  }
  if (c->ssl != nullptr) {
    ERR_clear_error();
    SSL_shutdown(c->ssl);  // close_notify, if the socket takes it; never waits
  }
  shutdown(c->fd, SHUT_WR);
  c->phase = Conn::Phase::kDrain;
  c->deadline = SteadyClock::now() + std::min<SteadyClock::duration>(kLingerTime, RequestTimeout());
  GiveBack(std::move(c));
}

void HttpServer::Shared::GiveBack(std::unique_ptr<Conn> c) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (stopping) return;  // closed here
    returned.push_back(std::move(c));
    // The loop takes every returned connection at once: one wake-up serves them all.
    if (returned.size() > 1) return;
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t r = write(wake_fd, &one, sizeof one);
}
void ApplyWebOptions(const WebOptions& web, HttpServerOptions* options) {
  options->web_config_file = web.config_file;
  if (web.max_connections > 0) options->num_threads = web.max_connections;
  options->request_timeout_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(web.request_timeout).count());
  options->max_header_bytes = web.max_header_bytes;
  options->more_listen_addresses = web.more_listen_addresses;
  options->listen_fds = web.listen_fds;
}

std::string HttpServerRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

namespace {

// Calls `found` with each value of query parameter `name` (percent-decoded) until it
// returns false.
template <typename Found>
void EachQueryParam(std::string_view q, const std::string& name, Found found) {
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    size_t eq = part.find('=');
    if (PercentDecode(part.substr(0, eq)) == name &&
        !found(eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1)))) {
      return;
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
}

}  // namespace

std::string HttpServerRequest::QueryParam(const std::string& name) const {
  std::string value;
  EachQueryParam(query, name, [&](std::string v) {
    value = std::move(v);
    return false;
  });
  return value;
}

std::vector<std::string> HttpServerRequest::QueryParams(const std::string& name) const {
  std::vector<std::string> values;
  EachQueryParam(query, name, [&](std::string v) {
    values.push_back(std::move(v));
    return true;
  });
  return values;
}

HttpServerResponse HttpServerResponse::Text(int status, std::string body) {
  HttpServerResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpServerResponse HttpServerResponse::Json(int status, std::string body) {
  HttpServerResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpServerResponse HttpServerResponse::Html(std::string body) {
  HttpServerResponse r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Result<std::pair<std::string, int>> ParseListenAddress(const std::string& address) {
  auto bad = [&](const std::string& why) {
    return Error::Invalid("invalid listen address \"" + address + "\": " + why +
                          " (expected host:port or :port)");
  };
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  std::string host = address.substr(0, colon);
  std::string port_s = address.substr(colon + 1);
  if (!host.empty() && host.front() == '[') return bad("IPv6 listeners are not supported");
  if (host.find(':') != std::string::npos) return bad("IPv6 listeners are not supported");
  if (port_s.empty() || port_s.size() > 5 ||
      port_s.find_first_not_of("0123456789") != std::string::npos) {
    return bad("port must be a number");
  }
  int port = std::stoi(port_s);
  if (port > 65535) return bad("port out of range");
  return std::make_pair(host, port);
}

HttpServer::~HttpServer() {
  if (shared_ != nullptr) {
    {
      std::unique_lock<std::shared_mutex> answers(shared_->answer_mu);
      shared_->answers_stopped = true;
    }
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->stopping = true;
    }
    shared_->cv.notify_all();
    uint64_t one = 1;
    [[maybe_unused]] ssize_t r = write(shared_->wake_fd, &one, sizeof one);
    if (shared_->loop.joinable()) shared_->loop.join();
    for (auto& w : shared_->workers) w.join();  // each finishes the request it handles
    shared_.reset();
  }
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      std::vector<Route> routes) {
  // A write to a connection the client has closed must fail, not kill the process (TLS
  // writes go through write(2), which has no MSG_NOSIGNAL).
  std::call_once(g_init_once, [] { signal(SIGPIPE, SIG_IGN); });
  for (const std::string& address : options.more_listen_addresses) {
    if (auto hp = ParseListenAddress(address); !hp) return hp.error();
  }
  if (options.listen_fds.empty()) {
    if (auto hp = ParseListenAddress(options.listen_address); !hp) return hp.error();
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->options_ = options;
  server->options_.num_threads = std::max(1, options.num_threads);
  server->routes_ = std::move(routes);
  auto web = std::make_shared<WebConfig>();
  if (!options.web_config_file.empty()) {
    auto loaded = LoadWebConfigFile(options.web_config_file);
    if (!loaded) return loaded.error();
    *web = std::move(*loaded);
  }
  server->web_.auth = std::make_shared<BasicAuthVerifier>(web->basic_auth_users);
  server->web_.config = std::move(web);
  if (server->web_.config->tls) {
    if (auto s = server->InitTls(); !s)
      return Error::Invalid(options.web_config_file + ": " + s.error().message);
  }

  auto shared = std::make_shared<Shared>(server.get());
  // Opens one listening socket; its fd goes to shared->listen_fds (closed with it).
  auto listen_on = [&](const std::string& address) -> Result<std::string> {
    auto cannot_listen = [&](const std::string& why) {
      return Error::Unavailable("cannot listen on " + address + ": " + why);
    };
    auto hp = ParseListenAddress(address);
    if (!hp) return hp.error();
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(hp->second));
    if (hp->first.empty()) {
      addr.sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET, hp->first.c_str(), &addr.sin_addr) != 1) {
      addrinfo hints{};
      hints.ai_family = AF_INET;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* res = nullptr;
      if (getaddrinfo(hp->first.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
        return cannot_listen("cannot resolve \"" + hp->first + "\" to an IPv4 address");
      }
      addr.sin_addr = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
      freeaddrinfo(res);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return cannot_listen(std::strerror(errno));
    shared->listen_fds.push_back(fd);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return cannot_listen(std::strerror(errno));
    }
    // The kernel caps the backlog at net.core.somaxconn. With 128, 200 clients at once
    // overflowed it, and a connection it drops is a SYN resent after 1 s, then 3 s, 7 s (a
    // webhook p99 of 8 s in bench/).
    if (listen(fd, 4096) != 0) return cannot_listen(std::strerror(errno));
    sockaddr_in bound{};
    socklen_t len = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    return (hp->first.empty() ? std::string("0.0.0.0") : hp->first) + ":" +
           std::to_string(ntohs(bound.sin_port));
  };
  if (!options.listen_fds.empty()) {
    // Sockets systemd passed (--web.systemd-socket): already bound and listening.
    for (int fd : options.listen_fds) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      shared->listen_fds.push_back(fd);
      sockaddr_storage bound{};
      socklen_t len = sizeof bound;
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      char host[INET6_ADDRSTRLEN] = "?";
      int port = 0;
      if (bound.ss_family == AF_INET6) {
        auto* a6 = reinterpret_cast<sockaddr_in6*>(&bound);
        inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
        port = ntohs(a6->sin6_port);
      } else if (bound.ss_family == AF_INET) {
        auto* a4 = reinterpret_cast<sockaddr_in*>(&bound);
        inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
        port = ntohs(a4->sin_port);
      }
      if (server->port_ == 0) server->port_ = port;
      server->bound_all_.push_back(bound.ss_family == AF_INET6
                                       ? "[" + std::string(host) + "]:" + std::to_string(port)
                                       : std::string(host) + ":" + std::to_string(port));
    }
  } else {
    std::vector<std::string> addresses = {options.listen_address};
    addresses.insert(addresses.end(), options.more_listen_addresses.begin(),
                     options.more_listen_addresses.end());
    for (const std::string& address : addresses) {
      auto bound = listen_on(address);
      if (!bound) return bound.error();
      server->bound_all_.push_back(*bound);
    }
    server->port_ = std::stoi(server->bound_all_[0].substr(server->bound_all_[0].rfind(':') + 1));
  }
  server->bound_ = server->bound_all_[0];

  shared->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  shared->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (shared->epoll_fd < 0 || shared->wake_fd < 0)
    return Error::Unavailable(std::string("cannot start the HTTP server: ") + std::strerror(errno));
  std::vector<int> watched = shared->listen_fds;
  watched.push_back(shared->wake_fd);
  for (int fd : watched) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(shared->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  }
  Shared* sh = shared.get();
  server->shared_ = std::move(shared);
  sh->loop = std::thread([sh] { sh->Loop(); });
  for (int i = 0; i < server->options_.num_threads; ++i) {
    sh->workers.emplace_back([sh] { sh->WorkerMain(); });
  }
  return server;
}

HttpServer::WebState HttpServer::web() const {
  std::lock_guard<std::mutex> lock(web_mu_);
  return web_;
}

bool HttpServer::tls() const { return web().config->tls.has_value(); }

bool HttpServer::basic_auth_enabled() const { return web().auth->enabled(); }

Status HttpServer::ReloadWebConfig() {
  if (options_.web_config_file.empty()) return {};
  auto loaded = LoadWebConfigFile(options_.web_config_file);
  if (!loaded) return loaded.error();
  WebState cur = web();
  const auto& old_tls = cur.config->tls;
  const auto& new_tls = loaded->tls;
  if (old_tls.has_value() != new_tls.has_value() ||
      (old_tls && !old_tls->SameListenerSettings(*new_tls))) {
    return Error::Invalid(options_.web_config_file +
                          ": tls_server_config: turning TLS on or off, client_auth_type, "
                          "client_ca_file, min_version and max_version change only at a restart");
  }
  if (new_tls) {
    // The handshakes will read these files: refuse a reload that points at unusable ones.
    SSL_CTX* probe = SSL_CTX_new(TLS_server_method());
    std::string why;
    if (probe == nullptr) {
      why = "cannot create a TLS context";
    } else if (SSL_CTX_use_certificate_chain_file(probe, new_tls->cert_file.c_str()) != 1) {
      why = "cert_file \"" + new_tls->cert_file + "\" cannot be loaded";
    } else if (SSL_CTX_use_PrivateKey_file(probe, new_tls->key_file.c_str(), SSL_FILETYPE_PEM) !=
               1) {
      why = "key_file \"" + new_tls->key_file + "\" cannot be loaded";
    } else if (SSL_CTX_check_private_key(probe) != 1) {
      why = "key_file \"" + new_tls->key_file + "\" does not match cert_file";
    }
    SSL_CTX_free(probe);
    if (!why.empty()) {
      return Error::Invalid(options_.web_config_file + ": tls_server_config: " + why + ": " +
                            OpensslError());
    }
  }
  WebState next;
  // Same users and hashes: keep the verifier and its cache of verified credentials.
  next.auth = loaded->basic_auth_users == cur.config->basic_auth_users
                  ? cur.auth
                  : std::make_shared<BasicAuthVerifier>(loaded->basic_auth_users);
  next.config = std::make_shared<const WebConfig>(std::move(*loaded));
  std::lock_guard<std::mutex> lock(web_mu_);
  web_ = std::move(next);
  return {};
}

Status HttpServer::InitTls() {
  const TlsServerConfig& tls = *web_.config->tls;
  ssl_ctx_ = SSL_CTX_new(TLS_server_method());
  SSL_CTX* ctx = ssl_ctx_;
  auto fail = [&](const std::string& what) {
    return Error::Invalid("tls_server_config: " + what + ": " + OpensslError());
  };
  if (ctx == nullptr) return fail("cannot create a TLS context");
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(ctx, OpensslVersion(tls.min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, OpensslVersion(tls.max_version)) != 1) {
    return fail("min_version/max_version");
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
    return fail("cert_file \"" + tls.cert_file + "\" cannot be loaded");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("key_file \"" + tls.key_file + "\" cannot be loaded");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail("key_file \"" + tls.key_file + "\" does not match cert_file");
  }
  int mode = SSL_VERIFY_NONE;
  bool verify = false;
  switch (tls.client_auth) {
    case ClientAuthType::kNoClientCert:
      break;
    case ClientAuthType::kRequestClientCert:
      mode = SSL_VERIFY_PEER;
      break;
    case ClientAuthType::kRequireAnyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      break;
    case ClientAuthType::kVerifyClientCertIfGiven:
      mode = SSL_VERIFY_PEER;
      verify = true;
      break;
    case ClientAuthType::kRequireAndVerifyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      verify = true;
      break;
  }
  if (verify) {
    if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
      return fail("client_ca_file \"" + tls.client_ca_file + "\" cannot be loaded");
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, mode, nullptr);
    SSL_CTX_set_verify_depth(ctx, 9);
  } else {
    SSL_CTX_set_verify(ctx, mode, mode == SSL_VERIFY_NONE ? nullptr : AcceptAnyCertificate);
  }
  // Writes resume from where a full socket stopped them (the workers' WriteAll).
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Session resumption is not offered: every connection does a full handshake, which
  // reads the certificate of the current web config (below).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  // The certificate and key are read again at every handshake (from the paths of the
  // current web config), so a renewed certificate is served without a restart.
  SSL_CTX_set_cert_cb(ctx, &HttpServer::CertCallback, this);
  return {};
}

int HttpServer::CertCallback(ssl_st* ssl, void* self) {
  auto* server = static_cast<HttpServer*>(self);
  auto cfg = server->web().config;
  const TlsServerConfig& tls = *cfg->tls;
  if (SSL_use_certificate_chain_file(ssl, tls.cert_file.c_str()) != 1 ||
      SSL_use_PrivateKey_file(ssl, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_check_private_key(ssl) != 1) {
    log::Error("TLS handshake refused: cannot load the certificate",
               {{"cert_file", tls.cert_file}, {"key_file", tls.key_file}, {"err", OpensslError()}});
    return 0;
  }
  return 1;
}

}  // namespace failover
