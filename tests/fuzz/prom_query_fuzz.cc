// libFuzzer target: Prometheus' /api/v1/query answer (ParsePromQueryResponse in
// actuator/prometheus_client.cc), which decides guards and wait_for steps. Any body must
// give a result or an Error; a result can always be judged and described.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "actuator/prometheus_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = failover::ParsePromQueryResponse(body);
  if (!r) return 0;
  (void)r->Truthy();
  std::string d = r->Describe();
  // Describe() is bounded: 500 characters, "...", and " (<n> more)".
  if (d.size() > 600) std::abort();
  return 0;
}
