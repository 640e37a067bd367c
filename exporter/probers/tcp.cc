#include "exporter/probers/tcp.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <re2/re2.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/curl_tls.h"
#include "exporter/curl_multi.h"
#include "exporter/event_loop.h"
#include "exporter/probers/curl_probe.h"
#include "exporter/probers/db_probe.h"
#include "exporter/probers/stream_conn.h"

namespace failover {
namespace {

// An IP address and port, for a connect without libcurl.
struct SocketAddress {
  union {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } addr{};
  socklen_t len = 0;
};

// `host` as an IPv4 or IPv6 literal (no brackets); nullopt for a name.
std::optional<SocketAddress> ParseIpLiteral(const std::string& host, int port) {
  SocketAddress a;
  if (inet_pton(AF_INET, host.c_str(), &a.addr.v4.sin_addr) == 1) {
    a.addr.v4.sin_family = AF_INET;
    a.addr.v4.sin_port = htons(static_cast<uint16_t>(port));
    a.len = sizeof a.addr.v4;
    return a;
  }
  if (inet_pton(AF_INET6, host.c_str(), &a.addr.v6.sin6_addr) == 1) {
    a.addr.v6.sin6_family = AF_INET6;
    a.addr.v6.sin6_port = htons(static_cast<uint16_t>(port));
    a.len = sizeof a.addr.v6;
    return a;
  }
  return std::nullopt;
}

ProbeResult ConnectFailure(int err, const std::string& target) {
  std::string text = "connect to " + target + ": " + std::strerror(err);
  return ProbeResult::Failure(err == ECONNREFUSED ? "connection_refused" : "connect_failed", text);
}

// A plain (tls: false) probe of an IP address: one non-blocking connect on the event loop,
// without a libcurl transfer (about a third less CPU per probe). Calls `done` once:
// connected, refused or failed, or at the deadline.
class ConnectProber final : public Prober, public std::enable_shared_from_this<ConnectProber> {
 public:
  ConnectProber(SocketAddress address, std::string target, Duration timeout)
      : address_(address), target_(std::move(target)), timeout_(timeout) {}

  void Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) override {
    int fd = ::socket(address_.addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      int err = errno;
      // No IPv6 (or IPv4) on this host is the target's problem; out of descriptors is ours.
      done(ProbeResult::Failure(err == EAFNOSUPPORT ? "connect_failed" : "error",
                                "connect to " + target_ + ": socket: " + std::strerror(err)));
      return;
    }
    if (::connect(fd, &address_.addr.sa, address_.len) == 0) {
      ::close(fd);
      done(Connected());
      return;
    }
    if (errno != EINPROGRESS) {
      int err = errno;
      ::close(fd);
      done(ConnectFailure(err, target_));
      return;
    }
    // The callbacks hold only `run` (which keeps this prober alive across a reload).
    auto run = std::make_shared<Run>(Run{shared_from_this(), env.loop, fd, 0, std::move(done)});
    env.loop->Watch(fd, EPOLLOUT, [run](uint32_t) {
      if (run->fd < 0) return;
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(run->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) {
        Finish(*run, ConnectFailure(err, run->prober->target_));
        return;
      }
      // An event can be stale (for an earlier socket that had this fd in the same epoll
      // batch): only a socket with a peer is connected.
      sockaddr_in6 peer{};
      socklen_t peer_len = sizeof peer;
      if (::getpeername(run->fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) return;
      Finish(*run, Connected());
    });
    run->timer = env.loop->AddTimer(deadline, [run] {
      const ConnectProber& p = *run->prober;
      Finish(*run, ProbeResult::Failure("timeout", "timeout after " + FormatDuration(p.timeout_) +
                                                       ": no answer to the connection attempt to " +
                                                       p.target_));
    });
  }

 private:
  struct Run {
    std::shared_ptr<const ConnectProber> prober;
    EventLoop* loop;
    int fd;
    EventLoop::TimerId timer;
    ProbeDone done;
  };

  static ProbeResult Connected() {
    ProbeResult ok;
    ok.success = true;
    return ok;
  }

  // Ends the run once, whichever of the socket and the timer comes first.
  static void Finish(Run& r, ProbeResult result) {
    if (r.fd < 0) return;
    r.loop->Unwatch(r.fd);
    r.loop->CancelTimer(r.timer);
    ::close(r.fd);
    r.fd = -1;
    ProbeDone done = std::move(r.done);
    done(std::move(result));
  }

  SocketAddress address_;
  std::string target_;  // host:port, for failure details
  Duration timeout_;
};

// Every other tcp probe (a host name, or tls: true): one libcurl transfer that connects,
// completes the TLS handshake for tls: true, and sends nothing.
class TcpProber final : public Prober, public std::enable_shared_from_this<TcpProber> {
 public:
  // `tls_opts`: null when tls_config is not given (most probes; saves ~130 bytes each).
  TcpProber(bool tls, std::shared_ptr<const TlsClientOptions> tls_opts, Duration timeout)
      : tls_(tls), tls_opts_(std::move(tls_opts)), timeout_(timeout) {}
  // The URL is kept only in tls_state_, as libcurl is given it.
  Status Init(const std::string& url) { return PrepareUrlAndTls(url, opts(), tls_state_); }

