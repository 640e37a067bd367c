// The incident console: the HTML pages failover_actuator serves to people (overview,
// execution page, confirmations) and the form posts behind its buttons (approve, reject,
// cancel, hold, resume, run a runbook by hand). Server-rendered, everything served from
// the binary; a small inline script refreshes the live part of a page. Who may see and do
// what: actuator/auth.h (Identify). Form posts need the session cookie's token and a
// same-site Origin. See docs/actuator.md, "Console".
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "actuator/auth.h"
#include "actuator/engine.h"
#include "actuator/journal.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "common/http_server.h"

namespace failover {

class Console {
 public:
  // `web_basic_auth`: whether basic_auth_users of the web config guard the listener.
  Console(Engine& engine, Journal& journal, HttpClient& http, bool forced_dry_run,
          std::function<bool()> web_basic_auth);

  // The routes: GET / (overview), GET/POST /executions/<id>[/<action>], GET/POST /hold,
  // /resume, GET/POST /runbooks/<name>/run. Each has Authorize as its authorize hook.
  std::vector<HttpServer::Route> Routes();

  // 401 (asking for basic auth) when the request has no identity.
  std::optional<HttpServerResponse> Authorize(const HttpServerRequest& req);
  HttpServerResponse Handle(const HttpServerRequest& req);

  // The token a form of this session must carry (hex HMAC of the session and user).
  std::string CsrfToken(const std::string& session, const std::string& user) const;

 private:
  struct Request;
  HttpServerResponse Overview(Request& r);
  HttpServerResponse ExecutionPage(Request& r, const std::string& id);
  HttpServerResponse Confirm(Request& r, const std::string& id, const std::string& action);
  HttpServerResponse HoldPage(Request& r, bool resume);
  HttpServerResponse RunPage(Request& r, const std::string& runbook);
  HttpServerResponse Act(Request& r, const std::vector<std::string>& parts);
  HttpServerResponse Page(Request& r, const std::string& title, const std::string& body, bool live);

  Engine& engine_;
  Journal& journal_;
  HttpClient& http_;
  bool forced_dry_run_;
  std::function<bool()> web_basic_auth_;
  std::string secret_;  // per process: forms of an earlier process are refused
};

// "fences us-east-db, promotes eu-west-db, points www.example.com at 192.0.2.20": what
// running these rendered steps does, for confirmations. `plan` is an array of
// {kind, inputs}.
std::string DescribeConsequences(const nlohmann::json& plan);

// A db_divergence step's report (its details: `errant`, see docs/actuator-steps.md) as HTML:
// one table row per transaction with its GTID (MariaDB) or commit LSN (PostgreSQL), time
// and the rows it changed; every value escaped. "" when `details` has no report.
std::string DivergenceReportHtml(const nlohmann::json& details, const std::string& table_id);

}  // namespace failover
