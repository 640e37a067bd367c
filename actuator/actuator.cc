#include "actuator/actuator.h"

#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "actuator/auth.h"
#include "actuator/lock_etcd.h"
#include "common/build_info.h"
#include "common/daemon.h"
#include "common/json_limits.h"
#include "common/log.h"
#include "common/metrics_format.h"

namespace failover {
namespace {

using nlohmann::json;

HttpServerResponse JsonError(int status, const std::string& message) {
  return HttpServerResponse::Json(status,
                                  json{{"status", "error"}, {"error", message}}.dump() + "\n");
}

HttpServerResponse Unauthorized(AuthResult r, const AuthConfig& auth) {
  auto resp = JsonError(r == AuthResult::kError ? 500 : 401,
                        r == AuthResult::kMissing ? "authentication required"
                        : r == AuthResult::kError ? "server credentials unreadable"
                                                  : "invalid credentials");
  resp.headers.emplace_back("WWW-Authenticate", auth.bearer_token ? "Bearer realm=\"failover\""
                                                                  : "Basic realm=\"failover\"");
  return resp;
}

Result<LabelSet> LabelsFrom(const json& body, const char* key) {
  LabelSet out;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_object()) return Error::Invalid(std::string(key) + ": must be an object of strings");
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return Error::Invalid(std::string(key) + "." + k + ": must be a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

json HoldJson(const Engine::HoldState& h) {
  json j = {{"held", h.held}};
  if (h.held) {
    j["by"] = h.by;
    j["reason"] = h.reason;
    j["since"] = h.since;
  }
  if (h.resumed_at > 0) {
    j["resumed_by"] = h.resumed_by;
    j["resumed_at"] = h.resumed_at;
  }
  return j;
}

}  // namespace

// basic_auth_users of the web config guard every route; the webhook's and the API's own
// auth must hold as well. Both read the Authorization header, so a bearer token there
// could never be sent together with basic auth: refuse that instead of locking out.
Status CheckListenerAuth(const ActuatorConfig& cfg, bool basic_auth_users) {
  if (!basic_auth_users) return {};
  for (const auto& [name, auth] :
       {std::pair{"webhook", &cfg.webhook_auth}, std::pair{"api", &cfg.api_auth}}) {
    if (auth->bearer_token) {
      return Error::Invalid(std::string(name) +
                            ": a bearer token cannot be combined with basic_auth_users of "
                            "--web.config.file (both use the Authorization header); use basic "
                            "auth with a user of basic_auth_users, or drop one");
    }
  }
  return {};
}

Actuator::Actuator(ActuatorOptions options, Clock& clock, HttpClient& http)
    : options_(std::move(options)), clock_(clock), http_(http) {
  RegisterBuiltinSteps(steps_);
}

Actuator::~Actuator() { Stop(); }

ConfigDeps Actuator::Deps() {
  ConfigDeps deps;
  deps.steps = &steps_;
  deps.provider_ctx.http = &http_;
  deps.provider_ctx.clock = &clock_;
  return deps;
}

Status Actuator::Start() {
  auto cfg = LoadActuatorConfigFile(options_.config_file, Deps());
  if (!cfg) {
    metrics_.ConfigReload(false, 0);
    return cfg.error();
  }
  config_ = std::make_shared<const ActuatorConfig>(std::move(*cfg));
  auto journal = config_->journal_etcd ? OpenEtcdJournal(http_, config_->journal_etcd->endpoints,
                                                         config_->journal_etcd->prefix)
                                       : OpenSqliteJournal(config_->journal_path);
  if (!journal) return journal.error();
  journal_ = std::move(*journal);
  EngineOptions engine_options{options_.force_dry_run};
  if (const auto& etcd = config_->journal_etcd) {
    etcd_ = std::make_unique<EtcdClient>(http_, etcd->endpoints);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    locks_ = MakeEtcdLockManager(
        *etcd_, {etcd->prefix, etcd->ttl, std::string(host) + ":" + std::to_string(getpid())});
    engine_options.locks = locks_.get();
  }
  std::vector<std::string> names;
  for (const auto& rb : config_->runbooks) names.push_back(rb.name);
  metrics_.SetRunbooks(names, steps_.Names());
  metrics_.ConfigReload(true, UnixSeconds(clock_.WallNow()));
  if (!config_->webhook_auth.configured()) {
    log::Warn("the webhook accepts unauthenticated requests: set webhook.bearer_token_file");
  }
  if (!config_->api_auth.configured()) {
    log::Warn("the API accepts unauthenticated requests: set api.bearer_token_file");
  }
  if (config_->region_agent) {
    // Before the engine resumes executions: the agent closes the records it left open.
    agent_ = std::make_unique<RegionAgent>(config_->region_agent, http_, *journal_, clock_,
                                           *metrics_.registry());
  }
  engine_ = std::make_unique<Engine>(*journal_, clock_, http_, metrics_, engine_options);
  engine_->SetConfig(config_);
  if (auto s = engine_->Start(); !s) return s.error();
  if (agent_) agent_->Start();
  log::Info("loaded config",
            {{"file", options_.config_file},
             {"runbooks", config_->runbooks.size()},
             {"journal", config_->journal_etcd ? "etcd " + config_->journal_etcd->prefix
                                               : config_->journal_path},
             {"dry_run", options_.force_dry_run}});

  HttpServerOptions http;
  http.listen_address = options_.listen_address;
  http.max_body_bytes = std::max<size_t>(config_->webhook_max_body_bytes, 64 << 10);
  // A request holds a thread only while it is handled, and a webhook not even while it
  // waits for its group commit (an async route): 200 concurrent webhook senders wait
  // together, in one commit, while /metrics and the API are served. Connections are kept
  // open between requests (Alertmanager reuses them); an idle one costs a socket, no thread.
  http.num_threads = 16;
  ApplyWebOptions(options_.web, &http);
  std::vector<HttpServer::Route> routes = {
      {"POST", "/webhook", false, nullptr},
      {"GET", "/api/v1/", true, [this](const HttpServerRequest& r) { return HandleApi(r); }},
      {"POST", "/api/v1/", true, [this](const HttpServerRequest& r) { return HandleApi(r); }},
      {"DELETE", "/api/v1/", true, [this](const HttpServerRequest& r) { return HandleApi(r); }},
      {"GET", "/metrics", false,
       [this, started = UnixSeconds(clock_.WallNow())](const HttpServerRequest& req) {
         HttpServerResponse r;
         r.content_type = kTextContentType;
         r.body = RenderMetrics();
         // OpenMetrics _created: the actuator's counters count from its start.
         return NegotiateMetrics(req, std::move(r), CreatedSince("failover_actuator_", started));
       }},
  };
  for (auto& route : StandardRoutes([this] { return ready_; }, [this] { return Reload(); })) {
    routes.push_back(std::move(route));
  }
  // Credentials are checked on the headers, before any of the body is read: a client
  // without them is answered 401 at once and cannot hold the connection by trickling a
  // body. With API credentials configured, the status page (runbooks, match rules, step
  // messages) and /-/reload (config errors with paths) need them too.
  auto api_auth = [this](const HttpServerRequest& r) -> std::optional<HttpServerResponse> {
    auto cfg = engine_->config();
    Identity who = Identify(*cfg, WebBasicAuth(), r.Header("authorization"));
    if (who.role != Role::kNone) return std::nullopt;
    return Unauthorized(who.api, cfg->api_auth);
  };
  for (auto& route : routes) {
    if (route.path == "/webhook") {
      route.authorize = [this](const HttpServerRequest& r) -> std::optional<HttpServerResponse> {
        auto cfg = engine_->config();
        AuthResult a = CheckAuth(cfg->webhook_auth, r.Header("authorization"));
        if (a == AuthResult::kOk) return std::nullopt;
        log::Warn("webhook request rejected",
                  {{"remote", r.remote_addr}, {"reason", "authentication"}});
        return Unauthorized(a, cfg->webhook_auth);
      };
      // Answers the server writes itself (401 above, 413 for the body size, 403, 415)
      // count like the handler's.
      route.on_reject = [this](int status) { metrics_.WebhookRequest(status); };
      route.json_body = true;
      route.async_handler = [this](const HttpServerRequest& r, HttpResponder respond) {
        HandleWebhook(r, std::move(respond));
      };
    } else if (route.path == "/api/v1/" || route.path == "/-/reload") {
      route.authorize = api_auth;
      route.json_body = route.path == "/api/v1/" && route.method == "POST";
    }
  }
  console_ = std::make_unique<Console>(*engine_, *journal_, http_, options_.force_dry_run,
                                       [this] { return WebBasicAuth(); });
  for (auto& route : console_->Routes()) routes.push_back(std::move(route));
  auto server = HttpServer::Start(http, std::move(routes));
  if (!server) return server.error();
  if (auto s = CheckListenerAuth(*config_, (*server)->basic_auth_enabled()); !s) {
    return s.error();
  }
  server_ = std::move(*server);
  listener_ = server_.get();
  ready_ = true;
  for (const std::string& a : server_->bound_addresses()) log::Info("listening", {{"address", a}});
  return {};
}

void Actuator::Stop() {
  ready_ = false;
  listener_ = nullptr;
  server_.reset();
  if (agent_) agent_->Stop();
  if (engine_) engine_->Stop();
}

Status Actuator::Reload() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  auto cfg = LoadActuatorConfigFile(options_.config_file, Deps());
  if (cfg && cfg->journal_etcd != config_->journal_etcd) {
    cfg = Error::Invalid("journal: changing the journal's etcd settings needs a restart");
  }
  if (cfg && cfg->journal_path != config_->journal_path) {
    cfg = Error::Invalid("journal: changing the journal path (" + config_->journal_path + " -> " +
                         cfg->journal_path + ") needs a restart");
  }
  if (cfg && !options_.web.config_file.empty()) {
    auto web = LoadWebConfigFile(options_.web.config_file);
    Status ok;
    if (!web) ok = web.error();
    if (ok) ok = CheckListenerAuth(*cfg, !web->basic_auth_users.empty());
    if (ok && server_) ok = server_->ReloadWebConfig();
    if (!ok) cfg = ok.error();
  }
  if (!cfg) {
    metrics_.ConfigReload(false, 0);
    log::Error("config reload failed; keeping the running config",
               {{"file", options_.config_file}, {"err", cfg.error().message}});
    return cfg.error();
  }
  config_ = std::make_shared<const ActuatorConfig>(std::move(*cfg));
  engine_->SetConfig(config_);
  std::vector<std::string> names;
  for (const auto& rb : config_->runbooks) names.push_back(rb.name);
  metrics_.SetRunbooks(names, steps_.Names());
  metrics_.ConfigReload(true, UnixSeconds(clock_.WallNow()));
  log::Info("reloaded config", {{"file", options_.config_file}, {"runbooks", names.size()}});
  return {};
}

std::string Actuator::RenderMetrics() const {
  auto families = metrics_.Collect();  // the brake gauge computed at scrape time
  for (auto& f : process_.Collect()) families.push_back(std::move(f));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

void Actuator::HandleWebhook(const HttpServerRequest& req, HttpResponder responder) {
  auto cfg = engine_->config();
  auto respond = [this, responder](HttpServerResponse r) {
    metrics_.WebhookRequest(r.status);
    responder(std::move(r));
  };
  // The credentials were checked by the route's authorize, before the body was read.
  if (req.body.size() > cfg->webhook_max_body_bytes) {
    return respond(JsonError(413, "body of " + std::to_string(req.body.size()) +
                                      " bytes exceeds webhook.max_body_bytes (" +
                                      std::to_string(cfg->webhook_max_body_bytes) + ")"));
  }
  auto parsed = ParseAlertmanagerWebhook(req.body);
  if (!parsed) {
    log::Warn("webhook request rejected",
              {{"remote", req.remote_addr}, {"reason", parsed.error().message}});
    return respond(JsonError(400, parsed.error().message));
  }
  // The request (its body) lives until the answer; the parsed group lives as long.
  auto group = std::make_shared<AlertGroup>(std::move(*parsed));
  engine_->AcceptWebhook(*group, req.body, [group, respond](Result<Engine::WebhookOutcome> out) {
    if (!out) {
      log::Error("cannot journal the webhook; answering 503 so Alertmanager retries",
                 {{"err", out.error().message}});
      return respond(JsonError(503, "journal unavailable, retry later"));
    }
    json body = {{"status", "accepted"},
                 {"executions", out->execution_ids},
                 {"matched", out->matched},
                 {"unmatched", out->unmatched},
                 {"deduplicated", out->deduplicated}};
    respond(HttpServerResponse::Json(202, body.dump() + "\n"));
  });
}

HttpServerResponse Actuator::HandleApi(const HttpServerRequest& req) {
  auto cfg = engine_->config();
  Identity id = Identify(*cfg, WebBasicAuth(), req.Header("authorization"));
  if (id.role == Role::kNone) return Unauthorized(id.api, cfg->api_auth);
  if (req.method != "GET" && id.role != Role::kOperator) {
    return JsonError(403, "user " + id.user + " is a viewer: only operators act");
  }
  // A named user (basic auth) is who acts; the shared API credentials may say who with
  // X-Failover-User.
  std::string who = id.user == "api" || id.user.empty() ? req.Header("x-failover-user") : id.user;
  if (who.empty()) who = (id.user.empty() ? "api" : id.user) + "@" + req.remote_addr;
  std::vector<std::string> parts;
  std::string rest = req.path.substr(std::string("/api/v1/").size());
  for (size_t pos = 0; pos <= rest.size();) {
    size_t slash = rest.find('/', pos);
    if (slash == std::string::npos) slash = rest.size();
    if (slash > pos) parts.push_back(rest.substr(pos, slash - pos));
    pos = slash + 1;
  }
  Journal& j = *journal_;
  if (req.method == "GET" && parts.size() == 1 && parts[0] == "executions") {
    ExecutionQuery q;
    q.runbook = req.QueryParam("runbook");
    if (auto st = req.QueryParam("state"); !st.empty()) {
      auto state = ParseExecState(st);
      // A state no execution can be in matches none.
      if (!state)
        return HttpServerResponse::Json(200, json{{"executions", json::array()}}.dump() + "\n");
      q.states = {*state};
    }
    if (auto l = req.QueryParam("limit"); !l.empty()) {
      try {
        q.limit = std::clamp(std::stoi(l), 1, 1000);
      } catch (const std::exception&) {
        return JsonError(400, "limit: must be a number");
      }
    }
    auto list = j.List(q);
    if (!list) return JsonError(503, list.error().message);
    json arr = json::array();
    for (const auto& e : *list) arr.push_back(ToJson(e));
    return HttpServerResponse::Json(200, json{{"executions", arr}}.dump() + "\n");
  }
  if (req.method == "GET" && parts.size() == 2 && parts[0] == "executions") {
    auto e = j.Get(parts[1]);
    if (!e) return JsonError(503, e.error().message);
    if (!*e) return JsonError(404, "no execution " + parts[1]);
    json out = ToJson(**e);
    json steps = json::array();
    if (auto s = j.Steps(parts[1])) {
      for (const auto& st : *s) steps.push_back(ToJson(st));
    }
    json events = json::array();
    if (auto ev = j.Events(parts[1])) {
      for (const auto& x : *ev) events.push_back(ToJson(x));
    }
    out["steps"] = steps;
    out["events"] = events;
    return HttpServerResponse::Json(200, out.dump() + "\n");
  }
  if (req.method == "POST" && parts.size() == 3 && parts[0] == "executions" &&
      parts[2] == "approve") {
    auto e = engine_->Approve(parts[1], who);
    if (!e) {
      return JsonError(e.error().code == ErrorCode::kNotFound ? 404 : 409, e.error().message);
    }
    return HttpServerResponse::Json(202, ToJson(*e).dump() + "\n");
  }
  auto reason_of = [&](std::string* reason) -> std::optional<HttpServerResponse> {
    if (req.body.empty()) return std::nullopt;
    auto parsed = ParseJsonBounded(req.body);
    if (!parsed) return JsonError(400, parsed.error().message);
    if (!parsed->is_object()) return JsonError(400, "body must be a JSON object");
    auto it = parsed->find("reason");
    if (it != parsed->end() && !it->is_string()) return JsonError(400, "reason: must be a string");
    if (it != parsed->end()) *reason = it->get<std::string>();
    return std::nullopt;
  };
  if (req.method == "POST" && parts.size() == 3 && parts[0] == "executions" &&
      (parts[2] == "reject" || parts[2] == "cancel")) {
    std::string reason;
    if (auto bad = reason_of(&reason)) return *bad;
    auto e = parts[2] == "reject" ? engine_->Reject(parts[1], who, reason)
                                  : engine_->Cancel(parts[1], who, reason);
    if (!e) {
      return JsonError(e.error().code == ErrorCode::kNotFound ? 404 : 409, e.error().message);
    }
    return HttpServerResponse::Json(202, ToJson(*e).dump() + "\n");
  }
  if (parts.size() == 1 && parts[0] == "hold") {
    Result<Engine::HoldState> h = Error::Invalid("");
    if (req.method == "GET") {
      h = engine_->Hold();
    } else {
      std::string reason;
      if (auto bad = reason_of(&reason)) return *bad;
      h = req.method == "POST" ? engine_->SetHold(who, reason) : engine_->Resume(who, reason);
    }
    if (!h) {
      return JsonError(h.error().code == ErrorCode::kInvalidArgument ? 409 : 503,
                       h.error().message);
    }
    return HttpServerResponse::Json(200, HoldJson(*h).dump() + "\n");
  }
  if (req.method == "POST" && parts.size() == 3 && parts[0] == "runbooks" && parts[2] == "run") {
    json body = json::object();
    if (!req.body.empty()) {
      auto parsed = ParseJsonBounded(req.body);
      if (!parsed) return JsonError(400, parsed.error().message);
      body = std::move(*parsed);
      if (!body.is_object()) return JsonError(400, "body must be a JSON object");
    }
    auto labels = LabelsFrom(body, "labels");
    if (!labels) return JsonError(400, labels.error().message);
    auto annotations = LabelsFrom(body, "annotations");
    if (!annotations) return JsonError(400, annotations.error().message);
    std::string dry = req.QueryParam("dry_run");
    bool dry_run = dry == "1" || dry == "true";
    auto e = engine_->RunManually(parts[1], *labels, *annotations, dry_run, who);
    if (!e) {
      return JsonError(e.error().code == ErrorCode::kNotFound ? 404 : 503, e.error().message);
    }
    return HttpServerResponse::Json(202, ToJson(*e).dump() + "\n");
  }
  if (req.method == "GET" && parts.size() == 1 && parts[0] == "status") {
    auto b = engine_->Brake();
    json out = {{"brake",
                 {{"engaged", b.engaged},
                  {"executions_in_window", b.executions_in_window},
                  {"max_executions", b.max_executions},
                  {"window", FormatDuration(b.window)}}}};
    if (auto h = engine_->Hold()) out["hold"] = HoldJson(*h);
    json rbs = json::array();
    for (const auto& rb : cfg->runbooks)
      rbs.push_back({{"name", rb.name}, {"mode", ToString(rb.mode)}});
    out["runbooks"] = rbs;
    return HttpServerResponse::Json(200, out.dump() + "\n");
  }
  return JsonError(404, "no API endpoint " + req.method + " " + req.path);
}

// Until the listener is up (requests may already arrive), fail closed: as if basic auth
// guarded it, so nobody unlisted is taken for an anonymous operator.
bool Actuator::WebBasicAuth() const {
  HttpServer* s = listener_.load();
  return s == nullptr || s->basic_auth_enabled();
}

}  // namespace failover
