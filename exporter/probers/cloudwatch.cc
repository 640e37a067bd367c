#include "exporter/probers/cloudwatch.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <thread>

#include "common/aws_api.h"
#include "common/aws_credentials.h"
#include "common/aws_sigv4.h"
#include "common/curl_tls.h"
#include "common/time_format.h"
#include "common/xml.h"
#include "exporter/config.h"
#include "exporter/curl_multi.h"
#include "exporter/event_loop.h"
#include "exporter/probers/curl_probe.h"
#include "exporter/probers/db_probe.h"
#include "exporter/probers/spec_prober.h"

namespace failover {

const MetricDesc kReplicationSampleAgeMetric = {
    "failover_replication_sample_age_seconds",
    "CloudWatch: how old the datapoint behind failover_replication_lag_seconds is (now minus "
    "the start of its period). Present while there is a datapoint, also a stale one."};

namespace {

constexpr size_t kMaxBody = 1 << 20;
constexpr size_t kMaxMetrics = 500;  // GetMetricData's limit of queries per call
constexpr size_t kMaxDimensions = 30;

struct CwMetric {
  std::string id;  // m0, m1, ... (MetricDataQueries Id)
  std::string ns;
  std::string name;
  std::vector<std::pair<std::string, std::string>> dimensions;
  std::string unit;  // CloudWatch's unit name, sent as the query's Unit filter
  double to_seconds = 1;
  SampleLabels labels;
  std::string describe;  // "AWS/RDS AuroraGlobalDBReplicationLag{DBClusterIdentifier=x}"
};

// A cloudwatch probe's block as parsed (ParseCwSpec); the keys read there are the keys a
// cloudwatch probe accepts.
struct CwSpec {
  std::string region;
  std::string url;  // without a trailing '/'; default https://monitoring.<region>.amazonaws.com
  std::string stat = "Maximum";
  Duration period = std::chrono::seconds(60);
  Duration max_age{0};  // default 5 periods
  Duration timeout{0};  // the probe's timeout
  std::vector<CwMetric> metrics;
  AwsCredentialSource creds;  // the credential keys (common/aws_credentials.h)
};

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0fs", s);
  return buf;
}

// Form encoding of one key=value pair (RFC 3986 unreserved characters kept).
void AddParam(std::string& out, const std::string& k, const std::string& v) {
  if (!out.empty()) out += '&';
  out += AwsUriEncode(k, true) + "=" + AwsUriEncode(v, true);
}

// Credentials resolved on a thread of their own: instance metadata and STS are HTTP calls
// that block (rarely: the answers are cached until shortly before they expire), and the
// loop must not wait for them. The thread lives only as long as the call.
struct CredentialFetch {
  std::mutex mu;
  bool finished = false;
  std::optional<Result<AwsCredentials>> result;
  int efd = -1;
  ~CredentialFetch() {
    if (efd >= 0) close(efd);
  }

  static std::shared_ptr<CredentialFetch> Start(const AwsCredentialSource& source) {
    auto f = std::make_shared<CredentialFetch>();
    f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    auto work = [f, source] {
      CurlHttpClient http;
      auto r = source.Resolve(&http, &SystemClock::Get());
      std::lock_guard<std::mutex> lock(f->mu);
      f->result = std::move(r);
      f->finished = true;
      uint64_t one = 1;
      if (f->efd >= 0) {
        ssize_t n = write(f->efd, &one, sizeof one);
        (void)n;
      }
    };
    if (f->efd < 0) {
      work();
    } else {
      try {
        std::thread(work).detach();
      } catch (const std::system_error&) {
        work();
      }
    }
    return f;
  }
};

class CloudWatchProber final : public Prober,
                               public std::enable_shared_from_this<CloudWatchProber> {
 public:
  explicit CloudWatchProber(CwSpec spec) : spec_(std::move(spec)) {}

  void Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) override {
    if (env.loop == nullptr || env.curl == nullptr) {
      done(ProbeResult::Failure("error", "no event loop in this exporter (internal error)"));
      return;
    }
    auto run = std::make_shared<Run>();
    run->p = shared_from_this();
    run->loop = env.loop;
    run->curl = env.curl;
    run->deadline = deadline;
    run->done = std::move(done);
    run->fetch = CredentialFetch::Start(spec_.creds);
    run->timer = env.loop->AddTimer(deadline, [run] {
      run->timer = 0;
      run->Finish(ProbeResult::Failure("timeout", "no AWS credentials within " +
                                                      FormatDuration(run->p->spec_.timeout) + " (" +
                                                      run->p->spec_.creds.Describe() + ")"));
    });
    if (run->fetch->efd >= 0) {
      run->watching = true;
      env.loop->Watch(run->fetch->efd, EPOLLIN, [run](uint32_t) { run->CredentialsReady(); });
    } else {
      run->CredentialsReady();
    }
  }

