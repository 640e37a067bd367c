#include "exporter/probers/http.h"

#include <re2/re2.h>
#include <strings.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>

#include "common/basic_auth.h"
#include "common/encoding.h"
#include "common/secret.h"
#include "exporter/probers/curl_probe.h"
#include "exporter/probers/db_probe.h"
#include "exporter/probers/http_exchange.h"
#include "exporter/probers/http_url.h"
#include "exporter/probers/stream_conn.h"
#include "exporter/probers/tls_session.h"

namespace failover {

const MetricDesc kHttpStatusMetric = {"failover_probe_http_status_code",
                                      "HTTP status code of the last response (0 if none)."};
const MetricDesc kHttpPhaseMetric = {
    "failover_probe_http_phase_seconds",
    "Time the last request spent per phase: resolve, connect, tls, processing, transfer."};

namespace {

constexpr size_t kDefaultBodyLimit = 1 << 20;

// The methods a probe may use; a spec keeps the index (a std::string per probe was 32
// bytes of 10,000 probes' state).
constexpr const char* kMethods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

// A byte count as blackbox_exporter's body_size_limit takes it: a plain number of bytes,
// or a number with a unit B, KiB, MiB, GiB, or KB, MB, GB (which, as in blackbox, are
// powers of 1024 too). nullopt for anything else, 0 and overflow included.
std::optional<size_t> ParseByteSize(const std::string& text) {
  size_t i = 0;
  unsigned long long n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (n > (~0ULL) / 10) return std::nullopt;
    n = n * 10 + static_cast<unsigned>(text[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string unit = text.substr(i);
  if (!unit.empty() && unit[0] == ' ') unit.erase(0, 1);
  unsigned long long mult = 0;
  if (unit.empty() || unit == "B") {
    mult = 1;
  } else if (unit == "KiB" || unit == "KB") {
    mult = 1ULL << 10;
  } else if (unit == "MiB" || unit == "MB") {
    mult = 1ULL << 20;
  } else if (unit == "GiB" || unit == "GB") {
    mult = 1ULL << 30;
  } else {
    return std::nullopt;
  }
  if (n == 0 || n > static_cast<unsigned long long>(SIZE_MAX) / mult) return std::nullopt;
  return static_cast<size_t>(n * mult);
}

// What most probes leave unset. Kept out of line, and only when one of them is set:
// at 10,000 probes of a plain URL that is ~400 bytes less per probe.
struct HttpOptions {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::vector<int> valid_status_codes;  // empty: any 2xx
  std::vector<std::shared_ptr<RE2>> must_match;
  std::vector<std::shared_ptr<RE2>> must_not_match;
  TlsClientOptions tls;
  std::optional<SecretRef> bearer_token;
  std::optional<BasicAuthConfig> basic_auth;
  TlsSessionCache::Options tls_session;  // https URLs only

  bool operator==(const HttpOptions&) const = default;
};

struct HttpSpec {
  std::uint8_t method = 0;  // index into kMethods
  bool follow_redirects = true;
  size_t body_size_limit = kDefaultBodyLimit;
  Duration timeout;
  std::shared_ptr<const HttpOptions> options;  // null: all at their defaults
};

class HttpProber final : public Prober, public std::enable_shared_from_this<HttpProber> {
 public:
  HttpProber(HttpSpec spec, HttpTarget target, std::shared_ptr<SSL_CTX> ssl_ctx)
      : spec_(std::move(spec)), target_(std::move(target)), ssl_ctx_(std::move(ssl_ctx)) {
    if (target_.https) tls_sessions_ = std::make_unique<TlsSessionCache>(opt().tls_session);
  }

  void Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) override;

 private:
  friend class HttpRun;

  const HttpOptions& opt() const {
    static const HttpOptions kDefaults;
    return spec_.options != nullptr ? *spec_.options : kDefaults;
  }

  // The client context for https: the one made at config load, or for a probe of an
  // http URL that was redirected to https, one made now.
  Result<SSL_CTX*> SslCtx() {
    if (ssl_ctx_ == nullptr) {
      auto ctx = SharedClientSslCtx(opt().tls);
      if (!ctx) return ctx.error();
      ssl_ctx_ = *ctx;
    }
    return ssl_ctx_.get();
  }

  HttpSpec spec_;
  HttpTarget target_;
  std::shared_ptr<SSL_CTX> ssl_ctx_;               // https only (or once redirected to it)
  std::unique_ptr<TlsSessionCache> tls_sessions_;  // https URLs only
};

// One run: a request to the probe's URL, and one per redirect followed, each on a new
// connection. The phases add up over the requests (as blackbox_exporter reports them).
class HttpRun final : public DbRunSteps {
 public:
  HttpRun(std::shared_ptr<HttpProber> prober, std::string authorization)
      : p_(std::move(prober)), authorization_(std::move(authorization)) {
    method_ = kMethods[p_->spec_.method];
    send_body_ = !p_->opt().body.empty() || method_ == "POST";
  }
  ~HttpRun() override { std::fill(authorization_.begin(), authorization_.end(), '\0'); }

  Outcome Step(bool, bool) override {
    while (true) {
      switch (stage_) {
        case Stage::kConnect: {
          if (conn_ == nullptr) StartRequest();
          if (auto o = conn_->Connect()) return Fail(std::move(*o));
          connected_ = Now();
          stage_ = target().https ? Stage::kHandshake : Stage::kSend;
          break;
        }
        case Stage::kHandshake: {
          auto ctx = p_->SslCtx();
          if (!ctx) return Fail(ProbeResult::Failure("tls_handshake", ctx.error().message));
          SSL_SESSION* offer = nullptr;
          if (hop_ == 0 && p_->tls_sessions_ != nullptr && !offered_) {
            offer = p_->tls_sessions_->SessionToOffer(Now());
            offered_ = true;
          }
          if (auto o = conn_->Handshake(*ctx, HopTls(), offer)) return Fail(std::move(*o));
          tls_done_ = Now();
          expiry_ = hop_ == 0 && p_->tls_sessions_ != nullptr
                        ? p_->tls_sessions_->Handshook(conn_->ssl(), tls_done_)
                        : PeerChainExpiry(conn_->ssl());
          stage_ = Stage::kSend;
          break;
        }
        case Stage::kSend: {
          if (!queued_) {
            const HttpOptions& o = p_->opt();
            conn_->Queue(BuildHttpRequest(method_, target().path, target().host_header,
                                          hop_ == 0 || !host_changed_ ? o.headers : NoHost(o),
                                          host_changed_ ? std::string_view() : authorization_,
                                          send_body_, o.body));
            queued_ = true;
          }
          if (auto o = conn_->Flush()) return Fail(std::move(*o));
          stage_ = Stage::kReceive;
          break;
        }
        case Stage::kReceive: {
          bool closed = false;
          if (auto o = conn_->ReadMore(SIZE_MAX, &closed)) return Fail(std::move(*o));
          if (first_byte_ == MonoTime{}) first_byte_ = Now();
          HttpResponseReader::State s;
          if (closed) {
            s = reader_->Closed();
          } else {
            s = reader_->Feed(conn_->in());
            conn_->in().clear();
          }
          if (s == HttpResponseReader::State::kMore) break;
          status_ = reader_->status();
          if (s == HttpResponseReader::State::kError) return Fail(ReaderFailure());
          if (hop_ == 0 && p_->tls_sessions_ != nullptr) p_->tls_sessions_->Keep(conn_->ssl());
          EndRequest();
          if (IsRedirectToFollow()) {
            if (auto failure = FollowRedirect()) return Fail(std::move(*failure));
            break;  // the next request
          }
          return Finish(Check());
        }
      }
    }
  }

  void Abandon() override {
    if (conn_ != nullptr) conn_->Close();
  }

  ProbeResult TimedOut(Duration timeout) override {
    std::string doing;
    std::string where = target().host_header;
    switch (stage_) {
      case Stage::kConnect:
        doing = "connecting to " + where;
        break;
      case Stage::kHandshake:
        doing = "TLS handshake with " + where;
        break;
      case Stage::kSend:
        doing = "sending the request to " + where;
        break;
      case Stage::kReceive:
        doing = reader_ != nullptr && reader_->got_header() ? "reading the body from " + where
                                                            : "waiting for the answer of " + where;
        break;
    }
    EndRequest();
    return Finish(
        ProbeResult::Failure("timeout", "timeout after " + FormatDuration(timeout) + ": " + doing));
  }

 private:
  enum class Stage { kConnect, kHandshake, kSend, kReceive };
  static MonoTime Now() { return std::chrono::steady_clock::now(); }
  static double Sec(MonoTime from, MonoTime to) {
    if (from == MonoTime{} || to == MonoTime{} || to < from) return 0;
    return std::chrono::duration<double>(to - from).count();
  }

  const HttpTarget& target() const { return hop_ == 0 ? p_->target_ : redirect_; }

  // TLS options for this request: server_name applies to the probe's own host and port.
  TlsClientOptions HopTls() const {
    TlsClientOptions t = p_->opt().tls;
    if (host_changed_) t.server_name.clear();
    return t;
  }

  static std::vector<std::pair<std::string, std::string>> NoHost(const HttpOptions& o) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& h : o.headers) {
      if (strcasecmp(h.first.c_str(), "Host") != 0) out.push_back(h);
    }
    return out;
  }