  void Configure(CURL* h) const {
    SetCommonCurlOptions(h);
    SetUrlAndTlsOptions(h, opts(), tls_state_);
    // Connect (and handshake for https://) only; nothing is sent.
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    if (tls_) curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
  }

  void Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) override {
    struct Run {
      std::shared_ptr<TcpProber> prober;
      ProbeDone done;
      char errbuf[CURL_ERROR_SIZE] = {0};
    };
    auto run = std::make_shared<Run>();
    run->prober = shared_from_this();
    run->done = std::move(done);
    CURL* h = env.curl->Acquire();
    Configure(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, run->errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, MillisUntil(deadline));
    CurlMulti* curl = env.curl;
    curl->Add(h, [run, curl](CURL* easy, CURLcode rc) {
      ProbeResult result;
      if (rc == CURLE_OK) {
        result.success = true;
      } else {
        result = CurlFailure(easy, rc, run->errbuf, run->prober->timeout_);
      }
      if (run->prober->tls_) {
        if (auto expiry = CertExpiry(easy)) {
          result.samples.push_back({&kTlsExpiryMetric, {}, *expiry});
        }
      }
      curl->Release(easy);
      ProbeDone done = std::move(run->done);
      done(std::move(result));
    });
  }

 private:
  const TlsClientOptions& opts() const {
    static const TlsClientOptions kDefaults;
    return tls_opts_ != nullptr ? *tls_opts_ : kDefaults;
  }

  bool tls_;
  std::shared_ptr<const TlsClientOptions> tls_opts_;
  Duration timeout_;
  CurlTlsState tls_state_;
};

// One item of `query_response`, in blackbox_exporter's order: wait for a line matching
// `expect`, then write `send` and a newline, then (starttls) the TLS handshake.
struct QueryStep {
  std::shared_ptr<RE2> expect;  // null: nothing to wait for
  std::string expect_text;      // as configured, for messages
  std::optional<std::string> send;
  bool starttls = false;
};

struct QuerySpec {
  std::string address;  // host:port, as configured
  std::string host;
  int port = 0;
  bool tls = false;  // from the first byte
  TlsClientOptions tls_opts;
  std::shared_ptr<SSL_CTX> ssl_ctx;  // for tls or any starttls
  std::vector<QueryStep> steps;
  Duration timeout{0};
};

// Longest line an `expect` waits through, and most bytes read in one run.
constexpr size_t kMaxQueryBytes = 1024 * 1024;

// `tcp` with `query_response`: a conversation on the event loop (exporter/probers/
// stream_conn.h), driven like the database probes, one connection per run.
class QueryResponseProber final : public Prober,
                                  public std::enable_shared_from_this<QueryResponseProber> {
 public:
  explicit QueryResponseProber(QuerySpec spec) : spec_(std::move(spec)) {}

  void Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) override {
    auto run = std::make_shared<Run>(shared_from_this());
    // The driver's timeout names a database; say what this run was waiting for instead.
    auto finish = [self = shared_from_this(), run_state = run->waiting,
                   done = std::move(done)](ProbeResult r) {
      if (r.reason == "timeout") {
        r.detail = "no answer from " + self->spec_.address + " within " +
                   FormatDuration(self->spec_.timeout) + " (" + *run_state + ")";
      }
      done(std::move(r));
    };
    DriveDbRun(env, deadline, spec_.timeout, run, std::move(finish));
  }

