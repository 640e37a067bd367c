#include "common/duration.h"

#include <array>
#include <cstdint>

namespace failover {
namespace {

struct Unit {
  std::string_view name;
  std::int64_t ns;
};
// Largest first: the order parts must appear in.
constexpr std::array<Unit, 6> kUnits = {{
    {"w", 7LL * 24 * 3600 * 1'000'000'000},
    {"d", 24LL * 3600 * 1'000'000'000},
    {"h", 3600LL * 1'000'000'000},
    {"m", 60LL * 1'000'000'000},
    {"s", 1'000'000'000},
    {"ms", 1'000'000},
}};

}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error::Invalid("invalid duration \"" + std::string(text) + "\": " + std::string(why) +
                          " (examples: 250ms, 10s, 1m30s, 2h)");
  };
  if (text.empty()) return bad("empty");
  if (text == "0") return Duration(0);
  std::int64_t total = 0;
  size_t i = 0;
  size_t last_unit = 0;  // index into kUnits + 1 of the previous part's unit
  while (i < text.size()) {
    size_t start = i;
    std::int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000) return bad("too large");
      ++i;
    }
    if (i == start) return bad("expected a number");
    size_t ustart = i;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z'))) ++i;
    std::string_view unit = text.substr(ustart, i - ustart);
    if (unit.empty()) return bad("missing unit");
    size_t idx = 0;
    while (idx < kUnits.size() && kUnits[idx].name != unit) ++idx;
    if (idx == kUnits.size()) return bad("unknown unit \"" + std::string(unit) + "\"");
    if (idx + 1 <= last_unit) return bad("units must go from largest to smallest, once each");
    last_unit = idx + 1;
    if (n > INT64_MAX / kUnits[idx].ns || total > INT64_MAX - n * kUnits[idx].ns) {
      return bad("too large");
    }
    total += n * kUnits[idx].ns;
  }
  return Duration(total);
}

std::string FormatDuration(Duration d) {
  std::int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  for (const Unit& u : kUnits) {
    if (ns >= u.ns) {
      out += std::to_string(ns / u.ns) + std::string(u.name);
      ns %= u.ns;
    }
  }
  if (ns > 0) out += std::to_string(ns) + "ns";
  return out;
}

double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace failover