  void StartRequest() {
    const HttpTarget& t = target();
    conn_ = std::make_unique<StreamConn>(t.host_header, t.host, t.port);
    start_ = Now();
    connected_ = tls_done_ = first_byte_ = MonoTime{};
    queued_ = false;
    counted_ = false;
    const HttpOptions& o = p_->opt();
    reader_ =
        std::make_unique<HttpResponseReader>(method_ == "HEAD", p_->spec_.body_size_limit,
                                             !o.must_match.empty() || !o.must_not_match.empty());
  }

  // Adds this request's phases to the run's, once: up to now for the phase it is in when
  // it fails or times out.
  void EndRequest() {
    if (conn_ == nullptr || counted_) return;
    counted_ = true;
    MonoTime end = Now(), resolved = conn_->resolved_at();
    if (resolved == MonoTime{}) resolved = end;  // still looking the host up
    resolve_ += Sec(start_, resolved);
    MonoTime connected = connected_ != MonoTime{} ? connected_ : end;
    connect_ += Sec(resolved, connected);
    MonoTime ready = connected;
    if (target().https && connected_ != MonoTime{}) {
      ready = tls_done_ != MonoTime{} ? tls_done_ : end;
      tls_ += Sec(connected, ready);
    }
    if (ready < end) {
      MonoTime first = first_byte_ != MonoTime{} ? first_byte_ : end;
      processing_ += Sec(ready, first);
      transfer_ += Sec(first, end);
    }
    last_tls_ = target().https;
  }

