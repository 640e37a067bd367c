#include "exporter/probers/http.h"

#include <curl/curl.h>
#include <re2/re2.h>
#include <strings.h>

#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string_view>

#include "common/basic_auth.h"
#include "common/curl_tls.h"
#include "common/secret.h"
#include "exporter/curl_multi.h"
#include "exporter/probers/curl_probe.h"
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

// The URL itself lives in the prober's CurlTlsState, as libcurl is given it.
struct HttpSpec {
  std::uint8_t method = 0;  // index into kMethods
  bool follow_redirects = true;
  size_t body_size_limit = kDefaultBodyLimit;
  Duration timeout;
  std::shared_ptr<const HttpOptions> options;  // null: all at their defaults
};

class HttpProber final : public Prober, public std::enable_shared_from_this<HttpProber> {
 public:
  explicit HttpProber(HttpSpec spec) : spec_(std::move(spec)) {}
  ~HttpProber() override { curl_slist_free_all(static_headers_); }

  // Validates what libcurl will be given; runs once, at config load.
  Status Init(const std::string& url) {
    if (auto s = PrepareUrlAndTls(url, opt().tls, tls_state_); !s) return s;
    for (const auto& [k, v] : opt().headers) {
      static_headers_ = curl_slist_append(static_headers_, (k + ": " + v).c_str());
    }
    if (url.size() >= 8 && strncasecmp(url.c_str(), "https://", 8) == 0) {
      tls_sessions_ = std::make_unique<TlsSessionCache>(opt().tls_session);
    }
    return {};
  }

  // Sets this probe's options on a (reset) handle: a handful of setopt calls per run.
  void Configure(CURL* h) const {
    SetCommonCurlOptions(h);
    const HttpOptions& o = opt();
    SetUrlAndTlsOptions(h, o.tls, tls_state_);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, spec_.follow_redirects ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    // An https URL reads the expiry while the chain is verified (tls_session.h); an http
    // one that redirects to https gets it from libcurl's certificate info.
    if (tls_sessions_ == nullptr) curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
    // libcurl's session cache would resume across probes (its handles are pooled).
    curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "failover_exporter");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    if (method() == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (method() == "POST") {
      // A plain POST (not CUSTOMREQUEST), so a followed 301/302/303 becomes a GET the
      // way browsers and clients do, instead of a POST without its body.
      curl_easy_setopt(h, CURLOPT_POST, 1L);
    } else if (method() != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, kMethods[spec_.method]);
    }
    if (!o.body.empty() || method() == "POST") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, o.body.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(o.body.size()));
      if (method() == "GET") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "GET");
    }
    if (static_headers_ != nullptr) curl_easy_setopt(h, CURLOPT_HTTPHEADER, static_headers_);
    if (o.basic_auth) {
      curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(h, CURLOPT_USERNAME, o.basic_auth->username.c_str());
    }
  }

  void Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) override;

 private:
  struct Run {
    std::shared_ptr<HttpProber> prober;
    ProbeDone done;
    std::string body;
    size_t received = 0;  // body bytes so far, kept or not
    bool body_too_large = false;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_slist* auth_headers = nullptr;
    TlsSessionCache::Run tls;          // https URLs
    std::optional<double> tls_expiry;  // from tls_sessions_, when there is one
    ~Run() { curl_slist_free_all(auth_headers); }
  };

  static size_t OnBody(char* data, size_t size, size_t n, void* user) {
    auto* run = static_cast<Run*>(user);
    size_t len = size * n;
    const HttpProber& p = *run->prober;
    // Past the limit the transfer stops, kept for the regexes or not: a body that never
    // ends (or a huge one) fails now instead of downloading until the timeout.
    if (len > p.spec_.body_size_limit - run->received) {
      run->body_too_large = true;
      return 0;  // libcurl ends the transfer with CURLE_WRITE_ERROR
    }
    run->received += len;
    if (p.opt().must_match.empty() && p.opt().must_not_match.empty()) return len;  // not kept
    run->body.append(data, len);
    return len;
  }

  ProbeResult Finish(CURL* h, CURLcode rc, Run& run) const;

  const HttpOptions& opt() const {
    static const HttpOptions kDefaults;
    return spec_.options != nullptr ? *spec_.options : kDefaults;
  }

  std::string_view method() const { return kMethods[spec_.method]; }

  HttpSpec spec_;
  curl_slist* static_headers_ = nullptr;
  CurlTlsState tls_state_;
  std::unique_ptr<TlsSessionCache> tls_sessions_;  // https URLs only
};

