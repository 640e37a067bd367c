#include "actuator/steps/db_promote.h"

#include "actuator/coordination/writer_lease.h"
#include "actuator/db/database.h"
#include "actuator/metrics.h"
#include "common/config_fields.h"

namespace failover {
namespace {

// What a db_promote: block asks for (besides timeout, retries, backoff).
struct DbPromoteSpec {
  std::string database_id;
  std::shared_ptr<Database> db;
  Duration max_lag{};  // refuse when the replica is further behind
  Duration catch_up_timeout = std::chrono::seconds(30);
  bool require_semisync = false;  // mysql only
  // The top-level writer_lease: (when configured): region must hold it before the promotion.
  std::optional<WriterLeaseConfig> lease;
  std::string region;  // where the database is (only with the lease)
};

Result<DbPromoteSpec> ParseDbPromoteSpec(const YamlNode& body, const StepFactoryContext& ctx) {
  DbPromoteSpec spec;
  if (auto r = body.Get("region")) {
    if (ctx.writer_lease == nullptr) {
      return r->Fail("region: is checked against the writer lease: configure writer_lease: first");
    }
    if (auto s = ReadRequired(body, "region", spec.region); !s) return s.error();
  } else if (ctx.writer_lease != nullptr) {
    return body.Fail(
        "db_promote needs region: (the region the database is in) when "
        "writer_lease: is configured: it refuses unless that region holds the lease");
  }
  if (ctx.writer_lease != nullptr) spec.lease = *ctx.writer_lease;
  auto db = LookupDatabase(body, ctx, spec.database_id);
  if (!db) return db.error();
  spec.db = *db;
  auto ml = RequireField<Duration>(body, "max_lag");
  if (!ml) return ml.error();
  if (ml->value < Duration::zero()) return ml->node.Fail("max_lag must not be negative");
  spec.max_lag = ml->value;
  if (auto s = ReadDurationAtLeast(body, "catch_up_timeout", std::chrono::seconds(1),
                                   spec.catch_up_timeout);
      !s) {
    return s.error();
  }
  auto rs = GetField<bool>(body, "require_semisync");
  if (!rs) return rs.error();
  if (*rs && (*rs)->value && spec.db->kind() != "mysql") {
    return (*rs)->node.Fail("require_semisync is for mysql databases; " + spec.database_id +
                            " is " + spec.db->kind() +
                            " (PostgreSQL: list the standby in synchronous_standby_names instead)");
  }
  if (*rs) spec.require_semisync = (*rs)->value;
  return spec;
}

class DbPromoteStep final : public Step {
 public:
  explicit DbPromoteStep(DbPromoteSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "db_promote";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars&) const override {
    nlohmann::json j = spec_.db->Describe();
    j["database"] = spec_.database_id;
    j["max_lag"] = FormatDuration(spec_.max_lag);
    j["catch_up_timeout"] = FormatDuration(spec_.catch_up_timeout);
    if (spec_.lease) j["region"] = spec_.region;
    if (spec_.require_semisync) j["require_semisync"] = true;
    return j;
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.cancelled()) return StepOutcome::Retry("db_promote: cancelled (shutting down)");
    if (spec_.lease) {
      if (auto refused = CheckLease(ctx)) return std::move(*refused);
    }
    PromoteOptions options;
    options.max_lag = spec_.max_lag;
    options.catch_up_timeout = spec_.catch_up_timeout;
    options.require_semisync = spec_.require_semisync;
    PromoteResult r = spec_.db->Promote(options, DatabaseDeadline(ctx));
    StepOutcome out = std::move(r.outcome);
    out.message = spec_.database_id + " (" + spec_.db->kind() + "): " + out.message;
    if (!out.details.is_object()) out.details = nlohmann::json::object();
    out.details["database"] = spec_.database_id;
    if (out.status == StepStatus::kOk && out.details.value("changed", false)) {
      out.details["promotion_lag_seconds"] =
          r.lag_seconds ? nlohmann::json(*r.lag_seconds) : nlohmann::json();
      if (r.lag_seconds && ctx.metrics != nullptr) {
        ctx.metrics->PromotionLag(spec_.database_id, *r.lag_seconds);
      }
    }
    return out;
  }

  // The writer lease guard: the database's region must hold the lease. Anything else
  // (another holder, nobody) refuses the promotion; etcd unreachable is retryable.
  std::optional<StepOutcome> CheckLease(StepContext& ctx) const {
    const std::string& database_id = spec_.database_id;
    const std::string& region = spec_.region;
    EtcdClient etcd(*ctx.http, spec_.lease->endpoints, std::chrono::seconds(2));
    auto st = WriterLease(etcd, spec_.lease->prefix, std::chrono::seconds(2)).Read();
    if (!st) {
      return StepOutcome::Retry("db_promote: cannot check the writer lease, not promoting " +
                                database_id + ": " + st.error().message);
    }
    if (st->held && st->holder == region) return std::nullopt;
    StepOutcome out =
        StepOutcome::Fail("guard: refusing to make " + database_id + " writable in " + region +
                          ": the writer lease is " + st->Describe() + "; " + region +
                          " must hold it first (writer_lease: {acquire: " + region + "})");
    out.details = {{"database", database_id},
                   {"region", region},
                   {"guard", "writer_lease"},
                   {"holder", st->held ? nlohmann::json(st->holder) : nlohmann::json()},
                   {"ttl_left_seconds", st->ttl_left}};
    return out;
  }

 private:
  DbPromoteSpec spec_;
};

}  // namespace

Result<std::unique_ptr<Step>> NewDbPromoteStep(const YamlNode& body,
                                               const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseDbPromoteSpec(body, ctx);
  if (!spec) return spec.error();
  auto common = ParseStepCommonWithCatchUp(body, spec->catch_up_timeout);
  if (!common) return common.error();
  return FinishStep<DbPromoteStep>(body, std::move(*spec), *common);
}

}  // namespace failover