  // Whether the complete answer is a redirect the probe follows.
  bool IsRedirectToFollow() const {
    int s = reader_->status();
    bool redirect = s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
    return p_->spec_.follow_redirects && redirect && !reader_->location().empty();
  }

  // Sets up the request to the redirect's Location; the run's failure if it cannot.
  std::optional<ProbeResult> FollowRedirect() {
    int s = reader_->status();
    if (hop_ == kMaxRedirects) {
      return ProbeResult::Failure("too_many_redirects",
                                  "more than " + std::to_string(kMaxRedirects) +
                                      " redirects; the last to " + reader_->location());
    }
    std::string base = target().Url();
    auto next = ParseHttpTarget(reader_->location(), &base);
    if (!next) return ProbeResult::Failure("error", "redirect: " + next.error().message);
    const HttpTarget& first = p_->target_;
    host_changed_ = host_changed_ || next->host != first.host || next->port != first.port ||
                    next->https != first.https;
    redirect_ = std::move(*next);
    // As browsers do: 303 makes any request but HEAD a GET, and so do 301 and 302 a POST;
    // the others keep the method and body.
    if ((s == 303 && method_ != "HEAD") || ((s == 301 || s == 302) && method_ == "POST")) {
      method_ = "GET";
      send_body_ = false;
    }
    ++hop_;
    conn_.reset();
    stage_ = Stage::kConnect;
    return std::nullopt;
  }