void HttpProber::Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) {
  auto run = std::make_shared<Run>();
  run->prober = shared_from_this();
  run->done = std::move(done);
  CURL* h = env.curl->Acquire();
  Configure(h);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &HttpProber::OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, run.get());
  // A Content-Length over the limit fails before the body is read.
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(spec_.body_size_limit));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, run->errbuf);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, MillisUntil(deadline));
  if (tls_sessions_ != nullptr)
    tls_sessions_->Configure(h, run->tls, std::chrono::steady_clock::now());
  // Secrets are read per run, so a rotated token file is used without a reload.
  const HttpOptions& o = opt();
  if (o.bearer_token || o.basic_auth) {
    if (o.bearer_token) {
      auto token = o.bearer_token->Resolve();
      if (!token) {
        env.curl->Release(h);
        run->done(ProbeResult::Failure("error", "bearer token: " + token.error().message));
        return;
      }
      for (curl_slist* s = static_headers_; s != nullptr; s = s->next) {
        run->auth_headers = curl_slist_append(run->auth_headers, s->data);
      }
      run->auth_headers =
          curl_slist_append(run->auth_headers, ("Authorization: Bearer " + *token).c_str());
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, run->auth_headers);
    }
    if (o.basic_auth) {
      auto pw = o.basic_auth->password.Resolve();
      if (!pw) {
        env.curl->Release(h);
        run->done(ProbeResult::Failure("error", "basic auth password: " + pw.error().message));
        return;
      }
      curl_easy_setopt(h, CURLOPT_PASSWORD, pw->c_str());  // libcurl copies it
    }
  }
  CurlMulti* curl = env.curl;
  curl->Add(h, [run, curl](CURL* easy, CURLcode rc) {
    if (run->prober->tls_sessions_ != nullptr) {
      run->tls_expiry =
          run->prober->tls_sessions_->Finish(run->tls, std::chrono::steady_clock::now());
    }
    ProbeResult result = run->prober->Finish(easy, rc, *run);
    curl->Release(easy);
    ProbeDone done = std::move(run->done);
    done(std::move(result));
  });
}

