#include "actuator/steps/db_rejoin.h"

#include "actuator/db/database.h"
#include "actuator/steps/db_divergence.h"
#include "common/config_fields.h"

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
  auto dbs = LookupDatabasePair(body, ctx, "database", spec.database_id, "source", spec.source_id);
  if (!dbs) return dbs.error();
  spec.db = dbs->first;
  spec.source = dbs->second;
  auto replication = ParseReplicationSpec(body);
  if (!replication) return replication.error();
  spec.replication = std::move(*replication);
  auto errant = GetField<std::string>(body, "errant");
  if (!errant) return errant.error();
  if (*errant) {
    const auto& [node, v] = **errant;
    if (v != "refuse" && v != "discard") return node.Fail("errant must be refuse or discard");
    spec.errant = v;
  }
  if (auto s = ReadOptional(body, "require_report", spec.require_report); !s) return s.error();
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
  auto user = RequireField<std::string>(body, "replication_user");
  if (!user) return user.error();
  if (user->value.empty()) return user->node.Fail("replication_user must not be empty");
  spec.user = user->value;
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
  if (auto s = ReadDurationAtLeast(body, "catch_up_timeout", std::chrono::seconds(1),
                                   spec.catch_up_timeout);
      !s) {
    return s.error();
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
  return FinishStep<DbRejoinStep>(body, std::move(*spec), *common);
}

}  // namespace failover