  ProbeResult ReaderFailure() {
    const std::string& where = target().host_header;
    switch (reader_->failure()) {
      case HttpResponseReader::Failure::kBodyTooLarge:
        return ProbeResult::Failure("body_too_large",
                                    "response body exceeds body_size_limit of " +
                                        std::to_string(p_->spec_.body_size_limit) + " bytes");
      case HttpResponseReader::Failure::kEmpty:
        return ProbeResult::Failure("empty_reply", where + ": " + reader_->failure_text());
      case HttpResponseReader::Failure::kTruncated:
        return ProbeResult::Failure("connection_reset", where + ": " + reader_->failure_text());
      default:
        return ProbeResult::Failure("error", where + ": " + reader_->failure_text());
    }
  }

  // The final answer against valid_status_codes and the body's regexes.
  ProbeResult Check() const {
    const HttpOptions& o = p_->opt();
    bool status_ok = false;
    if (o.valid_status_codes.empty()) {
      status_ok = status_ >= 200 && status_ < 300;
    } else {
      for (int c : o.valid_status_codes) status_ok = status_ok || c == status_;
    }
    if (!status_ok) {
      return ProbeResult::Failure(
          "http_status",
          "status " + std::to_string(status_) +
              (o.valid_status_codes.empty() ? " is not 2xx" : " is not in valid_status_codes"));
    }
    const std::string& body = reader_->body();
    for (const auto& re : o.must_match) {
      if (!RE2::PartialMatch(body, *re)) {
        return ProbeResult::Failure("body_not_matched",
                                    "body does not match \"" + re->pattern() + "\"");
      }
    }
    for (const auto& re : o.must_not_match) {
      if (RE2::PartialMatch(body, *re)) {
        return ProbeResult::Failure("body_matched", "body matches \"" + re->pattern() + "\"");
      }
    }
    ProbeResult ok;
    ok.success = true;
    return ok;
  }

  Outcome Fail(Outcome o) {
    if (auto* r = std::get_if<ProbeResult>(&o)) {
      EndRequest();
      return Finish(std::move(*r));
    }
    return o;
  }

  // Every result carries the status, the phases and (after TLS) the expiry.
  ProbeResult Finish(ProbeResult result) {
    if (conn_ != nullptr) conn_->Close();
    // The phases' label sets are made once, shared by every probe's results.
    static const SampleLabels kResolve({{"phase", "resolve"}}), kConnect({{"phase", "connect"}}),
        kTls({{"phase", "tls"}}), kProcessing({{"phase", "processing"}}),
        kTransfer({{"phase", "transfer"}});
    result.samples.reserve(7);
    result.samples.push_back({&kHttpStatusMetric, {}, static_cast<double>(status_)});
    result.samples.push_back({&kHttpPhaseMetric, kResolve, resolve_});
    result.samples.push_back({&kHttpPhaseMetric, kConnect, connect_});
    result.samples.push_back({&kHttpPhaseMetric, kTls, tls_});
    result.samples.push_back({&kHttpPhaseMetric, kProcessing, processing_});
    result.samples.push_back({&kHttpPhaseMetric, kTransfer, transfer_});
    if (expiry_ && last_tls_) result.samples.push_back({&kTlsExpiryMetric, {}, *expiry_});
    return result;
  }

  static constexpr int kMaxRedirects = 10;

