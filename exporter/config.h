// failover_exporter's configuration file: defaults, regions, probes. Everything is
// validated here, at load time, with errors naming file:line:column and the key path.
#pragma once

#include <map>
#include <memory>
#include <string>
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
  std::string fingerprint;                    // changes whenever anything about the probe changes
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

}  // namespace failover