 private:
  struct Run : std::enable_shared_from_this<Run> {
    std::shared_ptr<CloudWatchProber> p;
    EventLoop* loop = nullptr;
    CurlMulti* curl = nullptr;
    MonoTime deadline;
    ProbeDone done;
    std::shared_ptr<CredentialFetch> fetch;
    EventLoop::TimerId timer = 0;
    bool watching = false;
    bool finished = false;
    // The transfer.
    AwsCredentials creds;
    std::string post;
    std::string body;
    bool too_large = false;
    curl_slist* headers = nullptr;
    char errbuf[CURL_ERROR_SIZE] = {0};

    ~Run() { curl_slist_free_all(headers); }

    void StopWatching() {
      if (watching) loop->Unwatch(fetch->efd);
      watching = false;
    }

    void Finish(ProbeResult result) {
      if (finished) return;
      finished = true;
      StopWatching();
      if (timer != 0) loop->CancelTimer(timer);
      timer = 0;
      ProbeDone d = std::move(done);
      d(std::move(result));
    }

    void CredentialsReady() {
      std::optional<Result<AwsCredentials>> r;
      {
        std::lock_guard<std::mutex> lock(fetch->mu);
        if (!fetch->finished) return;
        r = std::move(fetch->result);
      }
      StopWatching();
      if (finished) return;
      if (!*r) {
        Finish(ProbeResult::Failure("auth_failed", "AWS credentials (" + p->spec_.creds.Describe() +
                                                       "): " + r->error().message));
        return;
      }
      creds = **r;
      // From here curl's own timeout ends the run at the deadline.
      if (timer != 0) loop->CancelTimer(timer);
      timer = 0;
      Send();
    }

    void Send();
    ProbeResult Outcome(CURL* h, CURLcode rc);
  };

  static size_t OnBody(char* data, size_t size, size_t n, void* user) {
    auto* run = static_cast<Run*>(user);
    size_t len = size * n;
    if (run->body.size() + len > kMaxBody) {
      run->too_large = true;
      return 0;
    }
    run->body.append(data, len);
    return len;
  }

  // The GetMetricData request: a window that ends now and reaches back twice max_age
  // (aligned to the period), newest datapoints first. A datapoint older than max_age is
  // still fetched, so that its age can be shown.
  std::string RequestBody(WallTime now) const {
    const CwSpec& s = spec_;
    auto period_s = std::chrono::duration_cast<std::chrono::seconds>(s.period).count();
    long long end =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + 1;
    long long start =
        end - 2 * std::chrono::duration_cast<std::chrono::seconds>(s.max_age).count() - period_s;
    start -= ((start % period_s) + period_s) % period_s;
    std::string out;
    AddParam(out, "Action", "GetMetricData");
    AddParam(out, "Version", "2010-08-01");
    AddParam(out, "StartTime", FormatUtc(static_cast<double>(start)));
    AddParam(out, "EndTime", FormatUtc(static_cast<double>(end)));
    AddParam(out, "ScanBy", "TimestampDescending");
    for (size_t i = 0; i < s.metrics.size(); ++i) {
      const CwMetric& m = s.metrics[i];
      std::string q = "MetricDataQueries.member." + std::to_string(i + 1) + ".";
      AddParam(out, q + "Id", m.id);
      AddParam(out, q + "MetricStat.Metric.Namespace", m.ns);
      AddParam(out, q + "MetricStat.Metric.MetricName", m.name);
      for (size_t d = 0; d < m.dimensions.size(); ++d) {
        std::string dim = q + "MetricStat.Metric.Dimensions.member." + std::to_string(d + 1) + ".";
        AddParam(out, dim + "Name", m.dimensions[d].first);
        AddParam(out, dim + "Value", m.dimensions[d].second);
      }
      AddParam(out, q + "MetricStat.Period", std::to_string(period_s));
      AddParam(out, q + "MetricStat.Stat", s.stat);
      AddParam(out, q + "MetricStat.Unit", m.unit);
      AddParam(out, q + "ReturnData", "true");
    }
    return out;
  }