ProbeResult HttpProber::Finish(CURL* h, CURLcode rc, Run& run) const {
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  ProbeResult result;
  if ((rc == CURLE_WRITE_ERROR && run.body_too_large) || rc == CURLE_FILESIZE_EXCEEDED) {
    result = ProbeResult::Failure("body_too_large", "response body exceeds body_size_limit of " +
                                                        std::to_string(spec_.body_size_limit) +
                                                        " bytes");
  } else if (rc != CURLE_OK) {
    result = CurlFailure(h, rc, run.errbuf, spec_.timeout);
  } else {
    bool status_ok = false;
    const HttpOptions& o = opt();
    if (o.valid_status_codes.empty()) {
      status_ok = status >= 200 && status < 300;
    } else {
      for (int c : o.valid_status_codes) status_ok = status_ok || c == status;
    }
    result.success = true;
    if (!status_ok) {
      result = ProbeResult::Failure(
          "http_status",
          "status " + std::to_string(status) +
              (o.valid_status_codes.empty() ? " is not 2xx" : " is not in valid_status_codes"));
    } else {
      for (const auto& re : o.must_match) {
        if (!RE2::PartialMatch(run.body, *re)) {
          result = ProbeResult::Failure("body_not_matched",
                                        "body does not match \"" + re->pattern() + "\"");
          break;
        }
      }
      if (result.success) {
        for (const auto& re : o.must_not_match) {
          if (RE2::PartialMatch(run.body, *re)) {
            result = ProbeResult::Failure("body_matched", "body matches \"" + re->pattern() + "\"");
            break;
          }
        }
      }
    }
  }
  // The phases' label sets are made once, shared by every probe's results.
  static const SampleLabels kResolve({{"phase", "resolve"}}), kConnect({{"phase", "connect"}}),
      kTls({{"phase", "tls"}}), kProcessing({{"phase", "processing"}}),
      kTransfer({{"phase", "transfer"}});
  result.samples.reserve(7);
  result.samples.push_back({&kHttpStatusMetric, {}, static_cast<double>(status)});
  curl_off_t t_dns = 0, t_conn = 0, t_app = 0, t_pre = 0, t_start = 0, t_total = 0;
  curl_easy_getinfo(h, CURLINFO_NAMELOOKUP_TIME_T, &t_dns);
  curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &t_conn);
  curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &t_app);
  curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &t_pre);
  curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &t_start);
  curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &t_total);
  auto sec = [](curl_off_t a, curl_off_t b) {
    return a > b ? static_cast<double>(a - b) / 1e6 : 0.0;
  };
  curl_off_t connected = t_app > 0 ? t_app : t_conn;
  result.samples.push_back({&kHttpPhaseMetric, kResolve, sec(t_dns, 0)});
  result.samples.push_back({&kHttpPhaseMetric, kConnect, sec(t_conn, t_dns)});
  result.samples.push_back({&kHttpPhaseMetric, kTls, t_app > 0 ? sec(t_app, t_conn) : 0.0});
  result.samples.push_back({&kHttpPhaseMetric, kProcessing,
                            t_start > 0 ? sec(t_start, std::max(t_pre, connected)) : 0.0});
  result.samples.push_back(
      {&kHttpPhaseMetric, kTransfer, t_start > 0 ? sec(t_total, t_start) : 0.0});
  auto expiry = tls_sessions_ != nullptr ? run.tls_expiry : CertExpiry(h);
  if (expiry) result.samples.push_back({&kTlsExpiryMetric, {}, *expiry});
  return result;
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

// A probe's block as parsed: the URL (which the prober keeps in libcurl's form) and the
// rest of the spec. The keys read here are the keys an http probe accepts.
struct ParsedHttp {
  std::string url;
  HttpSpec spec;
};

Result<ParsedHttp> ParseHttpSpec(const YamlNode& node, const ProberContext& ctx) {
  HttpSpec spec;
  HttpOptions opt;
  spec.timeout = ctx.timeout;
  auto url = node.Require("url");
  if (!url) return url.error();
  auto url_s = url->AsString();
  if (!url_s) return url_s.error();
  if (auto v = ValidateHttpUrl(*url_s); !v) return url->Fail(v.error().message);
  ParsedHttp parsed;
  parsed.url = *url_s;
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
  if (auto t = node.Get("tls")) {
    auto tls = ParseTlsClientOptions(*t);
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
  if (!(opt == HttpOptions{})) spec.options = std::make_shared<const HttpOptions>(std::move(opt));
  parsed.spec = std::move(spec);
  return parsed;
}

}  // namespace

Result<std::shared_ptr<Prober>> NewHttpProber(const YamlNode& node, const ProberContext& ctx) {
  auto parsed = ParseHttpSpec(node, ctx);
  if (!parsed) return parsed.error();
  auto prober = std::make_shared<HttpProber>(std::move(parsed->spec));
  if (auto s = prober->Init(parsed->url); !s) return node.Fail(s.error().message);
  return std::shared_ptr<Prober>(prober);
}

}  // namespace failover
