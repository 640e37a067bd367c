// The latest result of every probe, written as Prometheus text at scrape time. A probe
// removed by a reload disappears from /metrics at once (with every family that only it
// had); a probe that stays keeps its counters and latency histogram.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "exporter/prober.h"

namespace failover {

struct ProbeIdentity {
  std::string name;
  std::string region;
  std::string kind;
  std::map<std::string, std::string> labels;
  bool operator==(const ProbeIdentity&) const = default;
};

// What the landing page shows per probe.
struct ProbeStatus {
  ProbeIdentity id;
  bool has_run = false;
  bool success = false;
  std::string reason;
  std::string detail;
  double duration_seconds = 0;
  double last_run_unix = 0;
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
};

class ResultStore : public prometheus::Collectable {
 public:
  // Latency histogram buckets, seconds (+Inf implied).
  static constexpr size_t kBucketCount = 14;
  static const std::vector<double>& Buckets();

  // Sets the probes to report. Entries of probes that are gone are dropped; a probe whose
  // identity (labels) changed starts afresh.
  void SetProbes(const std::vector<ProbeIdentity>& probes);

  void Record(const std::string& name, const ProbeResult& result, double duration_seconds,
              WallTime when);

  // Appends the text exposition (format 0.0.4) of every probe series to `out`: the same
  // families, HELP/TYPE lines, series order and values as prometheus-cpp's TextSerializer
  // gives for Collect() (except that a newline in a label value is written as \n, which
  // is what the format wants). Written straight from the store under its lock, without
  // building MetricFamily objects: this is what /metrics serves.
  void WriteText(std::string& out) const;
  // The same content as MetricFamily objects (costly for thousands of probes: one
  // ClientMetric with its own label vector per series). Kept for the Collectable
  // interface and as the reference WriteText is tested against.
  std::vector<prometheus::MetricFamily> Collect() const override;
  std::vector<ProbeStatus> Snapshot() const;

 private:
  struct Entry {
    ProbeStatus status;
    std::string labels;  // rendered once: probe="..",region="..",kind="..",<own labels>
    std::vector<Sample> samples;
    std::array<std::uint64_t, kBucketCount + 1> bucket_counts{};  // non-cumulative, +Inf last
    double latency_sum = 0;
  };

  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace failover
