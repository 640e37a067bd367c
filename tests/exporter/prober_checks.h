// Checks the prober tests share on top of probe_runner.h: a sample line as /metrics
// renders it for probe "p" of kind "k" (RenderSamples), and a refusal with an exact error.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/result.h"
#include "exporter/prober.h"

namespace failover::testing {

// `metric{probe="p",kind="k"<labels>} <value>`; `labels` starts with a comma when given.
inline std::string Line(const std::string& metric, const std::string& labels,
                        const std::string& value) {
  return metric + "{probe=\"p\",kind=\"k\"" + labels + "} " + value;
}

// The build of a prober was refused with exactly `message`.
inline void ExpectRefusedWith(const Result<std::shared_ptr<Prober>>& prober,
                              const std::string& message) {
  ASSERT_FALSE(prober) << "config was accepted";
  EXPECT_EQ(prober.error().message, message);
}

}  // namespace failover::testing
