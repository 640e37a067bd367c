#include "exporter/probers/tcp.h"

#include <curl/curl.h>

#include "common/curl_tls.h"
#include "exporter/curl_multi.h"
#include "exporter/probers/curl_probe.h"

namespace failover {
namespace {

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

}  // namespace

Result<std::shared_ptr<Prober>> NewTcpProber(const YamlNode& node, const ProberContext& ctx) {
  if (auto s = node.ExpectKeys({"address", "tls", "tls_config"}); !s) return s.error();
  auto addr = node.Require("address");
  if (!addr) return addr.error();
  auto addr_s = addr->AsString();
  if (!addr_s) return addr_s.error();
  auto hp = SplitHostPort(*addr_s);
  if (!hp) return addr->Fail(hp.error().message);
  bool tls = false;
  if (auto t = node.Get("tls")) {
    auto b = t->AsBool();
    if (!b) return b.error();
    tls = *b;
  }
  std::shared_ptr<const TlsClientOptions> opts;
  if (auto tc = node.Get("tls_config")) {
    if (!tls) return tc->Fail("tls_config needs tls: true");
    auto o = ParseTlsOptions(*tc);
    if (!o) return o.error();
    opts = std::make_shared<const TlsClientOptions>(std::move(*o));
  }
  std::string host = hp->first.find(':') != std::string::npos ? "[" + hp->first + "]" : hp->first;
  std::string url =
      std::string(tls ? "https" : "http") + "://" + host + ":" + std::to_string(hp->second) + "/";
  auto prober = std::make_shared<TcpProber>(tls, std::move(opts), ctx.timeout);
  if (auto s = prober->Init(url); !s) return node.Fail(s.error().message);
  return std::shared_ptr<Prober>(prober);
}

}  // namespace failover