 private:
  class Run final : public DbRunSteps {
   public:
    explicit Run(std::shared_ptr<QueryResponseProber> p)
        : p_(std::move(p)), conn_(p_->spec_.address, p_->spec_.host, p_->spec_.port) {}

    // What the run waits for now, read by the timeout message.
    std::shared_ptr<std::string> waiting = std::make_shared<std::string>("connecting");

    Outcome Step(bool, bool) override {
      const QuerySpec& s = p_->spec_;
      if (auto o = conn_.Connect()) return std::move(*o);
      if (s.tls) {
        *waiting = "TLS handshake";
        if (auto o = conn_.Handshake(s.ssl_ctx.get(), s.tls_opts)) return std::move(*o);
      }
      while (index_ < s.steps.size()) {
        const QueryStep& q = s.steps[index_];
        std::string item = "query_response[" + std::to_string(index_) + "]";
        if (q.expect && !matched_) {
          *waiting = item + ": a line matching /" + q.expect_text + "/";
          while (!matched_) {
            size_t eol;
            while (!matched_ && (eol = conn_.in().find('\n', scan_)) != std::string::npos) {
              std::string line = conn_.in().substr(scan_, eol - scan_);
              if (!line.empty() && line.back() == '\r') line.pop_back();
              scan_ = eol + 1;
              last_line_ = line;
              matched_ = RE2::PartialMatch(line, *q.expect);
            }
            if (matched_) break;
            if (auto o = conn_.ReadMore(kMaxQueryBytes)) {
              auto* failed = std::get_if<ProbeResult>(&*o);
              if (failed != nullptr && failed->reason == "connection_reset") {
                return ProbeResult::Failure(
                    "expect_not_matched",
                    s.address + ": " + item + ": no line matched /" + q.expect_text + "/ (" +
                        failed->detail +
                        (last_line_ ? "; last line \"" + ErrorLabelValue(*last_line_) + "\""
                                    : std::string()) +
                        ")");
              }
              return std::move(*o);
            }
          }
        }
        if (q.send && !queued_) {
          queued_ = true;
          conn_.Queue(*q.send + "\n");
        }
        *waiting = item + ": sending";
        if (auto o = conn_.Flush()) return std::move(*o);
        if (q.starttls) {
          *waiting = item + ": STARTTLS handshake";
          if (auto o = conn_.Handshake(s.ssl_ctx.get(), s.tls_opts)) return std::move(*o);
        }
        ++index_;
        matched_ = false;
        queued_ = false;
      }
      ProbeResult ok;
      ok.success = true;
      return ok;
    }

    void Abandon() override { conn_.Close(); }

   private:
    std::shared_ptr<QueryResponseProber> p_;
    StreamConn conn_;
    size_t index_ = 0;  // the query_response item in progress
    size_t scan_ = 0;   // in conn_.in(): where the next unread line starts
    bool matched_ = false;
    bool queued_ = false;
    std::optional<std::string> last_line_;
  };

  QuerySpec spec_;
};

Result<std::vector<QueryStep>> ParseQueryResponse(const YamlNode& node) {
  auto items = node.Items();
  if (!items) return items.error();
  if (items->empty()) return node.Fail("query_response is empty");
  std::vector<QueryStep> out;
  for (const YamlNode& item : *items) {
    QueryStep q;
    if (auto e = item.Get("expect")) {
      auto text = e->AsString();
      if (!text) return text.error();
      RE2::Options opts;
      opts.set_log_errors(false);
      auto re = std::make_shared<RE2>(*text, opts);
      if (!re->ok()) return e->Fail("invalid regular expression: " + re->error());
      q.expect = std::move(re);
      q.expect_text = *text;
    }
    if (auto v = item.Get("send")) {
      auto text = v->AsString();
      if (!text) return text.error();
      q.send = *text;
    }
    if (auto v = item.Get("starttls")) {
      auto b = v->AsBool();
      if (!b) return b.error();
      q.starttls = *b;
    }
    if (auto s = item.RejectUnreadKeys(); !s) return s.error();
    if (!q.expect && !q.send && !q.starttls) {
      return item.Fail("a query_response item needs expect, send or starttls");
    }
    out.push_back(std::move(q));
  }
  return out;
}

