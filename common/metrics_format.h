// Content negotiation for /metrics, as client_golang's promhttp does it: OpenMetrics 1.0.0
// when the Accept header prefers it (Prometheus asks for it first), the text format 0.0.4
// otherwise; gzip when Accept-Encoding allows it. Both daemons render text 0.0.4 and pass
// the answer through NegotiateMetrics, which converts it as it is sent (a streamed page
// stays streamed). docs/exporter.md, "Endpoints".
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/http_server.h"

namespace failover {

inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

struct MetricsFormat {
  bool openmetrics = false;
  std::string openmetrics_version = "1.0.0";  // what the client asked for: 1.0.0 or 0.0.1
  bool gzip = false;
};
MetricsFormat NegotiateMetricsFormat(const std::string& accept, const std::string& accept_encoding);

// For a counter family (its name without _total), the Unix time since which it counts:
// written as the family's <name>_created samples in OpenMetrics. nullopt: none written.
using CreatedLookup = std::function<std::optional<double>(std::string_view family)>;

// Converts the text format 0.0.4, fed in parts split anywhere, to OpenMetrics 1.0.0:
// counters' HELP/TYPE name the family without _total; `untyped` becomes `unknown`;
// `# UNIT` for names ending in _seconds, _bytes or _ratio; `"` escaped in HELP; other
// comments and blank lines dropped; timestamps from milliseconds to seconds; `_created`
// after each counter sample when `created` knows the family; `# EOF` at the end.
class OpenMetricsConverter {
 public:
  explicit OpenMetricsConverter(CreatedLookup created = {}) : created_(std::move(created)) {}
  void Feed(std::string_view text, std::string& out);
  void Finish(std::string& out);

 private:
  void Line(std::string_view line, std::string& out);
  void FlushHelp(std::string& out);

  CreatedLookup created_;
  std::string partial_;       // an unfinished line from the previous Feed
  std::string pending_help_;  // "# HELP name text" waiting for its TYPE line
  std::string family_;        // current family (OpenMetrics name)
  bool counter_ = false;
  std::optional<double> family_created_;
};

// Answers a /metrics request: `text` is a text 0.0.4 answer (body or stream) that is
// converted and compressed for what the request accepts. Adds `Vary: Accept, Accept-Encoding`.
HttpServerResponse NegotiateMetrics(const HttpServerRequest& request, HttpServerResponse text,
                                    CreatedLookup created = {});

}  // namespace failover
