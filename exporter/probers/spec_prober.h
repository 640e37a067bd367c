// The factory end of a prober kind that parses its YAML block into a spec and builds the
// prober from that spec (mysql, postgres, redis, cloudwatch).
#pragma once

#include <memory>
#include <utility>

#include "common/result.h"
#include "exporter/prober.h"

namespace failover {

// A P built from the parsed spec, or the parse error as it is.
template <typename P, typename Spec>
Result<std::shared_ptr<Prober>> ProberFromSpec(Result<Spec> spec) {
  if (!spec) return spec.error();
  return std::shared_ptr<Prober>(std::make_shared<P>(std::move(*spec)));
}

}  // namespace failover