// A tcp probe's block as parsed; the keys read here are the keys a tcp probe accepts.
struct TcpSpec {
  std::string address;
  std::string host;
  int port = 0;
  bool tls = false;
  std::shared_ptr<const TlsClientOptions> tls_opts;  // tls_config
  std::optional<QuerySpec> query;                    // query_response, its TLS context made
};

Result<TcpSpec> ParseTcpSpec(const YamlNode& node, const ProberContext& ctx) {
  TcpSpec out;
  auto addr = node.Require("address");
  if (!addr) return addr.error();
  auto addr_s = addr->AsString();
  if (!addr_s) return addr_s.error();
  auto hp = SplitHostPort(*addr_s);
  if (!hp) return addr->Fail(hp.error().message);
  out.address = *addr_s;
  out.host = hp->first;
  out.port = hp->second;
  if (auto s = ReadOptional(node, "tls", out.tls); !s) return s.error();
  const bool tls = out.tls;
  if (auto tc = node.Get("tls_config")) {
    if (!tls && !node.Has("query_response")) return tc->Fail("tls_config needs tls: true");
    auto o = ParseTlsClientOptions(*tc);
    if (!o) return o.error();
    out.tls_opts = std::make_shared<const TlsClientOptions>(std::move(*o));
  }
  auto query_response = node.Get("query_response");
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  if (auto qr = query_response) {
    auto steps = ParseQueryResponse(*qr);
    if (!steps) return steps.error();
    QuerySpec spec;
    spec.address = out.address;
    spec.host = out.host;
    spec.port = out.port;
    spec.tls = tls;
    if (out.tls_opts) spec.tls_opts = *out.tls_opts;
    spec.steps = std::move(*steps);
    spec.timeout = ctx.timeout;
    bool starttls = false;
    for (const QueryStep& q : spec.steps) starttls = starttls || q.starttls;
    if (tls && starttls) return qr->Fail("starttls in query_response needs tls: false");
    if (auto tc = node.Get("tls_config"); tc && !tls && !starttls) {
      return tc->Fail("tls_config needs tls: true or a starttls item");
    }
    if (tls || starttls) {
      auto c =
          NewClientSslCtx(node.Get("tls_config") ? *node.Get("tls_config") : node, spec.tls_opts);
      if (!c) return c.error();
      spec.ssl_ctx = std::move(*c);
    }
    out.query = std::move(spec);
  }
  return out;
}

}  // namespace

Result<std::shared_ptr<Prober>> NewTcpProber(const YamlNode& node, const ProberContext& ctx) {
  auto spec = ParseTcpSpec(node, ctx);
  if (!spec) return spec.error();
  if (spec->query) {
    return std::shared_ptr<Prober>(std::make_shared<QueryResponseProber>(std::move(*spec->query)));
  }
  const std::string& h = spec->host;
  std::string host = h.find(':') != std::string::npos ? "[" + h + "]" : h;
  if (!spec->tls) {
    if (auto ip = ParseIpLiteral(h, spec->port)) {
      return std::shared_ptr<Prober>(std::make_shared<ConnectProber>(
          *ip, host + ":" + std::to_string(spec->port), ctx.timeout));
    }
  }
  std::string url = std::string(spec->tls ? "https" : "http") + "://" + host + ":" +
                    std::to_string(spec->port) + "/";
  auto prober = std::make_shared<TcpProber>(spec->tls, std::move(spec->tls_opts), ctx.timeout);
  if (auto s = prober->Init(url); !s) return node.Fail(s.error().message);
  return std::shared_ptr<Prober>(prober);
}

}  // namespace failover
