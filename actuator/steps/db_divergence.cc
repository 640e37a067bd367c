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

class DbDivergenceStep final : public Step {
 public:
  std::string old_id, new_id;
  std::shared_ptr<Database> old_db, new_db;

  const std::string& kind() const override {
    static const std::string k = "db_divergence";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars&) const override {
    return nlohmann::json{{"old_primary", old_id},
                          {"new_primary", new_id},
                          {"old", old_db->Describe()},
                          {"new", new_db->Describe()}};
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.cancelled()) return StepOutcome::Retry("db_divergence: cancelled (shutting down)");
    StepOutcome out = old_db->Divergence(*new_db, DatabaseDeadline(ctx));
    out.message = old_id + " vs " + new_id + " (" + old_db->kind() + "): " + out.message;
    if (!out.details.is_object()) out.details = nlohmann::json::object();
    out.details["old_primary"] = old_id;
    out.details["new_primary"] = new_id;
    if (out.status == StepStatus::kOk && ctx.vars != nullptr) {
      std::vector<std::string> gtids;
      for (const auto& g : out.details.value("errant_gtids", nlohmann::json::array())) {
        gtids.push_back(g.get<std::string>());
      }
      RecordDivergenceReport(ctx.vars->execution_id, old_id, new_id, std::move(gtids));
    }
    return out;
  }
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
  auto step = std::make_unique<DbDivergenceStep>();
  auto o = LookupDatabase(body, ctx, step->old_id, "old_primary");
  if (!o) return o.error();
  auto n = LookupDatabase(body, ctx, step->new_id, "new_primary");
  if (!n) return n.error();
  if (step->old_id == step->new_id) {
    return body.Get("new_primary")->Fail("new_primary must differ from old_primary");
  }
  if ((*o)->kind() != (*n)->kind()) {
    return body.Get("new_primary")->Fail("old_primary and new_primary must be of the same kind");
  }
  step->old_db = *o;
  step->new_db = *n;
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