  std::shared_ptr<HttpProber> p_;
  std::string authorization_;  // wiped when the run ends
  std::string_view method_;
  bool send_body_ = false;
  Stage stage_ = Stage::kConnect;
  int hop_ = 0;                // redirects followed so far
  HttpTarget redirect_;        // the current target after a redirect
  bool host_changed_ = false;  // a redirect left the probe's own scheme, host or port
  bool offered_ = false;
  bool queued_ = false;
  bool counted_ = false;  // EndRequest ran for this request
  std::unique_ptr<StreamConn> conn_;
  std::unique_ptr<HttpResponseReader> reader_;
  int status_ = 0;
  std::optional<double> expiry_;  // of the last TLS handshake
  bool last_tls_ = false;         // the last request was https
  MonoTime start_{}, connected_{}, tls_done_{}, first_byte_{};
  double resolve_ = 0, connect_ = 0, tls_ = 0, processing_ = 0, transfer_ = 0;
};

void HttpProber::Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) {
  // Secrets are read per run, so a rotated token or password file is used without a reload.
  std::string authorization;
  const HttpOptions& o = opt();
  if (o.bearer_token) {
    auto token = o.bearer_token->Resolve();
    if (!token) {
      done(ProbeResult::Failure("error", "bearer token: " + token.error().message));
      return;
    }
    authorization = "Bearer " + *token;
    std::fill(token->begin(), token->end(), '\0');
  } else if (o.basic_auth) {
    auto pw = o.basic_auth->password.Resolve();
    if (!pw) {
      done(ProbeResult::Failure("error", "basic auth password: " + pw.error().message));
      return;
    }
    std::string pair = o.basic_auth->username + ":" + *pw;
    authorization = "Basic " + Base64Encode(pair);
    std::fill(pair.begin(), pair.end(), '\0');
    std::fill(pw->begin(), pw->end(), '\0');
  }
  DriveDbRun(env, deadline, spec_.timeout,
             std::make_shared<HttpRun>(shared_from_this(), std::move(authorization)),
             std::move(done));
}

Result<std::vector<std::shared_ptr<RE2>>> ParseRegexes(const YamlNode& parent, const char* key) {
  std::vector<std::shared_ptr<RE2>> out;
  auto node = parent.Get(key);
  if (!node) return out;
  auto items = node->Items();
  if (!items) return items.error();
  for (const YamlNode& item : *items) {
    auto s = item.AsString();
    if (!s) return s.error();
    RE2::Options opts;
    opts.set_log_errors(false);
    auto re = std::make_shared<RE2>(*s, opts);
    if (!re->ok()) return item.Fail("invalid regular expression \"" + *s + "\": " + re->error());
    out.push_back(re);
  }
  return out;
}

// A probe's block as parsed: where its request goes, the rest of the spec, and for an https
// URL its client context. The keys read here are the keys an http probe accepts.
struct ParsedHttp {
  HttpTarget target;
  HttpSpec spec;
  std::shared_ptr<SSL_CTX> ssl_ctx;
};

