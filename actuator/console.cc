#include "actuator/console.h"

#include <openssl/rand.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "actuator/prometheus_client.h"
#include "common/aws_sigv4.h"
#include "common/build_info.h"
#include "common/html.h"
#include "common/log.h"
#include "common/time_format.h"

namespace failover {
namespace {

using nlohmann::json;

constexpr const char* kSessionCookie = "failover_console";

std::string H(const std::string& s) { return HtmlEscape(s); }

std::string Time(double t) { return t <= 0 ? "-" : FormatUtc(t, ' '); }

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    // Never a predictable token: no console session without randomness.
    throw std::runtime_error("RAND_bytes failed");
  }
  return HexEncode(raw);
}

std::string Cookie(const HttpServerRequest& req, const std::string& name) {
  std::string all = req.Header("cookie");
  size_t pos = 0;
  while (pos < all.size()) {
    size_t end = all.find(';', pos);
    if (end == std::string::npos) end = all.size();
    std::string part = all.substr(pos, end - pos);
    size_t b = part.find_first_not_of(' ');
    if (b != std::string::npos) part = part.substr(b);
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

std::string FormValue(const HttpServerRequest& req, const std::string& name) {
  HttpServerRequest form;
  form.query = req.body;
  return form.QueryParam(name);
}

// "name=value" per line (the run form's labels); lines without '=' are ignored.
LabelSet ParseLabelLines(const std::string& text) {
  LabelSet labels;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    size_t eq = line.find('=');
    if (eq != std::string::npos && eq > 0) labels[line.substr(0, eq)] = line.substr(eq + 1);
    pos = end + 1;
  }
  return labels;
}

// A scalar input as text ("" for objects and arrays).
std::string Scalar(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number() || j.is_boolean()) return j.dump();
  return "";
}

HttpServerResponse HtmlStatus(int status, std::string body) {
  HttpServerResponse r = HttpServerResponse::Html(std::move(body));
  r.status = status;
  return r;
}

HttpServerResponse Redirect(const std::string& to) {
  HttpServerResponse r;
  r.status = 303;
  r.headers.emplace_back("Location", to);
  r.body = "See " + to + "\n";
  return r;
}

const char* kStyle =
    "body{font-family:system-ui,sans-serif;margin:0;color:#1f2328}"
    "header{background:#24292f;color:#fff;padding:.6em 1.5em;display:flex;gap:1.5em;"
    "align-items:center}header a{color:#fff}main{padding:1em 1.5em}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #d0d7de;"
    "padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}"
    "pre{margin:0;white-space:pre-wrap;font-size:90%}"
    ".state{font-weight:bold;padding:1px 6px;border-radius:4px}"
    ".succeeded,.ok,.up{background:#dafbe1;color:#1a7f37}"
    ".failed,.refused,.rejected,.down{background:#ffebe9;color:#cf222e}"
    ".held,.cancelled,.pending_approval{background:#fff8c5;color:#9a6700}"
    ".running,.queued,.retrying{background:#ddf4ff;color:#0969da}"
    ".suppressed,.dry_run,.skipped{background:#eaeef2;color:#57606a}"
    ".banner{padding:.7em 1em;border-radius:6px;margin:.5em 0;border:2px solid}"
    ".banner.hold{border-color:#bf8700;background:#fff8c5}"
    ".banner.run{border-color:#1a7f37;background:#dafbe1}"
    ".banner.warn{border-color:#cf222e;background:#ffebe9}"
    ".btn{display:inline-block;padding:4px 12px;border-radius:6px;border:1px solid #8c959f;"
    "background:#f6f8fa;color:#1f2328;text-decoration:none;font:inherit;cursor:pointer}"
    ".btn.go{background:#1f883d;color:#fff;border-color:#1a7f37}"
    ".btn.stop{background:#cf222e;color:#fff;border-color:#a40e26}"
    ".muted{color:#57606a}.consequence{font-size:120%;font-weight:bold}"
    "table.rows{margin:0}table.rows td,table.rows th{font-size:90%}";

std::string StateSpan(const std::string& state) {
  return "<span class=\"state " + H(state) + "\">" + H(state) + "</span>";
}
std::string StateSpan(ExecState state) { return StateSpan(std::string(ToString(state))); }

std::string ExecLink(const ExecutionRecord& e) {
  return "<a href=\"/executions/" + H(e.id) + "\">" + H(e.id) + "</a>";
}

std::string ExecTable(const std::vector<ExecutionRecord>& list, const std::string& table_id) {
  if (list.empty()) return "<p class=\"muted\" id=\"" + table_id + "\">None.</p>";
  std::string h = "<table id=\"" + table_id +
                  "\"><tr><th>Execution</th><th>Runbook</th><th>State</th><th>Mode</th>"
                  "<th>Trigger</th><th>Created (UTC)</th><th>Message</th></tr>";
  for (const auto& e : list) {
    h += "<tr class=\"exec\" data-id=\"" + H(e.id) + "\" data-state=\"" + H(ToString(e.state)) +
         "\"><td>" + ExecLink(e) + "</td><td>" + H(e.runbook) + "</td><td>" + StateSpan(e.state) +
         "</td><td>" + H(ToString(e.mode)) + "</td><td>" + H(ToString(e.trigger)) + "</td><td>" +
         Time(e.created_at) + "</td><td>" + H(e.message) + "</td></tr>";
  }
  return h + "</table>";
}

std::string LabelsText(const LabelSet& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ", ") + k + "=\"" + v + "\"";
  return out;
}

