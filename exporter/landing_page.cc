#include "exporter/landing_page.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/build_info.h"
#include "common/encoding.h"
#include "common/html.h"
#include "common/time_format.h"

namespace failover {

namespace {

std::string FormatTime(double unix_seconds) {
  return unix_seconds <= 0 ? "-" : FormatUtc(unix_seconds, ' ');
}

}  // namespace

namespace {

// The element with id "live" is refreshed from the same URL this often.
constexpr int kRefreshMs = 5000;

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", s);
  return buf;
}

int Rank(const ProbeStatus& p) { return !p.has_run ? 1 : p.success ? 2 : 0; }

}  // namespace

std::string RenderExporterLandingPage(const std::vector<ProbeStatus>& unsorted,
                                      const std::string& config_file, const std::string& probe) {
  std::vector<ProbeStatus> probes = unsorted;
  // Failing first, then not run yet, then succeeding; by name within each.
  std::stable_sort(probes.begin(), probes.end(),
                   [](const ProbeStatus& a, const ProbeStatus& b) { return Rank(a) < Rank(b); });
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
      "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
      ".ok{color:#1a7f37}.fail{color:#cf222e;font-weight:bold}.pending{color:#777}"
      "tr.failing{background:#ffebe9}</style></head><body><h1>failover_exporter</h1>";
  html += "<p>Version " + std::string(kVersion) + " (revision " + kRevision + "). Config: <code>" +
          HtmlEscape(config_file) +
          "</code>. <a href=\"/metrics\">Metrics</a></p><div id=\"live\">";
  auto result_of = [](bool has_run, bool success) {
    return !has_run  ? std::string("<span class=\"pending\">pending</span>")
           : success ? std::string("<span class=\"ok\">success</span>")
                     : std::string("<span class=\"fail\">failure</span>");
  };
  if (!probe.empty()) {
    const ProbeStatus* found = nullptr;
    for (const ProbeStatus& p : probes) {
      if (p.id.name == probe) found = &p;
    }
    html += "<p><a href=\"/\">All probes</a></p>";
    if (found == nullptr) {
      html += "<p>No probe named <code>" + HtmlEscape(probe) + "</code>.</p>";
    } else {
      html += "<h2>Last runs of " + HtmlEscape(probe) + " (" + HtmlEscape(found->id.kind.str()) +
              ", region " + HtmlEscape(found->id.region.str()) + ")</h2>";
      html +=
          "<table id=\"runs\"><tr><th>At (UTC)</th><th>Result</th><th>Duration</th>"
          "<th>Reason</th><th>Detail</th></tr>";
      for (const ProbeRun& r : found->recent) {
        html += std::string("<tr") + (r.success ? "" : " class=\"failing\"") + "><td>" +
                FormatTime(r.at_unix) + "</td><td>" + result_of(true, r.success) + "</td><td>" +
                Seconds(r.duration_seconds) + "</td><td>" +
                (r.success ? "" : HtmlEscape(r.reason)) + "</td><td>" +
                (r.success ? "" : HtmlEscape(r.detail)) + "</td></tr>";
      }
      html += "</table>";
      if (found->recent.empty()) html += "<p>Not run yet.</p>";
    }
    html += "</div>" + LiveRefreshScript(kRefreshMs, /*stamp=*/false) + "</body></html>\n";
    return html;
  }
  html += "<p>" + std::to_string(probes.size()) + " probes: " + std::to_string(up) + " up, " +
          std::to_string(down) + " failing, " + std::to_string(pending) + " not run yet.</p>";
  html +=
      "<table id=\"probes\"><tr><th>Probe</th><th>Region</th><th>Kind</th><th>Last result</th>"
      "<th>Reason</th><th>DNS target</th><th>Replication lag</th><th>Duration</th>"
      "<th>Last run (UTC)</th><th>Runs ok / failed</th><th></th></tr>";
  for (const ProbeStatus& p : probes) {
    std::string reason =
        p.success ? ""
                  : HtmlEscape(p.reason) + (p.detail.empty() ? "" : ": ") + HtmlEscape(p.detail);
    html += std::string("<tr") + (p.has_run && !p.success ? " class=\"failing\"" : "") + "><td>" +
            HtmlEscape(p.id.name) + "</td><td>" + HtmlEscape(p.id.region.str()) + "</td><td>" +
            HtmlEscape(p.id.kind.str()) + "</td><td>" + result_of(p.has_run, p.success) +
            "</td><td>" + reason + "</td><td>" + HtmlEscape(p.dns_target) + "</td><td>" +
            (p.lag_seconds >= 0 ? Seconds(p.lag_seconds) : "") + "</td><td>" +
            (p.has_run ? Seconds(p.duration_seconds) : "-") + "</td><td>" +
            FormatTime(p.last_run_unix) + "</td><td>" + std::to_string(p.successes) + " / " +
            std::to_string(p.failures) + "</td><td><a href=\"/?probe=" + UrlEncode(p.id.name) +
            "\">last runs</a></td></tr>";
  }
  html += "</table></div>" + LiveRefreshScript(kRefreshMs, /*stamp=*/false) + "</body></html>\n";
  return html;
}

}  // namespace failover