  ProbeResult Evaluate(const std::string& xml, WallTime now) const;

  CwSpec spec_;
};

void CloudWatchProber::Run::Send() {
  const CwSpec& s = p->spec_;
  WallTime now = SystemClock::Get().WallNow();
  post = p->RequestBody(now);
  HttpRequest req;
  req.method = "POST";
  req.url = s.url + "/";
  req.body = post;
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  if (auto st = SignHttpRequest(req, creds, s.region, "monitoring", now); !st) {
    Finish(ProbeResult::Failure("error", "signing GetMetricData: " + st.error().message));
    return;
  }
  for (const auto& [k, v] : req.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  headers = curl_slist_append(headers, "Expect:");
  CURL* h = curl->Acquire();
  SetCommonCurlOptions(h);
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "failover_exporter");
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, post.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &CloudWatchProber::OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, MillisUntil(deadline));
  auto self = shared_from_this();
  CurlMulti* multi = curl;
  multi->Add(h, [self, multi](CURL* easy, CURLcode rc) {
    ProbeResult r = self->Outcome(easy, rc);
    multi->Release(easy);
    self->Finish(std::move(r));
  });
}

ProbeResult CloudWatchProber::Run::Outcome(CURL* h, CURLcode rc) {
  const CwSpec& s = p->spec_;
  if (too_large) {
    return ProbeResult::Failure("body_too_large", "GetMetricData answer larger than 1 MiB");
  }
  if (rc != CURLE_OK) return CurlFailure(h, rc, errbuf, s.timeout);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status == 200) {
    ProbeResult r = p->Evaluate(body, SystemClock::Get().WallNow());
    r.detail = RedactCredentials(r.detail, creds);
    return r;
  }
  auto info = ParseAwsError(body);
  std::string code = info ? info->code : "";
  std::string text = info ? info->code + ": " + ErrorLabelValue(info->message)
                          : ErrorLabelValue(body.substr(0, 200));
  std::string where = "GetMetricData at " + s.url + ": HTTP " + std::to_string(status) + " " + text;
  where = RedactCredentials(where, creds);
  if (status == 429 || code == "Throttling" || code == "ThrottlingException" ||
      code == "RequestLimitExceeded" || code == "TooManyRequestsException") {
    return ProbeResult::Failure(
        "throttled", where +
                         " (CloudWatch throttled the call: the next run asks again; fewer or "
                         "slower cloudwatch probes, or a higher GetMetricData quota, stop it)");
  }
  if (status == 401 || status == 403 || code == "SignatureDoesNotMatch" ||
      code == "InvalidClientTokenId" || code == "IncompleteSignature" || code == "AccessDenied" ||
      code == "AccessDeniedException" || code == "MissingAuthenticationToken" ||
      code == "ExpiredToken") {
    return ProbeResult::Failure("auth_failed",
                                where + " (check the AWS credentials: " + s.creds.Describe() +
                                    "; they need cloudwatch:GetMetricData)");
  }
  if (status >= 400 && status < 500) return ProbeResult::Failure("query_failed", where);
  return ProbeResult::Failure("http_status", where);
}