// The rendered plan of a runbook for these variables: [{step, phase, kind, inputs|error}].
json Plan(const RunbookConfig& rb, const TemplateVars& vars, bool with_on_failure) {
  json plan = json::array();
  for (const auto* list : {&rb.steps, &rb.on_failure}) {
    if (list == &rb.on_failure && !with_on_failure) break;
    std::string phase = ToString(list == &rb.steps ? ExecPhase::kMain : ExecPhase::kOnFailure);
    for (size_t i = 0; i < list->size(); ++i) {
      auto r = (*list)[i].step->Render(vars);
      json s = {{"step", i + 1}, {"phase", phase}, {"kind", (*list)[i].kind}};
      if (r) {
        s["inputs"] = *r;
      } else {
        s["error"] = r.error().message;
      }
      plan.push_back(std::move(s));
    }
  }
  return plan;
}

std::string PlanTable(const json& plan) {
  std::string h =
      "<table class=\"plan\"><tr><th>#</th><th>Phase</th><th>Kind</th><th>Inputs "
      "(secrets redacted)</th></tr>";
  for (const auto& s : plan) {
    h += "<tr><td>" + std::to_string(s.value("step", 0)) + "</td><td>" +
         H(s.value("phase", "main")) + "</td><td>" + H(s.value("kind", "")) + "</td><td>" +
         (s.contains("error") ? "<span class=\"state failed\">cannot render: " +
                                    H(s["error"].get<std::string>()) + "</span>"
                              : "<pre>" + H(s["inputs"].dump(2)) + "</pre>") +
         "</td></tr>";
  }
  return h + "</table>";
}

}  // namespace

namespace {

// A row value as text: strings as they are, SQL NULL as NULL, anything else as JSON.
std::string ValueText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "NULL";
  return v.dump();
}

// "id=10, note=lost-1" (escaped).
std::string RowImage(const json& image) {
  std::string out;
  if (image.is_object()) {
    for (const auto& [k, v] : image.items()) {
      out += (out.empty() ? "" : ", ") + H(k) + "=" + H(ValueText(v));
    }
  } else if (image.is_array()) {  // PostgreSQL multi-inserts: values_list
    for (const auto& one : image) out += (out.empty() ? "" : "<br>") + RowImage(one);
  }
  return out.empty() ? "<span class=\"muted\">-</span>" : "<code>" + out + "</code>";
}

// One row change of a divergence report (actuator/db/mysql_wayback.cc and
// actuator/db/pg_wayback.cc write them): table, operation and the row as text.
std::string RowChange(const json& row) {
  if (!row.is_object()) return "";
  std::string image;
  if (row.contains("before") || row.contains("after")) {
    image = (row.contains("before") ? "before " + RowImage(row["before"]) : std::string()) +
            (row.contains("before") && row.contains("after") ? "<br>" : "") +
            (row.contains("after") ? "after " + RowImage(row["after"]) : std::string());
  } else if (row.contains("values")) {
    image = RowImage(row["values"]);
  } else if (row.contains("values_list")) {
    image = RowImage(row["values_list"]);
  }
  for (const char* key : {"ctid", "before_ctid"}) {
    if (row.contains(key)) {
      image += std::string(image.empty() ? "" : " ") + "<span class=\"muted\">" + key + " " +
               H(ValueText(row[key])) + "</span>";
    }
  }
  if (row.contains("note"))
    image += "<br><span class=\"muted\">" + H(ValueText(row["note"])) + "</span>";
  return "<tr><td>" + H(ValueText(row.value("table", json("")))) + "</td><td>" +
         H(ValueText(row.value("operation", json("")))) + "</td><td>" + image + "</td></tr>";
}

}  // namespace

std::string DivergenceReportHtml(const json& details, const std::string& table_id) {
  if (!details.is_object() || !details.contains("errant") || !details["errant"].is_array()) {
    return "";
  }
  const json& errant = details["errant"];
  std::string h = "<p>Transactions only on <b>" +
                  H(ValueText(details.value("old_primary", json("the old primary")))) +
                  "</b>, not on <b>" +
                  H(ValueText(details.value("new_primary", json("the new primary")))) + "</b>";
  // Where the two servers parted: MariaDB's shared GTID position, PostgreSQL's LSN.
  if (details.contains("shared_position")) {
    // MariaDB: the old primary's gtid_binlog_pos; MySQL: its gtid_executed.
    json old_at =
        details.value("old_gtid_binlog_pos", details.value("old_gtid_executed", json("")));
    h += " (shared GTID position <code>" + H(ValueText(details["shared_position"])) +
         "</code>, old primary at <code>" + H(ValueText(old_at)) + "</code>)";
  } else if (details.contains("divergence_lsn")) {
    h += " (divergence at LSN <code>" + H(ValueText(details["divergence_lsn"])) + "</code>)";
  }
  h += ": " + std::to_string(errant.size()) + " transaction(s).</p>";
  if (details.value("rows_truncated", false)) {
    h += "<p class=\"banner warn\">Rows truncated: the report lists the first row changes "
         "only (every transaction is listed).</p>";
  }
  if (errant.empty()) {
    return h + "<p class=\"muted\" id=\"" + H(table_id) + "\">No errant transactions.</p>";
  }
  h += "<table class=\"divergence\" id=\"" + H(table_id) +
       "\"><tr><th>Transaction (GTID or LSN)</th><th>Time (UTC)</th><th>Rows changed</th></tr>";
  for (const auto& tx : errant) {
    if (!tx.is_object()) continue;
    std::string id;
    if (tx.contains("gtid")) {
      id = "GTID <code class=\"txid\">" + H(ValueText(tx["gtid"])) + "</code>";
    } else if (tx.contains("lsn")) {
      id = "LSN <code class=\"txid\">" + H(ValueText(tx["lsn"])) + "</code>" +
           (tx.contains("xid") ? " <span class=\"muted\">xid " + H(ValueText(tx["xid"])) + "</span>"
                               : std::string());
    }
    if (tx.contains("binlog")) {
      id += "<br><span class=\"muted\">" + H(ValueText(tx["binlog"])) + ":" +
            H(ValueText(tx.value("position", json("")))) + "</span>";
    }
    std::string when = tx.contains("time") ? ValueText(tx["time"]) : "-";
    const json rows = tx.value("rows", json::array());
    std::string changes;
    if (rows.is_array() && !rows.empty()) {
      changes = "<table class=\"rows\"><tr><th>Table</th><th>Operation</th><th>Row</th></tr>";
      for (const auto& row : rows) changes += RowChange(row);
      changes += "</table>";
    } else {
      changes = "<span class=\"muted\">no row change read</span>";
    }
    h += "<tr class=\"errant\"><td>" + id + "</td><td>" + H(when) + "</td><td>" + changes +
         "</td></tr>";
  }
  return h + "</table>";
}

