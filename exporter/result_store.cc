#include "exporter/result_store.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace failover {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::vector<ClientMetric::Label> BaseLabels(const ProbeIdentity& id) {
  std::vector<ClientMetric::Label> out;
  out.push_back({"probe", id.name});
  if (!id.region.empty()) out.push_back({"region", id.region});
  out.push_back({"kind", id.kind});
  for (const auto& [k, v] : id.labels) out.push_back({k, v});
  return out;
}

ClientMetric Metric(std::vector<ClientMetric::Label> labels) {
  ClientMetric m;
  m.label = std::move(labels);
  return m;
}

// A label value in the text format: backslash, double quote and newline escaped.
void AppendEscaped(std::string& out, std::string_view value) {
  for (;;) {
    size_t i = value.find_first_of("\\\"\n");
    out.append(value.substr(0, i));
    if (i == std::string_view::npos) return;
    out += '\\';
    out += value[i] == '\n' ? 'n' : value[i];
    value.remove_prefix(i + 1);
  }
}

void AppendLabel(std::string& out, const std::string& name, const std::string& value) {
  if (!out.empty() && out.back() != '{') out += ',';
  out += name;
  out += "=\"";
  AppendEscaped(out, value);
  out += '"';
}

// Numbers as prometheus-cpp writes them: printf's %.16g (std::to_chars with precision
// 16 is defined as exactly that, without the locale and much faster), Nan, +Inf, -Inf.
void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "Nan";
  } else if (std::isinf(v)) {
    out += v < 0 ? "-Inf" : "+Inf";
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general,
                           std::numeric_limits<double>::max_digits10 - 1);
    out.append(buf, r.ptr);
  }
}

void AppendUint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void AppendHeader(std::string& out, const char* name, const char* help, const char* type) {
  if (help[0] != '\0') {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += '\n';
  }
  out += "# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// `name{labels[,extra]} ` -- the caller appends the value and the newline.
void AppendSeries(std::string& out, std::string_view name, std::string_view suffix,
                  const std::string& labels, std::string_view extra = {}) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra.empty()) out += ',';
    out += extra;
    out += '}';
  }
  out += ' ';
}

constexpr std::array<double, ResultStore::kBucketCount> kLatencyBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

}  // namespace

const std::vector<double>& ResultStore::Buckets() {
  static const std::vector<double> kBuckets(kLatencyBuckets.begin(), kLatencyBuckets.end());
  return kBuckets;
}

void ResultStore::SetProbes(const std::vector<ProbeIdentity>& probes) {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, Entry> next;
  for (const ProbeIdentity& id : probes) {
    auto it = entries_.find(id.name);
    if (it != entries_.end() && it->second.status.id == id) {
      next[id.name] = std::move(it->second);
      continue;
    }
    Entry e;
    e.status.id = id;
    AppendLabel(e.labels, "probe", id.name);
    if (!id.region.empty()) AppendLabel(e.labels, "region", id.region);
    AppendLabel(e.labels, "kind", id.kind);
    for (const auto& [k, v] : id.labels) AppendLabel(e.labels, k, v);
    next[id.name] = std::move(e);
  }
  entries_ = std::move(next);
}

void ResultStore::Record(const std::string& name, const ProbeResult& result,
                         double duration_seconds, WallTime when) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return;  // removed by a reload while the run was in flight
  Entry& e = it->second;
  e.status.has_run = true;
  e.status.success = result.success;
  e.status.reason = result.reason;
  e.status.detail = result.detail;
  e.status.duration_seconds = duration_seconds;
  e.status.last_run_unix = UnixSeconds(when);
  if (result.success) {
    ++e.status.successes;
  } else {
    ++e.status.failures;
  }
  e.samples = result.samples;
  const auto& b = kLatencyBuckets;
  size_t i = std::lower_bound(b.begin(), b.end(), duration_seconds) - b.begin();
  ++e.bucket_counts[i];
  e.latency_sum += duration_seconds;
}

std::vector<ProbeStatus> ResultStore::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ProbeStatus> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) out.push_back(e.status);
  return out;
}

