#include "exporter/result_store.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <string_view>
#include <unordered_map>

namespace failover {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::vector<ClientMetric::Label> BaseLabels(const ProbeIdentity& id) {
  std::vector<ClientMetric::Label> out;
  out.push_back({"probe", id.name});
  if (!id.region.empty()) out.push_back({"region", id.region.str()});
  out.push_back({"kind", id.kind.str()});
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
                  std::string_view labels, std::string_view extra = {}) {
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

ResultStore::Samples::Samples(std::shared_ptr<const Shape> shape) {
  size_t n = shape->size();
  b_ = new (::operator new(sizeof(Block) + n * sizeof(double))) Block;
  b_->shape = std::move(shape);
  std::fill_n(b_->values(), n, 0.0);
}

void ResultStore::Samples::Release() noexcept {
  if (b_ == nullptr || b_->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  b_->~Block();
  ::operator delete(b_);
  b_ = nullptr;
}

void ResultStore::SetSamples(Samples& current, std::vector<Sample>&& samples) {
  if (samples.empty()) {
    current = Samples();
    return;
  }
  auto same = [&samples](const Samples::Shape& shape) {
    if (shape.size() != samples.size()) return false;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i].first != samples[i].desc || !(shape[i].second == samples[i].labels)) {
        return false;
      }
    }
    return true;
  };
  if (current.shape() != nullptr && same(*current.shape())) {
    // The usual case: the probe's last run had the same shape. Its values are rewritten
    // where they are, unless a page still reads them.
    if (!current.Unshared()) current = Samples(current.shared_shape());
    double* values = current.mutable_values();
    for (size_t i = 0; i < samples.size(); ++i) values[i] = samples[i].value;
    return;
  }
  std::shared_ptr<const Samples::Shape> shape;
  size_t hash = samples.size();
  auto mix = [&hash](size_t h) { hash ^= h + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2); };
  for (const Sample& s : samples) {
    mix(std::hash<const void*>()(s.desc));
    for (const auto& [k, v] : s.labels) {
      mix(std::hash<std::string>()(k));
      mix(std::hash<std::string>()(v));
    }
  }
  auto [first, last] = shapes_.equal_range(hash);
  for (auto it = first; it != last && shape == nullptr; ++it) {
    if (same(*it->second)) shape = it->second;
  }
  if (shape == nullptr) {
    if (shapes_.size() >= shapes_sweep_at_) {
      // Drop the shapes only the table holds (e.g. DNS answers no probe reports any more).
      std::erase_if(shapes_, [](const auto& kv) { return kv.second.use_count() == 1; });
      shapes_sweep_at_ = std::max<size_t>(64, 2 * shapes_.size());
    }
    auto made = std::make_shared<Samples::Shape>();
    made->reserve(samples.size());
    for (Sample& s : samples) made->emplace_back(s.desc, std::move(s.labels));
    shape = made;
    shapes_.emplace(hash, shape);
  }
  Samples next(std::move(shape));
  double* values = next.mutable_values();
  for (size_t i = 0; i < samples.size(); ++i) values[i] = samples[i].value;
  current = std::move(next);
}

void ResultStore::SetProbes(const std::vector<ProbeIdentity>& probes) {
  std::vector<std::shared_ptr<const ProbeIdentity>> shared;
  shared.reserve(probes.size());
  for (const ProbeIdentity& id : probes) shared.push_back(std::make_shared<ProbeIdentity>(id));
  SetSharedProbes(shared);
}

void ResultStore::SetSharedProbes(const std::vector<std::shared_ptr<const ProbeIdentity>>& probes) {
  std::lock_guard<std::mutex> lock(mu_);
  // Sorted by name; of identities with the same name the last one counts.
  std::vector<const std::shared_ptr<const ProbeIdentity>*> order;
  order.reserve(probes.size());
  for (const auto& id : probes) order.push_back(&id);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto* a, const auto* b) { return (*a)->name < (*b)->name; });
  std::vector<Entry> next;
  next.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    if (i + 1 < order.size() && (*order[i + 1])->name == (*order[i])->name) continue;
    const std::shared_ptr<const ProbeIdentity>& id = *order[i];
    auto it = std::lower_bound(entries_.begin(), entries_.end(), id->name,
                               [](const Entry& e, const std::string& n) { return e.name() < n; });
    if (it != entries_.end() && *it->id == *id) {
      next.push_back(std::move(*it));
      // The same identity; the old object can go. The moved-from entry keeps a name for
      // the lookups still to come.
      next.back().id = id;
      it->id = id;
      continue;
    }
    Entry e;
    e.id = id;
    std::string labels;
    AppendLabel(labels, "probe", id->name);
    if (!id->region.empty()) AppendLabel(labels, "region", id->region.str());
    AppendLabel(labels, "kind", id->kind.str());
    for (const auto& [k, v] : id->labels) AppendLabel(labels, k, v);
    auto text = std::make_shared<char[]>(labels.size());
    std::memcpy(text.get(), labels.data(), labels.size());
    e.labels = std::move(text);
    e.labels_size = static_cast<std::uint32_t>(labels.size());
    next.push_back(std::move(e));
  }
  entries_ = std::move(next);
}

