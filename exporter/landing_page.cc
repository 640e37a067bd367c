#include "exporter/landing_page.h"

#include <cstdio>
#include <ctime>

#include "common/build_info.h"
#include "common/html.h"

namespace failover {

namespace {

std::string FormatTime(double unix_seconds) {
  if (unix_seconds <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string RenderExporterLandingPage(const std::vector<ProbeStatus>& probes,
                                      const std::string& config_file) {
  size_t up = 0, down = 0, pending = 0;
  for (const ProbeStatus& p : probes) {
    if (!p.has_run) {
      ++pending;
    } else if (p.success) {
      ++up;
    } else {
      ++down;
    }
  }
  std::string html =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>failover_exporter</title>"
      "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
      ".ok{color:#1a7f37}.fail{color:#cf222e;font-weight:bold}.pending{color:#777}</style>"
      "</head><body><h1>failover_exporter</h1>";
  html += "<p>Version " + std::string(kVersion) + " (revision " + kRevision + "). Config: <code>" +
          HtmlEscape(config_file) + "</code>. <a href=\"/metrics\">Metrics</a></p>";
  html += "<p>" + std::to_string(probes.size()) + " probes: " + std::to_string(up) + " up, " +
          std::to_string(down) + " failing, " + std::to_string(pending) + " not run yet.</p>";
  html +=
      "<table><tr><th>Probe</th><th>Region</th><th>Kind</th><th>Last result</th>"
      "<th>Reason</th><th>Duration</th><th>Last run (UTC)</th><th>Runs ok / failed</th></tr>";
  for (const ProbeStatus& p : probes) {
    std::string result = !p.has_run  ? "<span class=\"pending\">pending</span>"
                         : p.success ? "<span class=\"ok\">success</span>"
                                     : "<span class=\"fail\">failure</span>";
    std::string reason =
        p.success ? ""
                  : HtmlEscape(p.reason) + (p.detail.empty() ? "" : ": ") + HtmlEscape(p.detail);
    char dur[32];
    std::snprintf(dur, sizeof dur, "%.3fs", p.duration_seconds);
    html += "<tr><td>" + HtmlEscape(p.id.name) + "</td><td>" + HtmlEscape(p.id.region) +
            "</td><td>" + HtmlEscape(p.id.kind) + "</td><td>" + result + "</td><td>" + reason +
            "</td><td>" + (p.has_run ? dur : "-") + "</td><td>" + FormatTime(p.last_run_unix) +
            "</td><td>" + std::to_string(p.successes) + " / " + std::to_string(p.failures) +
            "</td></tr>";
  }
  html += "</table></body></html>\n";
  return html;
}

}  // namespace failover
