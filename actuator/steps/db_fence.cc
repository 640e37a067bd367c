#include "actuator/steps/db_fence.h"

#include "actuator/db/database.h"

namespace failover {
namespace {

class DbFenceStep final : public Step {
 public:
  std::string database_id;
  std::shared_ptr<Database> db;
  bool continue_if_unreachable = true;

  const std::string& kind() const override {
    static const std::string k = "db_fence";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars&) const override {
    nlohmann::json j = db->Describe();
    j["database"] = database_id;
    j["on_unreachable"] = continue_if_unreachable ? "continue" : "fail";
    return j;
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.cancelled()) return StepOutcome::Retry("db_fence: cancelled (shutting down)");
    FenceResult r = db->Fence(DatabaseDeadline(ctx));
    StepOutcome out = std::move(r.outcome);
    if (!out.details.is_object()) out.details = nlohmann::json::object();
    out.details["database"] = database_id;
    if (r.unreachable) {
      out.details["unreachable"] = true;
      out.details["error"] = out.message;
      if (continue_if_unreachable) {
        out.status = StepStatus::kOk;
        out.message = database_id + " (" + db->kind() + ") unreachable, not fenced (" +
                      "on_unreachable: continue): " + out.message;
        return out;
      }
      out.status = StepStatus::kRetryable;
      out.message =
          database_id + " (" + db->kind() + ") unreachable (on_unreachable: fail): " + out.message;
      return out;
    }
    out.message = database_id + " (" + db->kind() + "): " + out.message;
    return out;
  }
};

}  // namespace

Result<std::unique_ptr<Step>> NewDbFenceStep(const YamlNode& body, const StepFactoryContext& ctx) {
  if (auto s = body.ExpectKeys(WithCommonKeys({"database", "on_unreachable"})); !s) {
    return s.error();
  }
  auto step = std::make_unique<DbFenceStep>();
  auto db = LookupDatabase(body, ctx, step->database_id);
  if (!db) return db.error();
  step->db = *db;
  if (auto u = body.Get("on_unreachable")) {
    auto v = u->AsString();
    if (!v) return v.error();
    if (*v != "continue" && *v != "fail") return u->Fail("on_unreachable must be continue or fail");
    step->continue_if_unreachable = *v == "continue";
  }
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