std::uint8_t ResultStore::InternReason(const std::string& reason) {
  for (size_t i = 0; i < reasons_.size(); ++i) {
    if (reasons_[i] == reason) return static_cast<std::uint8_t>(i);
  }
  // The reasons are a fixed vocabulary (prober.h); a bound keeps a misbehaving prober from
  // growing the table without end (and a reason fits a Run's 8 bits).
  if (reasons_.size() >= kMaxReasons) return 1;  // "error"
  reasons_.push_back(reason);
  return static_cast<std::uint8_t>(reasons_.size() - 1);
}

void ResultStore::Record(const std::string& name, ProbeResult&& result, double duration_seconds,
                         WallTime when) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const Entry& e, const std::string& n) { return e.name() < n; });
  if (it == entries_.end() || it->name() != name) return;  // removed by a reload meanwhile
  Entry& e = *it;
  if (e.recent_size > 0) e.recent_head = (e.recent_head + 1) % ProbeStatus::kRecentRuns;
  if (e.recent_size < ProbeStatus::kRecentRuns) ++e.recent_size;
  Run& run = e.recent[e.recent_head];
  e.last_run_unix = UnixSeconds(when);
  run.at_seconds = static_cast<std::uint32_t>(std::clamp(e.last_run_unix, 0.0, 4294967295.0));
  run.duration_ms = static_cast<std::uint32_t>(
      std::clamp(std::round(duration_seconds * 1000), 0.0, static_cast<double>(kMaxRunMs)));
  run.reason = InternReason(result.reason);
  run.success = result.success ? 1 : 0;
  if (e.details) e.details[e.recent_head].reset();
  if (!result.detail.empty()) {
    if (!e.details) {
      e.details = std::make_unique<std::unique_ptr<char[]>[]>(ProbeStatus::kRecentRuns);
    }
    auto& detail = e.details[e.recent_head];
    detail = std::make_unique<char[]>(result.detail.size() + 1);
    std::memcpy(detail.get(), result.detail.c_str(), result.detail.size() + 1);
  }
  e.duration_seconds = duration_seconds;
  if (result.success) {
    ++e.successes;
  } else {
    ++e.failures;
  }
  SetSamples(e.samples, std::move(result.samples));
  const auto& b = kLatencyBuckets;
  size_t i = std::lower_bound(b.begin(), b.end(), duration_seconds) - b.begin();
  ++e.bucket_counts[i];
  e.latency_sum += duration_seconds;
}

ProbeStatus ResultStore::StatusOf(const Entry& e) const {
  ProbeStatus st;
  st.id = *e.id;
  st.successes = e.successes;
  st.failures = e.failures;
  if (!e.has_run()) return st;
  const Run& last = e.last();
  st.has_run = true;
  st.success = last.success;
  st.reason = Reason(last.reason);
  if (const char* d = e.detail(e.recent_head)) st.detail = d;
  st.duration_seconds = e.duration_seconds;
  st.last_run_unix = e.last_run_unix;
  st.recent.reserve(e.recent_size);
  for (size_t k = 0; k < e.recent_size; ++k) {
    size_t i = (e.recent_head + ProbeStatus::kRecentRuns - k) % ProbeStatus::kRecentRuns;
    const Run& r = e.recent[i];
    const char* detail = e.detail(i);
    st.recent.push_back(ProbeRun{k == 0 ? e.last_run_unix : r.at_seconds, r.success != 0,
                                 Reason(r.reason),
                                 detail != nullptr ? std::string(detail) : std::string(),
                                 k == 0 ? e.duration_seconds : r.duration_ms / 1000.0});
  }
  for (const auto& s : e.samples) {
    std::string_view metric = s.desc->name;
    if (metric == "failover_dns_record_target") {
      for (const auto& [k, v] : s.labels) {
        if (k != "target" || st.dns_target.find(v) != std::string::npos) continue;
        st.dns_target += (st.dns_target.empty() ? "" : ", ") + v;
      }
    } else if (metric == "failover_replication_lag_seconds") {
      st.lag_seconds = std::max(st.lag_seconds, s.value);
    }
  }
  return st;
}

