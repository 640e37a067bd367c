// failover_exporter's configuration file: defaults, regions, probes. Everything is
// validated here, at load time, with errors naming file:line:column and the key path.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/duration.h"
#include "common/result.h"
#include "common/yaml.h"
#include "exporter/prober.h"
#include "exporter/prober_registry.h"

namespace failover {

struct ProbeConfig {
  std::string name;
  std::string region;  // may be empty (probes that observe no single region, e.g. DNS)
  std::string kind;
  Duration interval;
  Duration timeout;
  std::map<std::string, std::string> labels;  // extra labels on every series of the probe
  // The first 16 bytes of the SHA-256 of everything the probe is made of (its YAML,
  // interval, timeout, the regions): a reload keeps a probe, with its prober and history,
  // while this stays the same. 128 bits tell changed from unchanged as surely as 256 (no
  // adversary picks the configs); the text itself was ~130 bytes a probe at 10,000 probes.
  std::array<unsigned char, 16> fingerprint{};
  std::shared_ptr<Prober> prober;
};

struct ExporterConfig {
  Duration default_interval = std::chrono::seconds(10);
  Duration default_timeout = std::chrono::seconds(5);
  std::map<std::string, RegionConfig> regions;
  std::vector<ProbeConfig> probes;
};

Result<ExporterConfig> LoadExporterConfig(const YamlNode& root, const ProberRegistry& registry);
Result<ExporterConfig> LoadExporterConfigFile(const std::string& path,
                                              const ProberRegistry& registry);

// Label names the exporter itself uses; a probe's `labels:` may not take them.
bool IsReservedLabel(const std::string& name);

// A Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__".
bool ValidLabelName(const std::string& name);

// A Prometheus metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool ValidMetricName(const std::string& name);

// A `labels:` map (name: value), in the file's order: each name a label name the exporter
// does not use itself; a bad name fails with "\"<name>\" <not_a_name>".
Result<SampleLabels::Pairs> ParseLabelMap(const YamlNode& node, std::string_view not_a_name);

// `name` is a region of `regions`; otherwise an error at `node` that names the regions there are.
Status ExpectKnownRegion(const YamlNode& node, const std::string& name,
                         const std::map<std::string, RegionConfig>& regions);

// Optional `key` of a mapping: a duration greater than zero ("<key> must be positive"),
// parsed into `out`; `out` is left as it was when the key is absent.
Status ReadPositiveDuration(const YamlNode& node, std::string_view key, Duration& out);

}  // namespace failover
