// libFuzzer target: failover_actuator's configuration (actuator/config.cc) from a YAML
// string, with the built-in steps and DNS providers. Loading never talks to a provider:
// the HttpClient given to the providers aborts if anything calls it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "actuator/config.h"
#include "common/clock.h"

namespace {

class NoHttp : public failover::HttpClient {
 public:
  failover::Result<failover::HttpResponse> Send(const failover::HttpRequest&) override {
    std::abort();  // config loading must not send anything
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const failover::ConfigDeps* deps = [] {
    auto* steps = new failover::StepRegistry;
    failover::RegisterBuiltinSteps(*steps);
    auto* d = new failover::ConfigDeps;
    d->steps = steps;
    d->provider_ctx.http = new NoHttp;
    d->provider_ctx.clock = new failover::SystemClock;
    return d;
  }();
  std::string text(reinterpret_cast<const char*>(data), size);
  auto root = failover::YamlNode::LoadString(text, "actuator.yml");
  if (!root) return 0;
  auto cfg = failover::LoadActuatorConfig(*root, *deps);
  if (!cfg) {
    if (cfg.error().message.rfind("actuator.yml", 0) != 0) std::abort();  // always located
    return 0;
  }
  for (const auto& rb : cfg->runbooks) {
    if (rb.name.empty() || rb.steps.empty()) std::abort();
  }
  return 0;
}