std::string DescribeConsequences(const json& plan) {
  std::string out;
  for (const auto& s : plan) {
    const std::string main = ToString(ExecPhase::kMain);
    if (s.value("phase", main) != main) continue;
    std::string kind = s.value("kind", "");
    json in = s.value("inputs", json::object());
    std::string db = in.is_object() ? Scalar(in.value("database", json())) : "";
    std::string what;
    if (kind == "db_fence") {
      what = "fences " + db;
    } else if (kind == "db_promote" || kind == "digitalocean_db_promote") {
      what = "promotes " + db;
    } else if (kind == "dns_update" || kind == "dns_weights") {
      std::string to;
      if (in.is_object() && in.contains("records") && in["records"].is_array()) {
        for (const auto& rec : in["records"]) {
          std::string v = Scalar(rec);
          if (v.empty() && rec.is_object()) v = Scalar(rec.value("value", json()));
          if (v.empty()) v = rec.dump();
          to += (to.empty() ? "" : ", ") + v;
        }
      }
      what = "points " + (in.is_object() ? Scalar(in.value("name", json())) : std::string()) +
             (to.empty() ? "" : " at " + to);
    } else if (kind == "pagerduty") {
      what = "pages PagerDuty";
    } else if (!db.empty()) {
      what = kind + " " + db;
    } else {
      what = "runs " + kind;
    }
    out += (out.empty() ? "" : ", ") + what;
  }
  return out.empty() ? "runs no step" : out;
}

struct Console::Request {
  const HttpServerRequest& http;
  Identity who;
  std::string session;
  bool new_session = false;
  std::shared_ptr<const ActuatorConfig> cfg;
  bool Operator() const { return who.role == Role::kOperator; }
  std::string User() const {
    if (!who.user.empty()) return who.user;
    return "anonymous@" + http.remote_addr;
  }
};

Console::Console(Engine& engine, Journal& journal, HttpClient& http, bool forced_dry_run,
                 std::function<bool()> web_basic_auth)
    : engine_(engine),
      journal_(journal),
      http_(http),
      forced_dry_run_(forced_dry_run),
      web_basic_auth_(std::move(web_basic_auth)),
      secret_(RandomHex(32)) {}

std::string Console::CsrfToken(const std::string& session, const std::string& user) const {
  return HexEncode(HmacSha256(secret_, session + "|" + user));
}

std::vector<HttpServer::Route> Console::Routes() {
  std::vector<HttpServer::Route> routes;
  auto h = [this](const HttpServerRequest& r) { return Handle(r); };
  routes.push_back({"GET", "/", false, h});
  for (const char* m : {"GET", "POST"}) {
    routes.push_back({m, "/executions/", true, h});
    routes.push_back({m, "/runbooks/", true, h});
    routes.push_back({m, "/hold", false, h});
    routes.push_back({m, "/resume", false, h});
  }
  for (auto& r : routes) {
    r.authorize = [this](const HttpServerRequest& req) { return Authorize(req); };
  }
  return routes;
}

std::optional<HttpServerResponse> Console::Authorize(const HttpServerRequest& req) {
  auto cfg = engine_.config();
  Identity who = Identify(*cfg, web_basic_auth_(), req.Header("authorization"));
  if (who.role != Role::kNone) return std::nullopt;
  auto r = HtmlStatus(who.api == AuthResult::kError ? 500 : 401,
                      "<!DOCTYPE html><title>failover_actuator</title><p>Authentication "
                      "required.</p>\n");
  // Browsers can only answer a basic challenge; a bearer token is for the API.
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"failover\"");
  return r;
}