std::vector<ProbeStatus> ResultStore::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ProbeStatus> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(StatusOf(e));
  return out;
}

ResultStore::Page ResultStore::TakePage() const {
  Page page;
  std::lock_guard<std::mutex> lock(mu_);
  page.rows_.reserve(entries_.size());
  for (const Entry& e : entries_) {
    bool has_run = e.has_run();
    bool success = has_run && e.last().success;
    page.rows_.push_back({e.labels, e.labels_size, e.samples, e.bucket_counts, e.latency_sum,
                          e.duration_seconds, has_run ? e.last_run_unix : 0, e.successes,
                          e.failures, has_run, success,
                          success || !has_run ? std::string() : Reason(e.last().reason)});
    if (!has_run) continue;
    page.any_run_ = true;
    page.any_failure_ = page.any_failure_ || !success;
    for (const auto& s : e.samples) {
      if (std::find(page.extra_.begin(), page.extra_.end(), s.desc) == page.extra_.end()) {
        page.extra_.push_back(s.desc);
      }
    }
  }
  return page;
}

void ResultStore::WriteText(std::string& out) const {
  Page page = TakePage();
  // Reserve generously: pages of the reserve that are never written are never resident,
  // and growing a multi-megabyte string by doubling would copy it and hold both copies.
  size_t estimate = 0;
  for (const Page::Row& r : page.rows_) estimate += 32 * (r.labels_size + 64);
  out.reserve(out.size() + estimate);
  while (page.Next(out, std::numeric_limits<size_t>::max())) {
  }
}

namespace {

// The fixed families, in the order of Collect(); probe-specific ones follow.
enum Family : size_t { kSuccess, kDuration, kLatency, kRuns, kFailure, kLastRun, kFixed };

const std::string& LeLabel(size_t i) {
  static const auto* kLe = [] {
    auto* le = new std::array<std::string, ResultStore::kBucketCount + 1>;
    for (size_t j = 0; j < le->size(); ++j) {
      (*le)[j] = "le=\"";
      AppendDouble((*le)[j], j < ResultStore::kBucketCount
                                 ? kLatencyBuckets[j]
                                 : std::numeric_limits<double>::infinity());
      (*le)[j] += '"';
    }
    return le;
  }();
  return (*kLe)[i];
}

}  // namespace

bool ResultStore::Page::Next(std::string& out, size_t min_bytes) {
  static const struct {
    const char* name;
    const char* help;
    const char* type;
  } kFamilies[kFixed] = {
      {"failover_probe_success", "1 if the last run of the probe succeeded, 0 if it failed.",
       "gauge"},
      {"failover_probe_duration_seconds", "How long the last run of the probe took.", "gauge"},
      {"failover_probe_latency_seconds",
       "Duration of every run of the probe since it was configured.", "histogram"},
      {"failover_probe_runs_total", "Runs of the probe by result.", "counter"},
      {"failover_probe_failure_info",
       "Present with value 1 while the last run failed; reason says why.", "gauge"},
      {"failover_probe_last_run_timestamp_seconds",
       "When the last run of the probe finished, as a Unix timestamp.", "gauge"},
  };
  while (family_ < kFixed + extra_.size()) {
    if (row_ == 0) {
      bool present = family_ >= kFixed || (family_ == kRuns && !rows_.empty()) ||
                     (family_ == kFailure && any_failure_) ||
                     (family_ != kRuns && family_ != kFailure && any_run_);
      const char* name =
          family_ < kFixed ? kFamilies[family_].name : extra_[family_ - kFixed]->name;
      if (present && !only_.empty()) {
        present = std::find(only_.begin(), only_.end(), name) != only_.end();
      }
      if (!present) {
        ++family_;
        continue;
      }
      if (family_ < kFixed) {
        AppendHeader(out, kFamilies[family_].name, kFamilies[family_].help,
                     kFamilies[family_].type);
      } else {
        AppendHeader(out, extra_[family_ - kFixed]->name, extra_[family_ - kFixed]->help, "gauge");
      }
    }
    while (row_ < rows_.size()) {
      const Row& row = rows_[row_++];
      if (family_ == kRuns) {
        const char* runs = kFamilies[kRuns].name;
        std::string_view labels(row.labels.get(), row.labels_size);
        AppendSeries(out, runs, {}, labels, "result=\"success\"");
        AppendUint(out, row.successes);
        out += '\n';
        AppendSeries(out, runs, {}, labels, "result=\"failure\"");
        AppendUint(out, row.failures);
        out += '\n';
      } else if (row.has_run) {
        WriteRow(out, family_, row);
      }
      if (out.size() >= min_bytes) return true;
    }
    ++family_;
    row_ = 0;
  }
  return false;
}

