#include "actuator/steps/db_fence.h"

#include "actuator/db/database.h"

namespace failover {
namespace {

// What a db_fence: block asks for (besides timeout, retries, backoff).
struct DbFenceSpec {
  std::string database_id;
  std::shared_ptr<Database> db;
  bool continue_if_unreachable = true;
};

Result<DbFenceSpec> ParseDbFenceSpec(const YamlNode& body, const StepFactoryContext& ctx) {
  DbFenceSpec spec;
  auto db = LookupDatabase(body, ctx, spec.database_id);
  if (!db) return db.error();
  spec.db = *db;
  if (auto u = body.Get("on_unreachable")) {
    auto v = u->AsString();
    if (!v) return v.error();
    if (*v != "continue" && *v != "fail") return u->Fail("on_unreachable must be continue or fail");
    spec.continue_if_unreachable = *v == "continue";
  }
  return spec;
}

class DbFenceStep final : public Step {
 public:
  explicit DbFenceStep(DbFenceSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "db_fence";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars&) const override {
    nlohmann::json j = spec_.db->Describe();
    j["database"] = spec_.database_id;
    j["on_unreachable"] = spec_.continue_if_unreachable ? "continue" : "fail";
    return j;
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.cancelled()) return StepOutcome::Retry("db_fence: cancelled (shutting down)");
    FenceResult r = spec_.db->Fence(DatabaseDeadline(ctx));
    StepOutcome out = std::move(r.outcome);
    if (!out.details.is_object()) out.details = nlohmann::json::object();
    out.details["database"] = spec_.database_id;
    if (r.unreachable) {
      out.details["unreachable"] = true;
      out.details["error"] = out.message;
      if (spec_.continue_if_unreachable) {
        out.status = StepStatus::kOk;
        out.message = spec_.database_id + " (" + spec_.db->kind() + ") unreachable, not fenced (" +
                      "on_unreachable: continue): " + out.message;
        return out;
      }
      out.status = StepStatus::kRetryable;
      out.message = spec_.database_id + " (" + spec_.db->kind() +
                    ") unreachable (on_unreachable: fail): " + out.message;
      return out;
    }
    out.message = spec_.database_id + " (" + spec_.db->kind() + "): " + out.message;
    return out;
  }

 private:
  DbFenceSpec spec_;
};

}  // namespace

Result<std::unique_ptr<Step>> NewDbFenceStep(const YamlNode& body, const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseDbFenceSpec(body, ctx);
  if (!spec) return spec.error();
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  return FinishStep<DbFenceStep>(body, std::move(*spec), *common);
}

}  // namespace failover