void ResultStore::WriteText(std::string& out) const {
  // Series lines in the family order of Collect(); each family only if it has a series.
  std::string le[kBucketCount + 1];
  for (size_t i = 0; i < kBucketCount + 1; ++i) {
    le[i] = "le=\"";
    AppendDouble(le[i],
                 i < kBucketCount ? kLatencyBuckets[i] : std::numeric_limits<double>::infinity());
    le[i] += '"';
  }
  std::lock_guard<std::mutex> lock(mu_);
  // Reserve generously: pages of the reserve that are never written are never resident,
  // and growing a multi-megabyte string by doubling would copy it and hold both copies.
  size_t estimate = 0;
  for (const auto& [name, e] : entries_) estimate += 32 * (e.labels.size() + 64);
  out.reserve(out.size() + estimate);
  bool any_run = false, any_failure = false;
  std::vector<const MetricDesc*> extra;  // in order of first appearance
  for (const auto& [name, e] : entries_) {
    if (!e.status.has_run) continue;
    any_run = true;
    any_failure = any_failure || !e.status.success;
    for (const Sample& s : e.samples) {
      if (std::find(extra.begin(), extra.end(), s.desc) == extra.end()) extra.push_back(s.desc);
    }
  }
  auto gauge = [&](const char* name, const char* help, auto value) {
    AppendHeader(out, name, help, "gauge");
    for (const auto& [probe, e] : entries_) {
      if (!e.status.has_run) continue;
      AppendSeries(out, name, {}, e.labels);
      AppendDouble(out, value(e));
      out += '\n';
    }
  };
  if (any_run) {
    gauge("failover_probe_success", "1 if the last run of the probe succeeded, 0 if it failed.",
          [](const Entry& e) { return e.status.success ? 1.0 : 0.0; });
    gauge("failover_probe_duration_seconds", "How long the last run of the probe took.",
          [](const Entry& e) { return e.status.duration_seconds; });
    const char* latency = "failover_probe_latency_seconds";
    AppendHeader(out, latency, "Duration of every run of the probe since it was configured.",
                 "histogram");
    for (const auto& [probe, e] : entries_) {
      if (!e.status.has_run) continue;
      std::uint64_t count = 0;
      for (std::uint64_t c : e.bucket_counts) count += c;
      AppendSeries(out, latency, "_count", e.labels);
      AppendUint(out, count);
      out += '\n';
      AppendSeries(out, latency, "_sum", e.labels);
      AppendDouble(out, e.latency_sum);
      out += '\n';
      std::uint64_t cumulative = 0;
      for (size_t i = 0; i < kBucketCount + 1; ++i) {
        cumulative += e.bucket_counts[i];
        AppendSeries(out, latency, "_bucket", e.labels, le[i]);
        AppendUint(out, cumulative);
        out += '\n';
      }
    }
  }
  if (!entries_.empty()) {
    const char* runs = "failover_probe_runs_total";
    AppendHeader(out, runs, "Runs of the probe by result.", "counter");
    for (const auto& [probe, e] : entries_) {
      AppendSeries(out, runs, {}, e.labels, "result=\"success\"");
      AppendUint(out, e.status.successes);
      out += '\n';
      AppendSeries(out, runs, {}, e.labels, "result=\"failure\"");
      AppendUint(out, e.status.failures);
      out += '\n';
    }
  }
  if (any_failure) {
    const char* failure = "failover_probe_failure_info";
    AppendHeader(out, failure, "Present with value 1 while the last run failed; reason says why.",
                 "gauge");
    std::string reason;
    for (const auto& [probe, e] : entries_) {
      if (!e.status.has_run || e.status.success) continue;
      reason.clear();
      AppendLabel(reason, "reason", e.status.reason.empty() ? "error" : e.status.reason);
      AppendSeries(out, failure, {}, e.labels, reason);
      out += "1\n";
    }
  }
  if (any_run) {
    gauge("failover_probe_last_run_timestamp_seconds",
          "When the last run of the probe finished, as a Unix timestamp.",
          [](const Entry& e) { return e.status.last_run_unix; });
  }
  std::string labels;
  for (const MetricDesc* d : extra) {
    AppendHeader(out, d->name, d->help, "gauge");
    for (const auto& [probe, e] : entries_) {
      if (!e.status.has_run) continue;
      for (const Sample& s : e.samples) {
        if (s.desc != d) continue;
        if (s.labels.empty()) {
          AppendSeries(out, d->name, {}, e.labels);
        } else {
          labels = e.labels;
          for (const auto& [k, v] : s.labels) AppendLabel(labels, k, v);
          AppendSeries(out, d->name, {}, labels);
        }
        AppendDouble(out, s.value);
        out += '\n';
      }
    }
  }
}

