#include "actuator/status_page.h"

#include <ctime>

#include "common/build_info.h"
#include "common/html.h"

namespace failover {
namespace {

std::string Time(double t) {
  if (t <= 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string Row(const ExecutionRecord& e) {
  return "<tr><td><a href=\"/api/v1/executions/" + HtmlEscape(e.id) + "\">" + HtmlEscape(e.id) +
         "</a></td><td>" + HtmlEscape(e.runbook) + "</td><td class=\"" + HtmlEscape(e.state) +
         "\">" + HtmlEscape(e.state) + "</td><td>" + HtmlEscape(e.mode) + "</td><td>" +
         HtmlEscape(e.trigger) + "</td><td>" + Time(e.created_at) + "</td><td>" +
         HtmlEscape(e.message) + "</td></tr>";
}

const char* kHeader =
    "<tr><th>Execution</th><th>Runbook</th><th>State</th><th>Mode</th><th>Trigger</th>"
    "<th>Created (UTC)</th><th>Message</th></tr>";

}  // namespace

std::string RenderActuatorStatusPage(const ActuatorConfig& config,
                                     const std::vector<ExecutionRecord>& recent,
                                     const std::vector<ExecutionRecord>& pending,
                                     const Engine::BrakeState& brake, bool forced_dry_run) {
  std::string h =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>failover_actuator</title>"
      "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:"
      "1.5em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.succeeded{color:#1a7f37}"
      ".failed,.refused{color:#cf222e;font-weight:bold}.pending_approval{color:#9a6700;font-weight:"
      "bold}.brake{padding:.5em;border:2px solid #cf222e}</style></head><body>"
      "<h1>failover_actuator</h1>";
  h += "<p>Version " + std::string(kVersion) + " (revision " + kRevision +
       "). <a href=\"/metrics\">Metrics</a> · <a href=\"/api/v1/executions\">Executions "
       "(JSON)</a></p>";
  if (forced_dry_run) h += "<p class=\"brake\">Started with --dry-run: nothing is changed.</p>";
  h += std::string("<p") + (brake.engaged ? " class=\"brake\"" : "") + ">Brake: " +
       (brake.engaged ? "<b>ENGAGED</b> — automatic executions stop; run by hand through the API"
                      : "released") +
       " (" + std::to_string(brake.executions_in_window) + " of at most " +
       std::to_string(brake.max_executions) + " automatic executions in the last " +
       FormatDuration(brake.window) + ")</p>";
  h += "<h2>Pending approvals</h2>";
  if (pending.empty()) {
    h += "<p>None.</p>";
  } else {
    h += "<table>" + std::string(kHeader);
    for (const auto& e : pending) h += Row(e);
    h += "</table>";
  }
  h += "<h2>Runbooks</h2><table><tr><th>Runbook</th><th>Match</th><th>On</th><th>Mode</th>"
       "<th>Cooldown</th><th>Steps</th><th>Last execution</th></tr>";
  for (const auto& rb : config.runbooks) {
    std::string match;
    for (const auto& m : rb.match) match += (match.empty() ? "" : ", ") + m.ToString();
    std::string steps;
    for (const auto& s : rb.steps) steps += (steps.empty() ? "" : " → ") + s.kind;
    std::string last = "never";
    for (const auto& e : recent) {
      if (e.runbook == rb.name) {
        last = "<span class=\"" + HtmlEscape(e.state) + "\">" + HtmlEscape(e.state) +
               "</span> at " + Time(e.created_at);
        break;
      }
    }
    h += "<tr><td>" + HtmlEscape(rb.name) + "</td><td><code>" + HtmlEscape(match) +
         "</code></td><td>" + HtmlEscape(rb.on) + "</td><td>" + HtmlEscape(rb.mode) + "</td><td>" +
         FormatDuration(rb.cooldown) + "</td><td>" + HtmlEscape(steps) + "</td><td>" + last +
         "</td></tr>";
  }
  h += "</table><h2>Recent executions</h2><table>" + std::string(kHeader);
  for (const auto& e : recent) h += Row(e);
  h += "</table></body></html>\n";
  return h;
}

}  // namespace failover
