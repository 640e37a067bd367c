#include "actuator/steps/db_rejoin.h"

#include "actuator/db/database.h"
#include "actuator/steps/db_divergence.h"

namespace failover {
namespace {

// What a db_rejoin: block asks for (besides timeout, retries, backoff).
struct DbRejoinSpec {
  std::string database_id, source_id;  // database, source: ids under databases:
  std::shared_ptr<Database> db, source;
  ReplicationSpec replication;
  std::string errant = "refuse";  // refuse | discard
  bool require_report = true;     // refuse without this execution's divergence report
};

Result<DbRejoinSpec> ParseDbRejoinSpec(const YamlNode& body, const StepFactoryContext& ctx) {
  DbRejoinSpec spec;
  auto db = LookupDatabase(body, ctx, spec.database_id, "database");
  if (!db) return db.error();
  auto src = LookupDatabase(body, ctx, spec.source_id, "source");
  if (!src) return src.error();
  if (spec.database_id == spec.source_id) {
    return body.Get("source")->Fail("source must differ from database");
  }
  if ((*db)->kind() != (*src)->kind()) {
    return body.Get("source")->Fail("database and source must be of the same kind");
  }
  spec.db = *db;
  spec.source = *src;
  auto replication = ParseReplicationSpec(body);
  if (!replication) return replication.error();
  spec.replication = std::move(*replication);
  if (auto e = body.Get("errant")) {
    auto v = e->AsString();
    if (!v) return v.error();
    if (*v != "refuse" && *v != "discard") return e->Fail("errant must be refuse or discard");
    spec.errant = *v;
  }
  if (auto r = body.Get("require_report")) {
    auto v = r->AsBool();
    if (!v) return v.error();
    spec.require_report = *v;
  }
  return spec;
}

class DbRejoinStep final : public Step {
 public:
  explicit DbRejoinStep(DbRejoinSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "db_rejoin";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars&) const override {
    nlohmann::json j = spec_.db->Describe();
    j["database"] = spec_.database_id;
    j["source"] = spec_.source_id;
    j["errant"] = spec_.errant;
    j["require_report"] = spec_.require_report;
    j["replication_user"] = spec_.replication.user;
    if (!spec_.replication.source_address.empty()) {
      j["source_address"] = spec_.replication.source_address;
    }
    j["catch_up_timeout"] = FormatDuration(spec_.replication.catch_up_timeout);
    return j;
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.cancelled()) return StepOutcome::Retry("db_rejoin: cancelled (shutting down)");
    RejoinOptions o = RejoinOptionsFor(spec_.replication);
    o.errant = spec_.errant;
    o.require_report = spec_.require_report;
    if (ctx.vars != nullptr) {
      o.reported = FindDivergenceReport(ctx.vars->execution_id, spec_.database_id, spec_.source_id);
    }
    StepOutcome out = spec_.db->Rejoin(*spec_.source, o, DatabaseDeadline(ctx));
    out.message = spec_.database_id + " (" + spec_.db->kind() + "): " + out.message;
    if (!out.details.is_object()) out.details = nlohmann::json::object();
    out.details["database"] = spec_.database_id;
    out.details["source_database"] = spec_.source_id;
    return out;
  }

 private:
  DbRejoinSpec spec_;
};

}  // namespace

Result<ReplicationSpec> ParseReplicationSpec(const YamlNode& body) {
  ReplicationSpec spec;
  auto user = body.Require("replication_user");
  if (!user) return user.error();
  auto u = user->AsString();
  if (!u) return u.error();
  if (u->empty()) return user->Fail("replication_user must not be empty");
  spec.user = *u;
  auto pw = SecretRef::FromYaml(body, "replication_password");
  if (!pw) return pw.error();
  spec.password = *pw;
  if (auto a = body.Get("source_address")) {
    auto v = a->AsString();
    if (!v) return v.error();
    if (v->rfind(':') == std::string::npos || v->rfind(':') + 1 == v->size()) {
      return a->Fail("source_address must be host:port");
    }
    spec.source_address = *v;
  }
  if (auto c = body.Get("catch_up_timeout")) {
    auto d = c->AsDuration();
    if (!d) return d.error();
    if (*d < std::chrono::seconds(1)) return c->Fail("catch_up_timeout must be at least 1s");
    spec.catch_up_timeout = *d;
  }
  return spec;
}

RejoinOptions RejoinOptionsFor(const ReplicationSpec& spec) {
  RejoinOptions o;
  o.user = spec.user;
  o.password = spec.password;
  o.source_address = spec.source_address;
  o.catch_up_timeout = spec.catch_up_timeout;
  return o;
}

Result<std::unique_ptr<Step>> NewDbRejoinStep(const YamlNode& body, const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseDbRejoinSpec(body, ctx);
  if (!spec) return spec.error();
  auto common = ParseStepCommonWithCatchUp(body, spec->replication.catch_up_timeout);
  if (!common) return common.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  auto step = std::make_unique<DbRejoinStep>(std::move(*spec));
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
