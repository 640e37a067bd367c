// Checks the prober tests share on top of probe_runner.h: a sample line as /metrics
// renders it for probe "p" of kind "k" (RenderSamples), the database role samples, and a
// refusal with an exact error.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/result.h"
#include "exporter/prober.h"
#include "tests/exporter/probe_runner.h"  // Describe

namespace failover::testing {

// `metric{probe="p",kind="k"<labels>} <value>`; `labels` starts with a comma when given.
inline std::string Line(const std::string& metric, const std::string& labels,
                        const std::string& value) {
  return metric + "{probe=\"p\",kind=\"k\"" + labels + "} " + value;
}

// The role samples every database probe gives (AddRoleSamples, exporter/probers/db_probe.h):
// failover_db_role 1 for `role` and 0 for the other one, and failover_db_read_only.
inline ::testing::AssertionResult HasRoleSamples(const std::string& text, const std::string& role,
                                                 bool read_only) {
  const std::string other = role == "primary" ? "replica" : "primary";
  for (const std::string& line : {Line("failover_db_role", ",role=\"" + role + "\"", "1"),
                                  Line("failover_db_role", ",role=\"" + other + "\"", "0"),
                                  Line("failover_db_read_only", "", read_only ? "1" : "0")}) {
    if (text.find(line + "\n") == std::string::npos) {
      return ::testing::AssertionFailure() << "no line \"" << line << "\" in:\n" << text;
    }
  }
  return ::testing::AssertionSuccess();
}

// A run that failed with `reason`, its detail containing `detail_part`.
inline ::testing::AssertionResult FailedWith(const ProbeResult& r, const std::string& reason,
                                             const std::string& detail_part = "") {
  if (!r.success && r.reason == reason && r.detail.find(detail_part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "expected a " << reason << " failure with \""
                                       << detail_part << "\" in its detail, got " << Describe(r);
}

// The build of a prober was accepted (else the error it gave).
inline ::testing::AssertionResult Accepted(const Result<std::shared_ptr<Prober>>& prober) {
  if (prober) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << prober.error().message;
}

// The build of a prober was refused with exactly `message`.
inline void ExpectRefusedWith(const Result<std::shared_ptr<Prober>>& prober,
                              const std::string& message) {
  ASSERT_FALSE(prober) << "config was accepted";
  EXPECT_EQ(prober.error().message, message);
}

}  // namespace failover::testing