HttpServerResponse Console::Handle(const HttpServerRequest& http) {
  Request r{http, {}, {}, false, engine_.config()};
  r.who = Identify(*r.cfg, web_basic_auth_(), http.Header("authorization"));
  if (r.who.role == Role::kNone) return *Authorize(http);
  r.session = Cookie(http, kSessionCookie);
  bool valid = r.session.size() == 64 &&
               std::all_of(r.session.begin(), r.session.end(),
                           [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  if (!valid) {
    r.session = RandomHex(32);
    r.new_session = true;
  }
  std::vector<std::string> parts;
  for (size_t pos = 1; pos <= http.path.size();) {
    size_t slash = http.path.find('/', pos);
    if (slash == std::string::npos) slash = http.path.size();
    if (slash > pos) parts.push_back(http.path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  HttpServerResponse resp;
  try {
    if (http.method == "POST") {
      resp = Act(r, parts);
    } else if (parts.empty()) {
      resp = Overview(r);
    } else if (parts[0] == "executions" && parts.size() == 2) {
      resp = ExecutionPage(r, parts[1]);
    } else if (parts[0] == "executions" && parts.size() == 3) {
      resp = Confirm(r, parts[1], parts[2]);
    } else if (parts[0] == "hold" && parts.size() == 1) {
      resp = HoldPage(r, false);
    } else if (parts[0] == "resume" && parts.size() == 1) {
      resp = HoldPage(r, true);
    } else if (parts[0] == "runbooks" && parts.size() == 3 && parts[2] == "run") {
      resp = RunPage(r, parts[1]);
    } else {
      resp = Page(r, "Not found", "<p>No page " + H(http.path) + ".</p>", false);
      resp.status = 404;
    }
  } catch (const std::exception& e) {
    log::Error("console page failed", {{"path", http.path}, {"err", e.what()}});
    resp = HtmlStatus(500, "<!DOCTYPE html><p>Internal error.</p>\n");
  }
  if (r.new_session) {
    resp.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) + "=" + r.session +
                                                "; Path=/; HttpOnly; SameSite=Strict");
  }
  resp.headers.emplace_back("Cache-Control", "no-store");
  resp.headers.emplace_back("X-Frame-Options", "DENY");
  resp.headers.emplace_back("Content-Security-Policy",
                            "default-src 'self'; script-src 'unsafe-inline'; style-src "
                            "'unsafe-inline'; frame-ancestors 'none'; form-action 'self'");
  return resp;
}

HttpServerResponse Console::Page(Request& r, const std::string& title, const std::string& body,
                                 bool live) {
  std::string h = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + H(title) +
                  " · failover_actuator</title><style>" + kStyle +
                  "</style></head><body><header>"
                  "<b><a href=\"/\">failover_actuator</a></b><span>" +
                  H(title) + "</span><span style=\"margin-left:auto\" id=\"user\">" + H(r.User()) +
                  " (" + (r.Operator() ? "operator" : "viewer") + ")</span></header><main>";
  h += body;
  h += "<p class=\"muted\">Version " + H(kVersion) + " (revision " + H(kRevision) + ")" +
       (live ? " · refreshed <span id=\"refreshed\">" +
                   Time(UnixSeconds(std::chrono::system_clock::now())) + "</span>"
             : "") +
       " · <a href=\"/metrics\">Metrics</a> · <a href=\"/api/v1/executions\">API</a></p>";
  h += "</main>";
  // Refreshes the element with id "live" every few seconds; nothing else on the page changes.
  if (live) h += LiveRefreshScript(3000, /*stamp=*/true);
  h += "</body></html>\n";
  return HttpServerResponse::Html(std::move(h));
}

HttpServerResponse Console::Overview(Request& r) {
  const ActuatorConfig& cfg = *r.cfg;
  std::string b = "<div id=\"live\">";
  if (forced_dry_run_) {
    b += "<p class=\"banner warn\">Started with --dry-run: nothing is changed.</p>";
  }
  auto hold = engine_.Hold();
  if (!hold) {
    b += "<p class=\"banner warn\" id=\"automation\">Automation state unknown: the journal "
         "cannot be read (" +
         H(hold.error().message) + ").</p>";
  } else if (hold->held) {
    b += "<div class=\"banner hold\" id=\"automation\" data-state=\"held\"><b>Automation is ON "
         "HOLD</b> since " +
         Time(hold->since) + " by <b>" + H(hold->by) + "</b>: " + H(hold->reason) +
         ". No execution an alert triggers starts until a human resumes." +
         (r.Operator() ? " <a class=\"btn go\" id=\"resume\" href=\"/resume\">Resume "
                         "automation…</a>"
                       : "") +
         "</div>";
  } else {
    b += "<div class=\"banner run\" id=\"automation\" data-state=\"running\"><b>Automation is "
         "running.</b>" +
         (hold->resumed_at > 0
              ? " Last resumed by " + H(hold->resumed_by) + " at " + Time(hold->resumed_at) + "."
              : std::string()) +
         (r.Operator() ? " <a class=\"btn stop\" id=\"hold\" href=\"/hold\">Hold "
                         "automation…</a>"
                       : "") +
         "</div>";
  }
  auto brake = engine_.Brake();
  b += "<p id=\"brake\">Brake: " +
       std::string(brake.engaged ? "<span class=\"state failed\">engaged</span>"
                                 : "<span class=\"state ok\">released</span>") +
       " — " + std::to_string(brake.executions_in_window) + " of at most " +
       std::to_string(brake.max_executions) + " automatic executions in the last " +
       FormatDuration(brake.window) + "; at the limit the brake puts automation on hold.</p>";

  // Region health as Prometheus sees it.
  b += "<h2>Regions</h2>";
  if (cfg.prometheus_url.empty()) {
    b += "<p class=\"muted\" id=\"regions\">No Prometheus configured.</p>";
  } else {
    Duration timeout = std::min<Duration>(cfg.prometheus_timeout, std::chrono::seconds(2));
    PromClient prom(http_, cfg.prometheus_url, timeout);
    auto any = prom.Query("region:failover_probe_success:max");
    auto all = any ? prom.Query("region:failover_probe_success:min") : any;
    if (!any || !all) {
      b += "<p class=\"banner warn\" id=\"regions\">Prometheus unreachable: " +
           H((any ? all : any).error().message) +
           ". Region health unknown; guards cannot pass either.</p>";
    } else if (any->samples.empty()) {
      b += "<p class=\"muted\" id=\"regions\">Prometheus has no "
           "region:failover_probe_success:max series (are the recording rules loaded?).</p>";
    } else {
      std::map<std::string, std::pair<double, double>> regions;
      for (const auto& s : any->samples)
        regions[s.labels.count("region") ? s.labels.at("region") : ""].first = s.value;
      for (const auto& s : all->samples) {
        auto& v = regions[s.labels.count("region") ? s.labels.at("region") : ""];
        v.second = s.value;
      }
      b += "<table id=\"regions\"><tr><th>Region</th><th>State</th><th>Some probe "
           "succeeds</th><th>Every probe succeeds</th></tr>";
      for (const auto& [region, v] : regions) {
        bool up = v.first >= 1;
        b +=
            "<tr data-region=\"" + H(region) + "\"><td>" + H(region) + "</td><td>" +
            (up ? "<span class=\"state up\">up</span>" : "<span class=\"state down\">down</span>") +
            "</td><td>" + (v.first >= 1 ? "yes" : "no") + "</td><td>" +
            (v.second >= 1 ? "yes" : "no") + "</td></tr>";
      }
      b += "</table>";
    }
  }

  // Firing alerts that match a runbook.
  if (!cfg.alertmanager_url.empty()) {
    b += "<h2>Firing alerts that match a runbook</h2>";
    HttpRequest req;
    req.url = cfg.alertmanager_url + "/api/v2/alerts?active=true&silenced=false&inhibited=false";
    req.timeout = std::chrono::seconds(2);
    auto resp = http_.Send(req);
    json alerts = resp && resp->status == 200
                      ? json::parse(resp->body, nullptr, /*allow_exceptions=*/false)
                      : json();
    if (!alerts.is_array()) {
      b += "<p class=\"banner warn\" id=\"alerts\">Alertmanager unreachable: " +
           H(!resp ? resp.error().message
                   : "answered " + std::to_string(resp->status) + " with no alert list") +
           ".</p>";
    } else {
      std::string rows;
      for (const auto& a : alerts) {
        if (!a.is_object()) continue;
        LabelSet labels;
        // A named copy: items() of a temporary would outlive it in the loop.
        const json alert_labels = a.value("labels", json::object());
        for (const auto& [k, v] : alert_labels.items()) {
          if (v.is_string()) labels[k] = v.get<std::string>();
        }
        std::string matched;
        for (const auto& rb : cfg.runbooks) {
          if (rb.on == "firing" && MatchesAll(rb.match, labels)) {
            matched += (matched.empty() ? "" : ", ") + rb.name;
          }
        }
        if (matched.empty()) continue;
        rows += "<tr><td>" + H(labels.count("alertname") ? labels["alertname"] : "") +
                "</td><td><code>" + H(LabelsText(labels)) + "</code></td><td>" +
                H(a.value("startsAt", "")) + "</td><td>" + H(matched) + "</td></tr>";
      }
      b += rows.empty() ? "<p class=\"muted\" id=\"alerts\">None.</p>"
                        : "<table id=\"alerts\"><tr><th>Alert</th><th>Labels</th><th>Since</th>"
                          "<th>Runbooks</th></tr>" +
                              rows + "</table>";
    }
  }

  ExecutionQuery pq;
  pq.states = {ExecState::kPendingApproval};
  auto pending = journal_.List(pq);
  b += "<h2>Pending approvals</h2>" +
       ExecTable(pending ? *pending : std::vector<ExecutionRecord>{}, "pending");
  ExecutionQuery rq;
  rq.states = {ExecState::kRunning, ExecState::kQueued};
  auto running = journal_.List(rq);
  b += "<h2>Running</h2>" +
       ExecTable(running ? *running : std::vector<ExecutionRecord>{}, "running");
  ExecutionQuery q;
  q.limit = 30;
  auto recent = journal_.List(q);
  if (!recent) {
    b += "<p class=\"banner warn\">Cannot read the journal: " + H(recent.error().message) + "</p>";
  }
  b += "<h2>Recent executions</h2>" +
       ExecTable(recent ? *recent : std::vector<ExecutionRecord>{}, "recent");
  b += "</div>";

  b += "<h2>Runbooks</h2><table id=\"runbooks\"><tr><th>Runbook</th><th>Match</th><th>On</th>"
       "<th>Mode</th><th>Cooldown</th><th>Steps</th><th></th></tr>";
  for (const auto& rb : cfg.runbooks) {
    std::string match;
    for (const auto& m : rb.match) match += (match.empty() ? "" : ", ") + m.ToString();
    std::string steps;
    for (const auto& s : rb.steps) steps += (steps.empty() ? "" : " → ") + s.kind;
    b += "<tr><td>" + H(rb.name) + "</td><td><code>" + H(match) + "</code></td><td>" + H(rb.on) +
         "</td><td>" + H(ToString(rb.mode)) + "</td><td>" + FormatDuration(rb.cooldown) +
         "</td><td>" + H(steps) + "</td><td>" +
         (r.Operator()
              ? "<a class=\"btn\" href=\"/runbooks/" + H(rb.name) + "/run\">Run by hand…</a>"
              : "") +
         "</td></tr>";
  }
  b += "</table>";
  return Page(r, "Overview", b, true);
}

HttpServerResponse Console::ExecutionPage(Request& r, const std::string& id) {
  auto got = journal_.Get(id);
  if (!got) return HtmlStatus(503, "<p>Cannot read the journal.</p>");
  if (!*got) {
    auto resp = Page(r, "Not found", "<p>No execution " + H(id) + ".</p>", false);
    resp.status = 404;
    return resp;
  }
  const ExecutionRecord& e = **got;
  auto steps = journal_.Steps(id);
  auto events = journal_.Events(id);
  const RunbookConfig* rb = r.cfg->FindRunbook(e.runbook);

  std::string b = "<div id=\"live\">";
  b += "<h1>" + H(e.runbook) + " " + StateSpan(e.state) + "</h1>";
  b += "<table id=\"summary\"><tr><th>Execution</th><td>" + H(e.id) +
       "</td></tr><tr><th>State"
       "</th><td id=\"state\" data-state=\"" +
       H(ToString(e.state)) + "\">" + StateSpan(e.state) + " " + H(e.message) +
       "</td></tr><tr><th>Mode</th><td>" + H(ToString(e.mode)) +
       "</td></tr><tr><th>Trigger</th><td>" + H(ToString(e.trigger)) +
       (e.requested_by.empty() ? "" : " (by " + H(e.requested_by) + ")") +
       "</td></tr><tr><th>Created</th><td>" + Time(e.created_at) +
       "</td></tr><tr><th>Finished</th><td>" + Time(e.finished_at) + "</td></tr>";
  if (e.resumes > 0) {
    b += "<tr><th>Resumed</th><td>" + std::to_string(e.resumes) + " time(s)</td></tr>";
  }
  // The PagerDuty incident(s) of this execution: the actuator's own pages use
  // failover/<id> (actuator/engine.cc, Escalate); a runbook's pagerduty step may name
  // another dedup key (its details say which).
  std::vector<std::string> dedup_keys;
  if (r.cfg->pagerduty_routing_key) dedup_keys.push_back("failover/" + e.id);
  if (steps) {
    for (const auto& s : *steps) {
      if (s.kind != "pagerduty" || !s.details.is_object()) continue;
      std::string k = s.details.value("dedup_key", "");
      if (!k.empty() && std::find(dedup_keys.begin(), dedup_keys.end(), k) == dedup_keys.end()) {
        dedup_keys.push_back(k);
      }
    }
  }
  if (!dedup_keys.empty()) {
    std::string keys;
    for (const auto& k : dedup_keys) keys += (keys.empty() ? "" : ", ") + H(k);
    b += "<tr><th>PagerDuty dedup key</th><td><code id=\"dedup\">" + keys + "</code></td></tr>";
  }
  b += "</table>";

  // Actions.
  if (r.Operator()) {
    std::string actions;
    if (e.state == ExecState::kPendingApproval) {
      actions += "<a class=\"btn go\" id=\"approve\" href=\"/executions/" + H(e.id) +
                 "/approve\">Approve…</a> <a class=\"btn stop\" id=\"reject\" href=\"/executions/" +
                 H(e.id) + "/reject\">Reject…</a>";
    } else if (e.state == ExecState::kRunning || e.state == ExecState::kQueued) {
      actions += "<a class=\"btn stop\" id=\"cancel\" href=\"/executions/" + H(e.id) +
                 "/cancel\">Cancel…</a>";
    }
    if (!actions.empty()) b += "<p id=\"actions\">" + actions + "</p>";
  }

  b += "<h2>Trigger</h2>";
  if (e.trigger == ExecTrigger::kWebhook) {
    b += "<p>Alert <b>" + H(e.alert_status) + "</b> since " + H(e.starts_at) +
         " (fingerprint <code>" + H(e.fingerprint) + "</code>)</p>";
  } else {
    b += "<p>Run by hand" + (e.requested_by.empty() ? "" : " by " + H(e.requested_by)) + ".</p>";
  }
  b += "<table id=\"labels\"><tr><th>Label</th><th>Value</th></tr>";
  for (const auto& [k, v] : e.labels) b += "<tr><td>" + H(k) + "</td><td>" + H(v) + "</td></tr>";
  for (const auto& [k, v] : e.annotations) {
    b += "<tr><td class=\"muted\">annotation " + H(k) + "</td><td>" + H(v) + "</td></tr>";
  }
  b += "</table>";

  // Guards, with the values seen.
  std::string guards;
  if (events) {
    for (const auto& ev : *events) {
      if (ev.kind != "guard") continue;
      bool ok = ev.message.rfind("true", 0) == 0;
      guards += "<tr><td>" + Time(ev.at) + "</td><td>" +
                (ok ? "<span class=\"state ok\">true</span>"
                    : "<span class=\"state failed\">false</span>") +
                "</td><td>" + H(ev.message) + "</td></tr>";
    }
  }
  b += "<h2>Guards</h2>";
  if (rb != nullptr && rb->guards.empty()) {
    b += "<p class=\"muted\">The runbook has no guards.</p>";
  } else if (guards.empty()) {
    b += "<p class=\"muted\">Not evaluated yet.</p>";
  } else {
    b += "<table id=\"guards\"><tr><th>At</th><th>Result</th><th>Guard and values "
         "seen</th></tr>" +
         guards + "</table>";
  }

  // The plan, step by step: what ran (journal) and what is still to run (rendered now).
  b += "<h2>Plan</h2><table id=\"steps\"><tr><th>#</th><th>Phase</th><th>Kind</th><th>Inputs "
       "(secrets redacted)</th><th>State</th><th>Attempts</th><th>Started</th><th>Finished"
       "</th><th>Outcome and output</th></tr>";
  std::map<std::pair<std::string, int>, StepRecord> done;
  if (steps) {
    for (const auto& s : *steps) done[{s.phase, s.index}] = s;
  }
  json plan = json::array();
  if (rb != nullptr) {
    plan = Plan(*rb, TemplateVars{e.labels, e.annotations, e.runbook, e.id}, true);
  }
  std::vector<std::pair<std::string, int>> order;
  for (const auto& p : plan)
    order.emplace_back(p["phase"].get<std::string>(), p["step"].get<int>() - 1);
  for (const auto& [key, s] : done) {
    if (std::find(order.begin(), order.end(), key) == order.end()) order.push_back(key);
  }
  for (const auto& key : order) {
    auto it = done.find(key);
    std::string kind, inputs, state = "not run", attempts, started, finished, outcome;
    if (it != done.end()) {
      const StepRecord& s = it->second;
      kind = s.kind;
      inputs = s.rendered.dump(2);
      state = s.state;
      attempts = std::to_string(s.attempts);
      started = Time(s.started_at);
      finished = Time(s.finished_at);
      outcome = H(s.message);
      if (s.details.is_object() && s.details.contains("promotion_lag_seconds") &&
          s.details["promotion_lag_seconds"].is_number()) {
        outcome += "<br><b class=\"lag\">Lag at promotion: " +
                   H(s.details["promotion_lag_seconds"].dump()) + " s</b>";
      }
      if (s.details.is_object() && !s.details.empty()) {
        outcome +=
            "<details><summary>output</summary><pre>" + H(s.details.dump(2)) + "</pre></details>";
      }
    } else {
      for (const auto& p : plan) {
        if (p["phase"] == key.first && p["step"].get<int>() - 1 == key.second) {
          kind = p["kind"].get<std::string>();
          inputs = p.contains("inputs") ? p["inputs"].dump(2)
                                        : "cannot render: " + p["error"].get<std::string>();
        }
      }
    }
    b += "<tr class=\"step\" data-state=\"" + H(state) + "\"><td>" +
         std::to_string(key.second + 1) + "</td><td>" + H(key.first) + "</td><td>" + H(kind) +
         "</td><td><pre>" + H(inputs) + "</pre></td><td>" + StateSpan(state) + "</td><td>" +
         attempts + "</td><td>" + started + "</td><td>" + finished + "</td><td>" + outcome +
         "</td></tr>";
  }
  b += "</table>";
  if (rb == nullptr) b += "<p class=\"muted\">The runbook is no longer configured.</p>";

  // Divergence reports (db_divergence), as tables: the transactions to re-enter.
  for (const auto& key : order) {
    auto it = done.find(key);
    if (it == done.end() || it->second.kind != "db_divergence") continue;
    std::string table_id = "divergence-" + key.first + "-" + std::to_string(key.second + 1);
    std::string report = DivergenceReportHtml(it->second.details, table_id);
    if (report.empty()) continue;
    b += "<h2>Divergence report (step " + std::to_string(key.second + 1) +
         (key.first == ToString(ExecPhase::kMain) ? "" : ", " + H(key.first)) + ")</h2>" + report;
  }

  b += "<h2>Timeline</h2><table id=\"timeline\"><tr><th>At (UTC)</th><th>Event</th><th>"
       "</th></tr>";
  if (events) {
    for (const auto& ev : *events) {
      std::string msg = ev.message;
      if (ev.kind == "approval_requested" && msg.size() > 300) msg = msg.substr(0, 300) + "…";
      b +=
          "<tr><td>" + Time(ev.at) + "</td><td>" + H(ev.kind) + "</td><td>" + H(msg) + "</td></tr>";
    }
  }
  b += "</table></div>";
  return Page(r, "Execution " + e.id, b, true);
}

namespace {

std::string HiddenCsrf(const std::string& token) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + HtmlEscape(token) + "\">";
}

}  // namespace

HttpServerResponse Console::Confirm(Request& r, const std::string& id, const std::string& action) {
  if (!r.Operator()) {
    auto resp = Page(r, "Forbidden", "<p>Viewers cannot act. Ask an operator.</p>", false);
    resp.status = 403;
    return resp;
  }
  auto got = journal_.Get(id);
  if (!got || !*got) {
    auto resp = Page(r, "Not found", "<p>No execution " + H(id) + ".</p>", false);
    resp.status = 404;
    return resp;
  }
  const ExecutionRecord& e = **got;
  const RunbookConfig* rb = r.cfg->FindRunbook(e.runbook);
  json plan = rb != nullptr
                  ? Plan(*rb, TemplateVars{e.labels, e.annotations, e.runbook, e.id}, false)
                  : json::array();
  std::string consequence;
  std::string button;
  bool reason = false;
  if (action == "approve") {
    consequence = "Approve: " + DescribeConsequences(plan);
    button = "<button class=\"btn go\" id=\"confirm\" type=\"submit\">Approve</button>";
  } else if (action == "reject") {
    consequence = "Reject: nothing runs; execution " + e.id + " ends rejected";
    button = "<button class=\"btn stop\" id=\"confirm\" type=\"submit\">Reject</button>";
    reason = true;
  } else if (action == "cancel") {
    consequence = "Cancel: " + e.runbook +
                  " stops before its next step; the step in flight "
                  "finishes, on_failure does not run";
    button = "<button class=\"btn stop\" id=\"confirm\" type=\"submit\">Cancel execution</button>";
    reason = true;
  } else {
    auto resp = Page(r, "Not found", "<p>No action " + H(action) + ".</p>", false);
    resp.status = 404;
    return resp;
  }
  std::string b = "<p class=\"consequence\" id=\"consequence\">" + H(consequence) + "</p>";
  b += "<p>Execution <a href=\"/executions/" + H(e.id) + "\">" + H(e.id) + "</a> of " +
       H(e.runbook) + ", now " + StateSpan(e.state) + ".</p>";
  if (action == "approve") b += PlanTable(plan);
  b += "<form method=\"post\" action=\"/executions/" + H(e.id) + "/" + H(action) + "\">" +
       HiddenCsrf(CsrfToken(r.session, r.User()));
  if (reason) {
    b += "<p><label>Reason (required) <input name=\"reason\" id=\"reason\" required size=\"60\">"
         "</label></p>";
  }
  b += button + " <a class=\"btn\" href=\"/executions/" + H(e.id) + "\">Back</a></form>";
  return Page(r, "Confirm", b, false);
}

HttpServerResponse Console::HoldPage(Request& r, bool resume) {
  if (!r.Operator()) {
    auto resp = Page(r, "Forbidden", "<p>Viewers cannot act. Ask an operator.</p>", false);
    resp.status = 403;
    return resp;
  }
  std::string consequence =
      resume ? "Resume automation: alerts start executions again (the brake counts afresh)"
             : "Hold automation: no execution an alert triggers starts until a human resumes; "
               "each is recorded held and paged";
  std::string b = "<p class=\"consequence\" id=\"consequence\">" + H(consequence) + "</p>";
  b += std::string("<form method=\"post\" action=\"") + (resume ? "/resume" : "/hold") + "\">" +
       HiddenCsrf(CsrfToken(r.session, r.User())) + "<p><label>Reason" +
       (resume ? "" : " (required)") + " <input name=\"reason\" id=\"reason\" size=\"60\"" +
       (resume ? "" : " required") + "></label></p><button class=\"btn " +
       (resume ? "go" : "stop") + "\" id=\"confirm\" type=\"submit\">" +
       (resume ? "Resume automation" : "Hold automation") +
       "</button> <a class=\"btn\" href=\"/\">Back</a></form>";
  return Page(r, resume ? "Resume automation" : "Hold automation", b, false);
}

HttpServerResponse Console::RunPage(Request& r, const std::string& runbook) {
  if (!r.Operator()) {
    auto resp = Page(r, "Forbidden", "<p>Viewers cannot act. Ask an operator.</p>", false);
    resp.status = 403;
    return resp;
  }
  const RunbookConfig* rb = r.cfg->FindRunbook(runbook);
  if (rb == nullptr) {
    auto resp = Page(r, "Not found", "<p>No runbook " + H(runbook) + ".</p>", false);
    resp.status = 404;
    return resp;
  }
  std::string labels_text = r.http.QueryParam("labels");
  std::string b = "<p>Run <b>" + H(runbook) +
                  "</b> by hand (a failback or a drill). Labels "
                  "fill the runbook's templates, one <code>name=value</code> per line.</p>";
  b += "<form method=\"get\" action=\"/runbooks/" + H(runbook) +
       "/run\"><textarea name=\"labels\" id=\"labels\" rows=\"4\" cols=\"50\">" + H(labels_text) +
       "</textarea><br><button class=\"btn\" id=\"preview\" type=\"submit\">Preview (dry "
       "run)</button></form>";
  if (r.http.query.find("labels=") != std::string::npos) {
    LabelSet labels = ParseLabelLines(labels_text);
    json plan = Plan(*rb, TemplateVars{labels, {}, rb->name, "(preview)"}, false);
    bool renders = true;
    for (const auto& p : plan) renders = renders && !p.contains("error");
    b += "<h2>Preview</h2><p class=\"consequence\" id=\"consequence\">Run " + H(runbook) + ": " +
         H(DescribeConsequences(plan)) + "</p>" + PlanTable(plan);
    if (!rb->guards.empty()) {
      b += "<p>Guards are evaluated when it runs:</p><ul>";
      for (const auto& g : rb->guards) b += "<li><code>" + H(g.promql) + "</code></li>";
      b += "</ul>";
    }
    if (renders) {
      b += "<form method=\"post\" action=\"/runbooks/" + H(runbook) + "/run\">" +
           HiddenCsrf(CsrfToken(r.session, r.User())) +
           "<input type=\"hidden\" name=\"labels\" value=\"" + H(labels_text) +
           "\"><button class=\"btn go\" id=\"confirm\" type=\"submit\">Run " + H(runbook) +
           " now</button></form>";
    } else {
      b += "<p class=\"banner warn\">A step cannot be rendered with these labels.</p>";
    }
  }
  return Page(r, "Run " + runbook, b, false);
}

HttpServerResponse Console::Act(Request& r, const std::vector<std::string>& parts) {
  auto refuse = [&](int status, const std::string& why) {
    log::Warn("console action refused", {{"path", r.http.path},
                                         {"user", r.User()},
                                         {"remote", r.http.remote_addr},
                                         {"reason", why}});
    auto resp =
        Page(r, "Refused", "<p class=\"banner warn\" id=\"refused\">" + H(why) + "</p>", false);
    resp.status = status;
    return resp;
  };
  // The listener refuses a foreign Origin; a form post must also say where it comes from.
  if (r.http.Header("origin").empty() && r.http.Header("referer").empty()) {
    return refuse(403, "cross-site check: the request names no Origin");
  }
  if (r.new_session || r.session.empty() ||
      !ConstantTimeEquals(FormValue(r.http, "csrf"), CsrfToken(r.session, r.User()))) {
    return refuse(403,
                  "cross-site check: the form's token does not match this session; "
                  "reload the page and try again");
  }
  if (!r.Operator()) return refuse(403, "viewers cannot act; ask an operator");
  std::string who = r.User();
  std::string reason = FormValue(r.http, "reason");
  auto fail = [&](const Error& e) {
    return refuse(e.code == ErrorCode::kNotFound ? 404 : 409, e.message);
  };
  if (parts.size() == 3 && parts[0] == "executions") {
    const std::string& id = parts[1];
    Result<ExecutionRecord> e = Error::Invalid("no action " + parts[2]);
    if (parts[2] == "approve") {
      e = engine_.Approve(id, who);
    } else if (parts[2] == "reject") {
      e = engine_.Reject(id, who, reason);
    } else if (parts[2] == "cancel") {
      e = engine_.Cancel(id, who, reason);
    }
    if (!e) return fail(e.error());
    return Redirect("/executions/" + id);
  }
  if (parts.size() == 1 && (parts[0] == "hold" || parts[0] == "resume")) {
    auto h = parts[0] == "hold" ? engine_.SetHold(who, reason) : engine_.Resume(who, reason);
    if (!h) return fail(h.error());
    return Redirect("/");
  }
  if (parts.size() == 3 && parts[0] == "runbooks" && parts[2] == "run") {
    LabelSet labels = ParseLabelLines(FormValue(r.http, "labels"));
    auto e = engine_.RunManually(parts[1], labels, {}, false, who);
    if (!e) return fail(e.error());
    return Redirect("/executions/" + e->id);
  }
  return refuse(404, "no action " + r.http.path);
}

}  // namespace failover