std::vector<MetricFamily> ResultStore::Collect() const {
  MetricFamily success{"failover_probe_success",
                       "1 if the last run of the probe succeeded, 0 if it failed.",
                       MetricType::Gauge,
                       {}};
  MetricFamily duration{"failover_probe_duration_seconds",
                        "How long the last run of the probe took.",
                        MetricType::Gauge,
                        {}};
  MetricFamily latency{"failover_probe_latency_seconds",
                       "Duration of every run of the probe since it was configured.",
                       MetricType::Histogram,
                       {}};
  MetricFamily runs{
      "failover_probe_runs_total", "Runs of the probe by result.", MetricType::Counter, {}};
  MetricFamily failure{"failover_probe_failure_info",
                       "Present with value 1 while the last run failed; reason says why.",
                       MetricType::Gauge,
                       {}};
  MetricFamily last_run{"failover_probe_last_run_timestamp_seconds",
                        "When the last run of the probe finished, as a Unix timestamp.",
                        MetricType::Gauge,
                        {}};
  std::vector<const MetricDesc*> extra_order;
  std::unordered_map<const MetricDesc*, MetricFamily> extra;

  std::lock_guard<std::mutex> lock(mu_);
  const auto& bounds = Buckets();
  for (const auto& [name, e] : entries_) {
    auto base = BaseLabels(e.status.id);
    for (const char* result : {"success", "failure"}) {
      auto labels = base;
      labels.push_back({"result", result});
      ClientMetric m = Metric(std::move(labels));
      m.counter.value = static_cast<double>(std::string(result) == "success" ? e.status.successes
                                                                             : e.status.failures);
      runs.metric.push_back(std::move(m));
    }
    if (!e.status.has_run) continue;  // no result yet: no success/duration series
    ClientMetric s = Metric(base);
    s.gauge.value = e.status.success ? 1 : 0;
    success.metric.push_back(std::move(s));
    ClientMetric d = Metric(base);
    d.gauge.value = e.status.duration_seconds;
    duration.metric.push_back(std::move(d));
    ClientMetric lr = Metric(base);
    lr.gauge.value = e.status.last_run_unix;
    last_run.metric.push_back(std::move(lr));
    ClientMetric h = Metric(base);
    std::uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds.size(); ++i) {
      cumulative += e.bucket_counts[i];
      h.histogram.bucket.push_back({cumulative, bounds[i]});
    }
    cumulative += e.bucket_counts.back();
    h.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
    h.histogram.sample_count = cumulative;
    h.histogram.sample_sum = e.latency_sum;
    latency.metric.push_back(std::move(h));
    if (!e.status.success) {
      auto labels = base;
      labels.push_back({"reason", e.status.reason.empty() ? "error" : e.status.reason});
      ClientMetric f = Metric(std::move(labels));
      f.gauge.value = 1;
      failure.metric.push_back(std::move(f));
    }
    for (const Sample& sample : e.samples) {
      auto [it, inserted] = extra.try_emplace(
          sample.desc, MetricFamily{sample.desc->name, sample.desc->help, MetricType::Gauge, {}});
      if (inserted) extra_order.push_back(sample.desc);
      auto labels = base;
      for (const auto& [k, v] : sample.labels) labels.push_back({k, v});
      ClientMetric m = Metric(std::move(labels));
      m.gauge.value = sample.value;
      it->second.metric.push_back(std::move(m));
    }
  }
  std::vector<MetricFamily> out;
  for (auto* f : {&success, &duration, &latency, &runs, &failure, &last_run}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
  for (const MetricDesc* d : extra_order) out.push_back(std::move(extra[d]));
  return out;
}

}  // namespace failover
