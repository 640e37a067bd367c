#include "common/log.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <utility>
#include <vector>

namespace failover::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<Format> g_format{Format::kLogfmt};
std::atomic<Sink> g_sink{nullptr};
std::mutex g_mu;

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count()));
  return buf;
}

// Length of the valid UTF-8 sequence at v[i] (1 for ASCII), 0 when the bytes there are
// not valid UTF-8 (stray continuation, truncated, overlong, surrogate, above U+10FFFF).
size_t Utf8Length(std::string_view v, size_t i, uint32_t* cp) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(v[i + k]); };
  unsigned char c = b(0);
  size_t len = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
  if (len == 0 || i + len > v.size()) return 0;
  uint32_t x = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    x = (x << 6) | (b(k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (x < kMin[len] || x > 0x10FFFF || (x >= 0xD800 && x <= 0xDFFF)) return 0;
  *cp = x;
  return len;
}

// Code points a terminal or log viewer may act on instead of showing: C0 controls, DEL, C1
// controls (U+0080..U+009F; U+009B is a one-byte CSI on some terminals), the line and
// paragraph separators and the bidirectional overrides/isolates.
bool IsControl(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

void AppendHex(std::string& out, const char* prefix, uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, digits, static_cast<unsigned>(v));
  out += buf;
}

// Appends `v` for use inside double quotes: `"` and `\` escaped, \n \t \r as such,
// every other control character as \u00XX (\u202E etc.). Bytes that are not UTF-8 become
// \xHH in logfmt and U+FFFD in JSON (which has no byte escape). The result never holds a
// control byte, so a value cannot forge a line, move the cursor or ring a bell.
void AppendEscaped(std::string& out, std::string_view v, bool json) {
  for (size_t i = 0; i < v.size();) {
    uint32_t cp = 0;
    size_t len = Utf8Length(v, i, &cp);
    if (len == 0) {
      if (json) {
        out += "\\ufffd";
      } else {
        AppendHex(out, "\\x", static_cast<unsigned char>(v[i]), 2);
      }
      ++i;
      continue;
    }
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (IsControl(cp)) {
          AppendHex(out, "\\u", cp, 4);
        } else {
          out.append(v.substr(i, len));
        }
    }
    i += len;
  }
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) >= 0x7f) {
      return true;
    }
  }
  return false;
}

void AppendLogfmt(std::string& out, std::string_view key, std::string_view v) {
  if (!out.empty()) out += ' ';
  // Keys come from the code; anything odd in one is still made harmless.
  if (NeedsQuotes(key)) {
    for (char c : key)
      out += (c > ' ' && c != '"' && c != '=' && c != '\\' && static_cast<unsigned char>(c) < 0x7f)
                 ? c
                 : '_';
  } else {
    out += key;
  }
  out += '=';
  if (!NeedsQuotes(v)) {
    out += v;
    return;
  }
  out += '"';
  AppendEscaped(out, v, /*json=*/false);
  out += '"';
}

void AppendJsonString(std::string& out, std::string_view v) {
  out += '"';
  AppendEscaped(out, v, /*json=*/true);
  out += '"';
}

}  // namespace

Field::Field(std::string_view k, double v) : key(k) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  value = buf;
  literal = std::isfinite(v);  // JSON has no NaN or Inf: those stay strings ("nan", "inf")
}

Result<Level> ParseLevel(std::string_view s) {
  if (s == "debug") return Level::kDebug;
  if (s == "info") return Level::kInfo;
  if (s == "warn") return Level::kWarn;
  if (s == "error") return Level::kError;
  return Error::Invalid("unknown log level \"" + std::string(s) +
                        "\" (one of: debug, info, warn, error)");
}

Result<Format> ParseFormat(std::string_view s) {
  if (s == "logfmt") return Format::kLogfmt;
  if (s == "json") return Format::kJson;
  return Error::Invalid("unknown log format \"" + std::string(s) + "\" (one of: logfmt, json)");
}

void Configure(Level level, Format format) {
  g_level = static_cast<int>(level);
  g_format = format;
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void SetSink(Sink sink) { g_sink = sink; }

std::string Render(Format format, Level level, std::string_view msg, Fields fields) {
  if (format == Format::kJson) {
    // Written by hand rather than by nlohmann, which leaves DEL, C1 controls and bidi
    // overrides raw. A key given twice keeps its first place and its last value.
    // Numbers and booleans (Field::literal) are written bare.
    struct Kv {
      std::string_view key, value;
      bool literal;
    };
    std::vector<Kv> kv;
    std::string ts = Timestamp();
    kv.push_back({"ts", ts, false});
    kv.push_back({"level", LevelName(level), false});
    kv.push_back({"msg", msg, false});
    for (const Field& f : fields) {
      auto it = std::find_if(kv.begin(), kv.end(), [&](const Kv& p) { return p.key == f.key; });
      if (it != kv.end()) {
        it->value = f.value;
        it->literal = f.literal;
      } else {
        kv.push_back({f.key, f.value, f.literal});
      }
    }
    std::string out = "{";
    for (const Kv& e : kv) {
      if (out.size() > 1) out += ',';
      AppendJsonString(out, e.key);
      out += ':';
      if (e.literal) {
        out += e.value;
      } else {
        AppendJsonString(out, e.value);
      }
    }
    out += '}';
    return out;
  }
  std::string out;
  AppendLogfmt(out, "ts", Timestamp());
  AppendLogfmt(out, "level", LevelName(level));
  AppendLogfmt(out, "msg", msg);
  for (const Field& f : fields) AppendLogfmt(out, f.key, f.value);
  return out;
}

void Write(Level level, std::string_view msg, Fields fields) {
  if (!Enabled(level)) return;
  std::string line = Render(g_format.load(), level, msg, fields);
  std::lock_guard<std::mutex> lock(g_mu);
  if (Sink s = g_sink.load()) {
    s(line);
    return;
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace failover::log