void ResultStore::Page::WriteRow(std::string& out, size_t family, const Row& row) {
  std::string_view labels(row.labels.get(), row.labels_size);
  auto gauge = [&](const char* name, double value) {
    AppendSeries(out, name, {}, labels);
    AppendDouble(out, value);
    out += '\n';
  };
  switch (family) {
    case kSuccess:
      gauge("failover_probe_success", row.success ? 1 : 0);
      return;
    case kDuration:
      gauge("failover_probe_duration_seconds", row.duration);
      return;
    case kLastRun:
      gauge("failover_probe_last_run_timestamp_seconds", row.last_run);
      return;
    case kLatency: {
      const char* latency = "failover_probe_latency_seconds";
      std::uint64_t count = 0;
      for (std::uint32_t c : row.bucket_counts) count += c;
      AppendSeries(out, latency, "_count", labels);
      AppendUint(out, count);
      out += '\n';
      AppendSeries(out, latency, "_sum", labels);
      AppendDouble(out, row.latency_sum);
      out += '\n';
      std::uint64_t cumulative = 0;
      for (size_t i = 0; i < kBucketCount + 1; ++i) {
        cumulative += row.bucket_counts[i];
        AppendSeries(out, latency, "_bucket", labels, LeLabel(i));
        AppendUint(out, cumulative);
        out += '\n';
      }
      return;
    }
    case kFailure: {
      if (row.success) return;
      std::string reason;
      AppendLabel(reason, "reason", row.reason.empty() ? "error" : row.reason);
      AppendSeries(out, "failover_probe_failure_info", {}, labels, reason);
      out += "1\n";
      return;
    }
    default: {
      const MetricDesc* d = extra_[family - kFixed];
      std::string with_sample_labels;
      for (const auto& s : row.samples) {
        if (s.desc != d) continue;
        if (s.labels.empty()) {
          AppendSeries(out, d->name, {}, labels);
        } else {
          with_sample_labels.assign(labels);
          for (const auto& [k, v] : s.labels) AppendLabel(with_sample_labels, k, v);
          AppendSeries(out, d->name, {}, with_sample_labels);
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
  for (const Entry& entry : entries_) {
    const ProbeStatus st = StatusOf(entry);
    const Entry& e = entry;
    auto base = BaseLabels(st.id);
    for (const char* result : {"success", "failure"}) {
      auto labels = base;
      labels.push_back({"result", result});
      ClientMetric m = Metric(std::move(labels));
      m.counter.value =
          static_cast<double>(std::string(result) == "success" ? st.successes : st.failures);
      runs.metric.push_back(std::move(m));
    }
    if (!st.has_run) continue;  // no result yet: no success/duration series
    ClientMetric s = Metric(base);
    s.gauge.value = st.success ? 1 : 0;
    success.metric.push_back(std::move(s));
    ClientMetric d = Metric(base);
    d.gauge.value = st.duration_seconds;
    duration.metric.push_back(std::move(d));
    ClientMetric lr = Metric(base);
    lr.gauge.value = st.last_run_unix;
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
    if (!st.success) {
      auto labels = base;
      labels.push_back({"reason", st.reason.empty() ? "error" : st.reason});
      ClientMetric f = Metric(std::move(labels));
      f.gauge.value = 1;
      failure.metric.push_back(std::move(f));
    }
    for (const auto& sample : e.samples) {
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
