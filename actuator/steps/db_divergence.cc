#include "actuator/steps/db_divergence.h"

#include <map>
#include <mutex>
#include <tuple>

#include "actuator/db/database.h"

namespace failover {
namespace {

std::mutex reports_mu;
std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::string>>& Reports() {
  static auto* m =
      new std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::string>>;
  return *m;
}

// What a db_divergence: block asks for (besides timeout, retries, backoff).
struct DbDivergenceSpec {
  std::string old_id, new_id;  // old_primary, new_primary: ids under databases:
  std::shared_ptr<Database> old_db, new_db;
};

Result<DbDivergenceSpec> ParseDbDivergenceSpec(const YamlNode& body,
                                               const StepFactoryContext& ctx) {
  DbDivergenceSpec spec;
  auto dbs = LookupDatabasePair(body, ctx, "old_primary", spec.old_id, "new_primary", spec.new_id);
  if (!dbs) return dbs.error();
  spec.old_db = dbs->first;
  spec.new_db = dbs->second;
  return spec;
}

class DbDivergenceStep final : public Step {
 public:
  explicit DbDivergenceStep(DbDivergenceSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "db_divergence";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars&) const override {
    return nlohmann::json{{"old_primary", spec_.old_id},
                          {"new_primary", spec_.new_id},
                          {"old", spec_.old_db->Describe()},
                          {"new", spec_.new_db->Describe()}};
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.cancelled()) return StepOutcome::Retry("db_divergence: cancelled (shutting down)");
    StepOutcome out = spec_.old_db->Divergence(*spec_.new_db, DatabaseDeadline(ctx));
    out.message =
        spec_.old_id + " vs " + spec_.new_id + " (" + spec_.old_db->kind() + "): " + out.message;
    if (!out.details.is_object()) out.details = nlohmann::json::object();
    out.details["old_primary"] = spec_.old_id;
    out.details["new_primary"] = spec_.new_id;
    if (out.status == StepStatus::kOk && ctx.vars != nullptr) {
      std::vector<std::string> gtids;
      for (const auto& g : out.details.value("errant_gtids", nlohmann::json::array())) {
        gtids.push_back(g.get<std::string>());
      }
      RecordDivergenceReport(ctx.vars->execution_id, spec_.old_id, spec_.new_id, std::move(gtids));
    }
    return out;
  }

 private:
  DbDivergenceSpec spec_;
};

}  // namespace

void RecordDivergenceReport(const std::string& execution_id, const std::string& old_id,
                            const std::string& new_id, std::vector<std::string> errant_gtids) {
  std::lock_guard<std::mutex> lock(reports_mu);
  Reports()[{execution_id, old_id, new_id}] = std::move(errant_gtids);
}

std::optional<std::vector<std::string>> FindDivergenceReport(const std::string& execution_id,
                                                             const std::string& old_id,
                                                             const std::string& new_id) {
  std::lock_guard<std::mutex> lock(reports_mu);
  auto it = Reports().find({execution_id, old_id, new_id});
  if (it == Reports().end()) return std::nullopt;
  return it->second;
}

Result<std::unique_ptr<Step>> NewDbDivergenceStep(const YamlNode& body,
                                                  const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseDbDivergenceSpec(body, ctx);
  if (!spec) return spec.error();
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  return FinishStep<DbDivergenceStep>(body, std::move(*spec), *common);
}

}  // namespace failover
