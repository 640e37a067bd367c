#include "exporter/result_store.h"

#include <algorithm>
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

}  // namespace

const std::vector<double>& ResultStore::Buckets() {
  static const std::vector<double> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                               0.25,  0.5,    1,     2.5,  5,     10,   30};
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
    e.bucket_counts.assign(Buckets().size() + 1, 0);
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
  const auto& b = Buckets();
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