Result<ParsedHttp> ParseHttpSpec(const YamlNode& node, const ProberContext& ctx) {
  HttpSpec spec;
  HttpOptions opt;
  spec.timeout = ctx.timeout;
  auto url = node.Require("url");
  if (!url) return url.error();
  auto url_s = url->AsString();
  if (!url_s) return url_s.error();
  ParsedHttp parsed;
  auto target = ParseHttpTarget(*url_s, nullptr);
  if (!target) return url->Fail(target.error().message);
  parsed.target = std::move(*target);
  if (auto m = node.Get("method")) {
    auto s = m->AsString();
    if (!s) return s.error();
    size_t i = 0;
    while (i < std::size(kMethods) && *s != kMethods[i]) ++i;
    if (i == std::size(kMethods))
      return m->Fail("unknown method \"" + *s +
                     "\" (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)");
    spec.method = static_cast<std::uint8_t>(i);
  }
  if (auto h = node.Get("headers")) {
    auto entries = h->Entries();
    if (!entries) return entries.error();
    for (const auto& [k, v] : *entries) {
      auto s = v.AsString();
      if (!s) return s.error();
      if (k.empty() || k.find_first_of(": \r\n") != std::string::npos) {
        return v.Fail("invalid header name \"" + k + "\"");
      }
      if (s->find_first_of("\r\n") != std::string::npos)
        return v.Fail("header value has a newline");
      opt.headers.emplace_back(k, *s);
    }
  }
  if (auto s = ReadOptional(node, "body", opt.body); !s) return s.error();
  if (auto v = node.Get("valid_status_codes")) {
    auto items = v->Items();
    if (!items) return items.error();
    for (const YamlNode& item : *items) {
      auto code = item.AsInt();
      if (!code) return code.error();
      if (*code < 100 || *code > 599) return item.Fail("status code must be 100..599");
      opt.valid_status_codes.push_back(static_cast<int>(*code));
    }
    if (opt.valid_status_codes.empty()) return v->Fail("list is empty; omit it for any 2xx");
  }
  auto must = ParseRegexes(node, "fail_if_body_not_matches_regexp");
  if (!must) return must.error();
  opt.must_match = *must;
  auto must_not = ParseRegexes(node, "fail_if_body_matches_regexp");
  if (!must_not) return must_not.error();
  opt.must_not_match = *must_not;
  if (auto s = ReadOptional(node, "follow_redirects", spec.follow_redirects); !s) {
    return s.error();
  }
  if (auto l = node.Get("body_size_limit")) {
    auto text = l->AsString();
    if (!text) return text.error();
    auto n = ParseByteSize(*text);
    if (!n) {
      return l->Fail("\"" + *text +
                     "\" is not a positive byte size (a number of bytes, or with a unit: 512KiB, "
                     "1MiB, 1MB, ...)");
    }
    spec.body_size_limit = *n;
  }
  if (auto s = ReadOptional(node, "tls_session_resumption", opt.tls_session.resumption); !s) {
    return s.error();
  }
  if (auto f = node.Get("tls_full_handshake_every")) {
    auto d = f->AsDuration();
    if (!d) return d.error();
    if (d->count() <= 0) return f->Fail("must be a positive duration, e.g. 1m");
    opt.tls_session.full_handshake_every = *d;
  }
  auto tls_node = node.Get("tls");
  if (tls_node) {
    auto tls = ParseTlsClientOptions(*tls_node);
    if (!tls) return tls.error();
    opt.tls = *tls;
  }
  auto bearer = SecretRef::FromYaml(node, "bearer_token");
  if (!bearer) return bearer.error();
  opt.bearer_token = *bearer;
  if (auto ba = node.Get("basic_auth")) {
    auto basic = ParseBasicAuth(*ba);
    if (!basic) return basic.error();
    opt.basic_auth = std::move(*basic);
    if (opt.bearer_token) return ba->Fail("set either bearer_token or basic_auth, not both");
  }
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  if (parsed.target.https) {
    auto ctx = SharedClientSslCtx(opt.tls);
    if (!ctx) return (tls_node ? *tls_node : node).Fail(ctx.error().message);
    parsed.ssl_ctx = *ctx;
  }
  if (!(opt == HttpOptions{})) spec.options = std::make_shared<const HttpOptions>(std::move(opt));
  parsed.spec = std::move(spec);
  return parsed;
}

}  // namespace

Result<std::shared_ptr<Prober>> NewHttpProber(const YamlNode& node, const ProberContext& ctx) {
  auto parsed = ParseHttpSpec(node, ctx);
  if (!parsed) return parsed.error();
  return std::shared_ptr<Prober>(std::make_shared<HttpProber>(
      std::move(parsed->spec), std::move(parsed->target), std::move(parsed->ssl_ctx)));
}

}  // namespace failover
