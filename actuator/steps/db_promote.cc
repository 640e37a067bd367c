#include "actuator/steps/db_promote.h"

#include "actuator/db/database.h"
#include "actuator/metrics.h"

namespace failover {
namespace {

class DbPromoteStep final : public Step {
 public:
  std::string database_id;
  std::shared_ptr<Database> db;
  PromoteOptions options;

  const std::string& kind() const override {
    static const std::string k = "db_promote";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars&) const override {
    nlohmann::json j = db->Describe();
    j["database"] = database_id;
    j["max_lag"] = FormatDuration(options.max_lag);
    j["catch_up_timeout"] = FormatDuration(options.catch_up_timeout);
    if (options.require_semisync) j["require_semisync"] = true;
    return j;
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.cancelled()) return StepOutcome::Retry("db_promote: cancelled (shutting down)");
    PromoteResult r = db->Promote(options, DatabaseDeadline(ctx));
    StepOutcome out = std::move(r.outcome);
    out.message = database_id + " (" + db->kind() + "): " + out.message;
    if (!out.details.is_object()) out.details = nlohmann::json::object();
    out.details["database"] = database_id;
    if (out.status == StepStatus::kOk && out.details.value("changed", false)) {
      out.details["promotion_lag_seconds"] =
          r.lag_seconds ? nlohmann::json(*r.lag_seconds) : nlohmann::json();
      if (r.lag_seconds && ctx.metrics != nullptr) {
        ctx.metrics->PromotionLag(database_id, *r.lag_seconds);
      }
    }
    return out;
  }
};

}  // namespace

Result<std::unique_ptr<Step>> NewDbPromoteStep(const YamlNode& body,
                                               const StepFactoryContext& ctx) {
  if (auto s = body.ExpectKeys(
          WithCommonKeys({"database", "max_lag", "catch_up_timeout", "require_semisync"}));
      !s) {
    return s.error();
  }
  auto step = std::make_unique<DbPromoteStep>();
  auto db = LookupDatabase(body, ctx, step->database_id);
  if (!db) return db.error();
  step->db = *db;
  auto ml = body.Require("max_lag");
  if (!ml) return ml.error();
  auto mld = ml->AsDuration();
  if (!mld) return mld.error();
  if (*mld < Duration::zero()) return ml->Fail("max_lag must not be negative");
  step->options.max_lag = *mld;
  step->options.catch_up_timeout = std::chrono::seconds(30);
  if (auto c = body.Get("catch_up_timeout")) {
    auto d = c->AsDuration();
    if (!d) return d.error();
    if (*d < std::chrono::seconds(1)) return c->Fail("catch_up_timeout must be at least 1s");
    step->options.catch_up_timeout = *d;
  }
  if (auto rs = body.Get("require_semisync")) {
    auto b = rs->AsBool();
    if (!b) return b.error();
    if (*b && step->db->kind() != "mysql") {
      return rs->Fail("require_semisync is for mysql databases; " + step->database_id + " is " +
                      step->db->kind() +
                      " (PostgreSQL: list the standby in synchronous_standby_names instead)");
    }
    step->options.require_semisync = *b;
  }
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  if (step->options.catch_up_timeout >= common->timeout) {
    auto where = body.Get("catch_up_timeout") ? *body.Get("catch_up_timeout") : body;
    return where.Fail("catch_up_timeout (" + FormatDuration(step->options.catch_up_timeout) +
                      ") must be shorter than the step's timeout (" +
                      FormatDuration(common->timeout) + ")");
  }
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
