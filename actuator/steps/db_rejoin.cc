#include "actuator/steps/db_rejoin.h"

#include "actuator/db/database.h"
#include "actuator/steps/db_divergence.h"

namespace failover {
namespace {

class DbRejoinStep final : public Step {
 public:
  std::string database_id, source_id;
  std::shared_ptr<Database> db, source;
  RejoinOptions options;

  const std::string& kind() const override {
    static const std::string k = "db_rejoin";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars&) const override {
    nlohmann::json j = db->Describe();
    j["database"] = database_id;
    j["source"] = source_id;
    j["errant"] = options.errant;
    j["require_report"] = options.require_report;
    j["replication_user"] = options.user;
    if (!options.source_address.empty()) j["source_address"] = options.source_address;
    j["catch_up_timeout"] = FormatDuration(options.catch_up_timeout);
    return j;
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.cancelled()) return StepOutcome::Retry("db_rejoin: cancelled (shutting down)");
    RejoinOptions o = options;
    if (ctx.vars != nullptr) {
      o.reported = FindDivergenceReport(ctx.vars->execution_id, database_id, source_id);
    }
    StepOutcome out = db->Rejoin(*source, o, DatabaseDeadline(ctx));
    out.message = database_id + " (" + db->kind() + "): " + out.message;
    if (!out.details.is_object()) out.details = nlohmann::json::object();
    out.details["database"] = database_id;
    out.details["source_database"] = source_id;
    return out;
  }
};

}  // namespace

Status ParseRejoinKeys(const YamlNode& body, RejoinOptions& options) {
  auto user = body.Require("replication_user");
  if (!user) return user.error();
  auto u = user->AsString();
  if (!u) return u.error();
  if (u->empty()) return user->Fail("replication_user must not be empty");
  options.user = *u;
  auto pw = SecretRef::FromYaml(body, "replication_password");
  if (!pw) return pw.error();
  options.password = *pw;
  if (auto a = body.Get("source_address")) {
    auto v = a->AsString();
    if (!v) return v.error();
    if (v->rfind(':') == std::string::npos || v->rfind(':') + 1 == v->size()) {
      return a->Fail("source_address must be host:port");
    }
    options.source_address = *v;
  }
  if (auto c = body.Get("catch_up_timeout")) {
    auto d = c->AsDuration();
    if (!d) return d.error();
    if (*d < std::chrono::seconds(1)) return c->Fail("catch_up_timeout must be at least 1s");
    options.catch_up_timeout = *d;
  }
  return {};
}

Result<std::unique_ptr<Step>> NewDbRejoinStep(const YamlNode& body, const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto step = std::make_unique<DbRejoinStep>();
  auto db = LookupDatabase(body, ctx, step->database_id, "database");
  if (!db) return db.error();
  auto src = LookupDatabase(body, ctx, step->source_id, "source");
  if (!src) return src.error();
  if (step->database_id == step->source_id) {
    return body.Get("source")->Fail("source must differ from database");
  }
  if ((*db)->kind() != (*src)->kind()) {
    return body.Get("source")->Fail("database and source must be of the same kind");
  }
  step->db = *db;
  step->source = *src;
  if (auto s = ParseRejoinKeys(body, step->options); !s) return s.error();
  if (auto e = body.Get("errant")) {
    auto v = e->AsString();
    if (!v) return v.error();
    if (*v != "refuse" && *v != "discard") return e->Fail("errant must be refuse or discard");
    step->options.errant = *v;
  }
  if (auto r = body.Get("require_report")) {
    auto v = r->AsBool();
    if (!v) return v.error();
    step->options.require_report = *v;
  }
  auto common = ParseStepCommonWithCatchUp(body, step->options.catch_up_timeout);
  if (!common) return common.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
