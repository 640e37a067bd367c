// Structured logging to stderr in logfmt or JSON, as Prometheus' own binaries do.
//   log::Info("config reloaded", {{"file", path}, {"probes", n}});
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "common/result.h"

namespace failover::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kLogfmt, kJson };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, double v);
  Field(std::string_view k, long long v) : key(k), value(std::to_string(v)), literal(true) {}
  Field(std::string_view k, int v) : key(k), value(std::to_string(v)), literal(true) {}
  Field(std::string_view k, unsigned long v) : key(k), value(std::to_string(v)), literal(true) {}
  Field(std::string_view k, long v) : key(k), value(std::to_string(v)), literal(true) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), literal(true) {}
  std::string key;
  std::string value;
  // A number or boolean: JSON lines write it bare (42, 0.5, true), not as a string.
  bool literal = false;
};
using Fields = std::initializer_list<Field>;

Result<Level> ParseLevel(std::string_view s);
Result<Format> ParseFormat(std::string_view s);

// Process-wide settings; call once at start-up (thread-safe afterwards).
void Configure(Level level, Format format);
bool Enabled(Level level);

// Where lines go; default stderr. Tests capture lines with a sink of their own.
using Sink = void (*)(std::string_view line);
void SetSink(Sink sink);

// One rendered line, without the trailing newline (exposed for tests).
std::string Render(Format format, Level level, std::string_view msg, Fields fields);

void Write(Level level, std::string_view msg, Fields fields = {});
inline void Debug(std::string_view msg, Fields f = {}) { Write(Level::kDebug, msg, f); }
inline void Info(std::string_view msg, Fields f = {}) { Write(Level::kInfo, msg, f); }
inline void Warn(std::string_view msg, Fields f = {}) { Write(Level::kWarn, msg, f); }
inline void Error(std::string_view msg, Fields f = {}) { Write(Level::kError, msg, f); }

}  // namespace failover::log
