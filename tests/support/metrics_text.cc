#include "tests/support/metrics_text.h"

#include <cstdlib>
#include <sstream>

namespace failover::testing {

std::vector<MetricSample> ParseMetricsText(const std::string& text) {
  std::vector<MetricSample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    std::string series = line.substr(0, space);
    size_t brace = series.find('{');
    out.push_back({series.substr(0, brace), brace == std::string::npos ? "" : series.substr(brace),
                   std::strtod(line.c_str() + space + 1, nullptr)});
  }
  return out;
}

std::string LabelValue(const std::string& labels, const std::string& name) {
  std::string key = name + "=\"";
  size_t pos = labels.find(key);
  if (pos == std::string::npos) return "";
  pos += key.size();
  return labels.substr(pos, labels.find('"', pos) - pos);
}

}  // namespace failover::testing
