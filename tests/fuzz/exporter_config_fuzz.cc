// libFuzzer target: failover_exporter's configuration (exporter/config.cc) from a YAML
// string, with every built-in probe kind registered. Loading only validates and builds
// probers (nothing connects), so any input must load or fail with a located error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "exporter/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const failover::ProberRegistry* registry = [] {
    auto* r = new failover::ProberRegistry;
    failover::RegisterBuiltinProbers(*r);
    return r;
  }();
  std::string text(reinterpret_cast<const char*>(data), size);
  auto root = failover::YamlNode::LoadString(text, "exporter.yml");
  if (!root) return 0;
  auto cfg = failover::LoadExporterConfig(*root, *registry);
  if (!cfg) {
    if (cfg.error().message.rfind("exporter.yml", 0) != 0) std::abort();  // always located
    return 0;
  }
  for (const auto& p : cfg->probes) {
    if (p.prober == nullptr || p.name.empty()) std::abort();
  }
  return 0;
}