ProbeResult CloudWatchProber::Evaluate(const std::string& xml, WallTime now) const {
  auto doc = ParseXml(xml);
  if (!doc) {
    return ProbeResult::Failure("error",
                                "GetMetricData: the answer is not XML: " + doc.error().message);
  }
  const XmlElement* results = doc->Find("MetricDataResults");
  if (doc->name != "GetMetricDataResponse" || results == nullptr) {
    return ProbeResult::Failure("error",
                                "GetMetricData: no GetMetricDataResponse/MetricDataResults in the "
                                "answer (root <" +
                                    ErrorLabelValue(doc->name) + ">)");
  }
  std::map<std::string, const XmlElement*> by_id;
  for (const XmlElement* m : results->Children("member")) by_id[m->Text("Id")] = m;

  ProbeResult out;
  out.success = true;
  int failures = 0;
  auto fail = [&](const std::string& reason, const std::string& detail) {
    if (failures++ == 0) {
      out.success = false;
      out.reason = reason;
      out.detail = detail;
    }
  };
  const double max_age = ToSeconds(spec_.max_age);
  for (const CwMetric& m : spec_.metrics) {
    auto it = by_id.find(m.id);
    if (it == by_id.end()) {
      fail("error", m.describe + ": no result with Id " + m.id + " in the GetMetricData answer");
      continue;
    }
    const XmlElement& r = *it->second;
    std::string code = r.Text("StatusCode");
    std::vector<std::string> ts, vs;
    if (const XmlElement* t = r.Child("Timestamps")) {
      for (const XmlElement* e : t->Children("member")) ts.push_back(e->text);
    }
    if (const XmlElement* v = r.Child("Values")) {
      for (const XmlElement* e : v->Children("member")) vs.push_back(e->text);
    }
    if (code == "Forbidden" || code == "InternalError") {
      std::string msg;
      if (const XmlElement* ms = r.Child("Messages")) {
        for (const XmlElement* e : ms->Children("member")) msg += " " + e->Text("Value");
      }
      fail(code == "Forbidden" ? "auth_failed" : "error",
           m.describe + ": StatusCode " + code + (msg.empty() ? "" : ": " + ErrorLabelValue(msg)));
      continue;
    }
    if (ts.size() != vs.size()) {
      fail("error", m.describe + ": " + std::to_string(ts.size()) + " timestamps but " +
                        std::to_string(vs.size()) + " values");
      continue;
    }
    // The newest datapoint (whatever order the answer has).
    std::optional<WallTime> newest;
    double value = 0;
    bool bad = false;
    for (size_t i = 0; i < ts.size(); ++i) {
      auto t = ParseAwsTimestamp(ts[i]);
      char* end = nullptr;
      double v = std::strtod(vs[i].c_str(), &end);
      if (!t || vs[i].empty() || end == nullptr || *end != '\0' || !std::isfinite(v)) {
        bad = true;
        break;
      }
      if (!newest || *t > *newest) {
        newest = *t;
        value = v;
      }
    }
    if (bad) {
      fail("error", m.describe + ": a datapoint that is not a timestamp and a number");
      continue;
    }
    if (!newest) {
      fail("no_datapoints",
           m.describe + ": no datapoint in the last " +
               FormatDuration(2 * spec_.max_age + spec_.period) + " (period " +
               FormatDuration(spec_.period) + ", stat " + spec_.stat + ", unit " + m.unit +
               "): the lag is unknown, not 0 (wrong dimensions or unit, or nothing publishes it)");
      continue;
    }
    double age = std::max(0.0, std::chrono::duration<double>(now - *newest).count());
    out.samples.push_back({&kReplicationSampleAgeMetric, m.labels, age});
    if (age > max_age) {
      fail("sample_stale", m.describe + ": the newest datapoint is " + Seconds(age) +
                               " old (max_age " + FormatDuration(spec_.max_age) +
                               "): the lag is unknown, not 0");
      continue;
    }
    out.samples.push_back(
        {&kReplicationLagSecondsMetric, m.labels, std::max(0.0, value) * m.to_seconds});
  }
  if (failures > 1) out.detail += " (and " + std::to_string(failures - 1) + " more)";
  return out;
}

