// Durations in the Prometheus notation: "250ms", "10s", "1m", "1h30m", "2d", "1w".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace failover {

using Duration = std::chrono::nanoseconds;

// Parses a positive or zero duration made of one or more <integer><unit> parts, units
// ms, s, m, h, d, w (largest first, each at most once). "0" alone is also accepted.
Result<Duration> ParseDuration(std::string_view text);

// The shortest exact rendering in the same notation ("1m30s", "250ms", "0s").
std::string FormatDuration(Duration d);

double ToSeconds(Duration d);

}  // namespace failover
