// Reading a /metrics page (Prometheus text format 0.0.4) in tests: one sample per line,
// comments skipped.
#pragma once

#include <string>
#include <vector>

namespace failover::testing {

struct MetricSample {
  std::string name;    // "failover_probe_runs_total"
  std::string labels;  // "{probe=\"a\",result=\"success\"}", or "" without labels
  double value = 0;
};

std::vector<MetricSample> ParseMetricsText(const std::string& text);

// The value of label `name` in a sample's label text; "" when it has none.
std::string LabelValue(const std::string& labels, const std::string& name);

}  // namespace failover::testing
