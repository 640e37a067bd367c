// Reading a /metrics page (Prometheus text format 0.0.4) in tests: one sample per line,
// comments skipped, label values unescaped (\" \\ \n).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace failover::testing {

using Labels = std::map<std::string, std::string>;

struct SeriesValue {
  std::string name;  // "failover_probe_runs_total"
  Labels labels;
  double value;
};

std::vector<SeriesValue> ParseMetrics(const std::string& text);

// The value of label `name`; "" when the sample has none.
std::string LabelValue(const Labels& labels, const std::string& name);

}  // namespace failover::testing