Result<std::string> NonEmptyString(const YamlNode& node, const char* key, bool required) {
  auto n = node.Get(key);
  if (!n) {
    if (required) return node.Fail(std::string("missing required key \"") + key + "\"");
    return std::string();
  }
  auto s = n->AsString();
  if (!s) return s.error();
  if (s->empty()) return n->Fail(std::string(key) + " is empty");
  return *s;
}

}  // namespace

std::string SnakeCase(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (std::isupper(c)) {
      bool prev_lower = i > 0 && (std::islower(static_cast<unsigned char>(name[i - 1])) ||
                                  std::isdigit(static_cast<unsigned char>(name[i - 1])));
      bool next_lower =
          i + 1 < name.size() && std::islower(static_cast<unsigned char>(name[i + 1]));
      bool prev_upper = i > 0 && std::isupper(static_cast<unsigned char>(name[i - 1]));
      if (!out.empty() && out.back() != '_' && (prev_lower || (prev_upper && next_lower))) {
        out += '_';
      }
      out += static_cast<char>(std::tolower(c));
    } else if (std::isalnum(c)) {
      out += static_cast<char>(c);
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  return out;
}

namespace {

Result<CwSpec> ParseCwSpec(const YamlNode& node, const ProberContext& ctx) {
  CwSpec spec;
  spec.timeout = ctx.timeout;

  auto region = NonEmptyString(node, "region", true);
  if (!region) return region.error();
  if (!LooksLikeAwsRegion(*region)) {
    return node.Get("region")->Fail("expected an AWS region like us-west-2, found \"" + *region +
                                    "\"");
  }
  spec.region = *region;
  spec.url = "https://monitoring." + spec.region + ".amazonaws.com";
  auto url = NonEmptyString(node, "url", false);
  if (!url) return url.error();
  if (!url->empty()) {
    std::string u = *url;
    if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) {
      return node.Get("url")->Fail("expected an http:// or https:// URL, found \"" + u + "\"");
    }
    if (auto v = ValidateHttpUrl(u); !v) return node.Get("url")->Fail(v.error().message);
    while (!u.empty() && u.back() == '/') u.pop_back();
    spec.url = u;
  }

  if (auto p = node.Get("period")) {
    auto d = p->AsDuration();
    if (!d) return d.error();
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(*d);
    long long n = secs.count();
    bool ok = secs == *d && (n == 1 || n == 5 || n == 10 || n == 30 || (n > 0 && n % 60 == 0));
    if (!ok) {
      return p->Fail(
          "period must be 1s, 5s, 10s or 30s (high-resolution metrics) or a multiple "
          "of 60s, found " +
          FormatDuration(*d));
    }
    spec.period = *d;
  }
  if (auto st = node.Get("stat")) {
    auto s = st->AsString();
    if (!s) return s.error();
    bool ok =
        *s == "Maximum" || *s == "Minimum" || *s == "Average" || *s == "Sum" || *s == "SampleCount";
    if (!ok && s->size() > 1 && (*s)[0] == 'p') {
      char* end = nullptr;
      double q = std::strtod(s->c_str() + 1, &end);
      ok = end != nullptr && *end == '\0' && q >= 0 && q <= 100;
    }
    if (!ok) {
      return st->Fail(
          "stat must be Maximum, Minimum, Average, Sum, SampleCount or a percentile "
          "(p99, p99.9), found \"" +
          *s + "\"");
    }
    spec.stat = *s;
  }
  spec.max_age = 5 * spec.period;
  if (auto ma = node.Get("max_age")) {
    auto d = ma->AsDuration();
    if (!d) return d.error();
    if (*d < spec.period) {
      return ma->Fail("max_age " + FormatDuration(*d) + " is shorter than the period (" +
                      FormatDuration(spec.period) +
                      "): every datapoint would be stale (CloudWatch publishes a period's "
                      "datapoint after it ends, often a minute or two later)");
    }
    spec.max_age = *d;
  }

  auto list = node.Require("metrics");
  if (!list) return list.error();
  auto items = list->Items();
  if (!items) return items.error();
  if (items->empty()) return list->Fail("metrics is empty: name at least one metric");
  if (items->size() > kMaxMetrics) {
    return list->Fail("at most 500 metrics per probe (GetMetricData's limit), found " +
                      std::to_string(items->size()));
  }
  std::map<SampleLabels::Pairs, size_t> seen;
  for (size_t i = 0; i < items->size(); ++i) {
    const YamlNode& item = (*items)[i];
    if (auto s = item.ExpectMap(); !s) return s.error();
    CwMetric m;
    m.id = "m" + std::to_string(i);
    auto ns = NonEmptyString(item, "namespace", true);
    if (!ns) return ns.error();
    auto name = NonEmptyString(item, "metric_name", true);
    if (!name) return name.error();
    m.ns = *ns;
    m.name = *name;
    if (auto d = item.Get("dimensions")) {
      auto entries = d->Entries();
      if (!entries) return entries.error();
      if (entries->size() > kMaxDimensions) {
        return d->Fail("at most 30 dimensions per metric (CloudWatch's limit)");
      }
      for (const auto& [k, v] : *entries) {
        auto s = v.AsString();
        if (!s) return s.error();
        if (k.empty() || s->empty()) return v.Fail("dimension names and values must not be empty");
        m.dimensions.emplace_back(k, *s);
      }
    }
    auto unit = NonEmptyString(item, "unit", false);
    if (!unit) return unit.error();
    if (unit->empty()) {
      // The two lag metrics the issue names; both are published in milliseconds.
      if (m.name == "AuroraGlobalDBReplicationLag" || m.name == "ReplicationLatency") {
        *unit = "Milliseconds";
      } else {
        return item.Fail("unit is required for " + m.name +
                         " (Seconds, Milliseconds or Microseconds): GetMetricData does not say "
                         "the unit, and a lag read in the wrong one is off by 1000");
      }
    }
    if (*unit == "Seconds") {
      m.to_seconds = 1;
    } else if (*unit == "Milliseconds") {
      m.to_seconds = 1e-3;
    } else if (*unit == "Microseconds") {
      m.to_seconds = 1e-6;
    } else {
      return item.Get("unit")->Fail("unit must be Seconds, Milliseconds or Microseconds, found \"" +
                                    *unit + "\"");
    }
    m.unit = *unit;
    SampleLabels::Pairs labels;
    if (auto l = item.Get("labels")) {
      auto parsed = ParseLabelMap(*l, "is not a Prometheus label name");
      if (!parsed) return parsed.error();
      labels = std::move(*parsed);
    } else {
      for (const auto& [k, v] : m.dimensions) {
        std::string label = SnakeCase(k);
        if (!ValidLabelName(label) || IsReservedLabel(label)) {
          return item.Fail("dimension " + k + " would be label \"" + label +
                           "\", which is reserved or not a label name: set labels: for this "
                           "metric");
        }
        labels.emplace_back(label, v);
      }
    }
    if (auto s = item.RejectUnreadKeys(); !s) return s.error();
    std::sort(labels.begin(), labels.end());
    if (auto [it, fresh] = seen.emplace(labels, i); !fresh) {
      return item.Fail("metrics " + std::to_string(it->second + 1) + " and " +
                       std::to_string(i + 1) +
                       " would export the same series: give them different labels");
    }
    m.labels = labels;
    m.describe = m.ns + " " + m.name + "{";
    for (size_t d = 0; d < m.dimensions.size(); ++d) {
      m.describe += (d ? "," : "") + m.dimensions[d].first + "=" + m.dimensions[d].second;
    }
    m.describe += "}";
    spec.metrics.push_back(std::move(m));
  }

  auto creds = AwsCredentialSource::FromYaml(node);
  if (!creds) return creds.error();
  spec.creds = *creds;
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  return spec;
}

}  // namespace

Result<std::shared_ptr<Prober>> NewCloudWatchProber(const YamlNode& node,
                                                    const ProberContext& ctx) {
  return ProberFromSpec<CloudWatchProber>(ParseCwSpec(node, ctx));
}

}  // namespace failover
