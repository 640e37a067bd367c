// Probe names whose scheduling phase (a hash of the name, see exporter/scheduler.h) falls
// in [from, to) of `interval`, for tests that need many probes due at about the same time.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/duration.h"
#include "exporter/scheduler.h"

namespace failover::testing {

inline std::vector<std::string> NamesWithPhase(const std::string& prefix, int count,
                                               Duration interval, Duration from, Duration to) {
  Scheduler probe(MonoTime(), [](const std::string&, MonoTime) {});
  std::vector<std::string> names;
  for (int i = 0; static_cast<int>(names.size()) < count; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%05d", prefix.c_str(), i);
    Duration phase = probe.FirstDue(buf, interval, MonoTime()) - MonoTime();
    if (phase >= from && phase < to) names.push_back(buf);
  }
  return names;
}

}  // namespace failover::testing
