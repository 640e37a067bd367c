// The latest result of every probe, turned into metric families at scrape time. A probe
// removed by a reload disappears from /metrics at once; a probe that stays keeps its
// counters and latency histogram.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

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
  // Latency histogram buckets, seconds.
  static const std::vector<double>& Buckets();

  // Sets the probes to report. Entries of probes that are gone are dropped; a probe whose
  // identity (labels) changed starts afresh.
  void SetProbes(const std::vector<ProbeIdentity>& probes);

  void Record(const std::string& name, const ProbeResult& result, double duration_seconds,
              WallTime when);

  std::vector<prometheus::MetricFamily> Collect() const override;
  std::vector<ProbeStatus> Snapshot() const;

 private:
  struct Entry {
    ProbeStatus status;
    std::vector<Sample> samples;
    std::vector<std::uint64_t> bucket_counts;  // non-cumulative, one per bucket (+Inf last)
    double latency_sum = 0;
  };

  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace failover
