#include "actuator/steps/db_switchover.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "actuator/coordination/writer_lease.h"
#include "actuator/db/database.h"
#include "actuator/steps/db_divergence.h"
#include "actuator/steps/db_rejoin.h"

namespace failover {
namespace {

using nlohmann::json;

constexpr auto kLeasePoll = std::chrono::milliseconds(250);
constexpr int kFenceAttempts = 3;

// What a db_switchover: block asks for (besides timeout, retries, backoff).
struct DbSwitchoverSpec {
  std::string primary_id, target_id;  // primary, target: ids under databases:
  std::shared_ptr<Database> primary, target;
  // replicas: the other servers re-pointed at the target (id, database).
  std::vector<std::pair<std::string, std::shared_ptr<Database>>> replicas;
  ReplicationSpec replication;
  // The top-level writer_lease: (when configured): the lease moves from primary_region to
  // region (the target's).
  std::optional<WriterLeaseConfig> lease;
  std::string primary_region, region;
  Duration lease_timeout = std::chrono::seconds(30);
};

Result<DbSwitchoverSpec> ParseDbSwitchoverSpec(const YamlNode& body,
                                               const StepFactoryContext& ctx) {
  DbSwitchoverSpec spec;
  auto dbs = LookupDatabasePair(body, ctx, "primary", spec.primary_id, "target", spec.target_id);
  if (!dbs) return dbs.error();
  spec.primary = dbs->first;
  spec.target = dbs->second;
  if (auto r = body.Get("replicas")) {
    auto ids = r->AsStringList();
    if (!ids) return ids.error();
    for (const auto& id : *ids) {
      auto it = ctx.databases ? ctx.databases->find(id) : DatabaseMap::const_iterator{};
      if (ctx.databases == nullptr || it == ctx.databases->end()) {
        return r->Fail("unknown database \"" + id + "\" in replicas");
      }
      if (id == spec.primary_id || id == spec.target_id) {
        return r->Fail("replicas must not list the primary or the target (" + id + ")");
      }
      spec.replicas.emplace_back(id, it->second);
    }
  }
  auto replication = ParseReplicationSpec(body);
  if (!replication) return replication.error();
  spec.replication = std::move(*replication);
  // The writer lease: like db_promote, `region:` (the target's) is required with it and
  // refused without it; so is primary_region (whose agent hands the lease over).
  for (const char* key : {"region", "primary_region", "lease_timeout"}) {
    if (auto k = body.Get(key); k && ctx.writer_lease == nullptr) {
      return k->Fail(std::string(key) + ": is for the writer lease: configure writer_lease: first");
    }
  }
  if (ctx.writer_lease != nullptr) {
    spec.lease = *ctx.writer_lease;
    const std::pair<const char*, std::string*> keys[] = {{"region", &spec.region},
                                                         {"primary_region", &spec.primary_region}};
    for (const auto& [key, out] : keys) {
      auto k = body.Get(key);
      if (!k) {
        return body.Fail(std::string("db_switchover needs ") + key +
                         ": when writer_lease: is configured (region: the target's region, "
                         "primary_region: the primary's): it moves the writer lease between them");
      }
      auto v = k->AsString();
      if (!v) return v.error();
      if (v->empty()) return k->Fail(std::string(key) + " must not be empty");
      *out = *v;
    }
    if (spec.region == spec.primary_region) {
      return body.Get("region")->Fail("region must differ from primary_region");
    }
    if (auto s =
            ReadDurationAtLeast(body, "lease_timeout", std::chrono::seconds(1), spec.lease_timeout);
        !s) {
      return s.error();
    }
  }
  return spec;
}

class DbSwitchoverStep final : public Step {
 public:
  explicit DbSwitchoverStep(DbSwitchoverSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "db_switchover";
    return k;
  }

  Result<json> Render(const TemplateVars&) const override {
    json r = json::array();
    for (const auto& [id, db] : spec_.replicas) r.push_back(id);
    json j = {{"primary", spec_.primary_id},
              {"target", spec_.target_id},
              {"replicas", r},
              {"replication_user", spec_.replication.user},
              {"catch_up_timeout", FormatDuration(spec_.replication.catch_up_timeout)}};
    if (spec_.lease) {
      j["primary_region"] = spec_.primary_region;
      j["region"] = spec_.region;
      j["lease_timeout"] = FormatDuration(spec_.lease_timeout);
      j["writer_lease_key"] = spec_.lease->prefix + "writer";
    }
    return j;
  }

  // Sleeps one lease poll, bounded by `until`; false when cancelled.
  static bool Pause(StepContext& ctx, MonoTime until) {
    auto next = std::min<MonoTime>(ctx.clock->Now() + kLeasePoll, until);
    while (ctx.clock->Now() < next) {
      if (ctx.cancelled()) return false;
      ctx.clock->SleepUntil(next);
    }
    return !ctx.cancelled();
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.cancelled()) return StepOutcome::Retry("db_switchover: cancelled (shutting down)");
    MonoTime deadline = DatabaseDeadline(ctx);
    json details = {{"primary", spec_.primary_id}, {"target", spec_.target_id}};
    std::string prefix =
        spec_.primary_id + " -> " + spec_.target_id + " (" + spec_.primary->kind() + "): ";
    auto fail = [&](StepOutcome o, const std::string& what) {
      o.message = prefix + what + o.message;
      o.details = details;
      return o;
    };
    // The writer lease (writer_lease: configured): the etcd client, the handover request
    // this step wrote (its etcd lease; 0: none) and how an abort leaves the primary.
    std::optional<EtcdClient> etcd;
    std::optional<WriterLease> wl;
    std::int64_t request = 0;
    auto withdraw = [&] {
      if (request != 0) (void)etcd->LeaseRevoke(request);  // the request key goes with it
      request = 0;
    };
    // Un-fences the primary after an abort, with the lease: only while its region holds
    // the lease (a lease nobody holds is taken back for it first). The text says what
    // became of the primary.
    auto unfence = [&]() -> std::string {
      withdraw();
      if (spec_.lease) {
        auto st = wl->Read();
        if (st && !st->held) {
          auto ttl = std::chrono::duration_cast<std::chrono::seconds>(spec_.lease->ttl).count();
          st = wl->TryAcquire(spec_.primary_region, ttl);
        }
        if (!st) {
          details["writer_lease"] = "unreadable: " + st.error().message;
          return spec_.primary_id + " not un-fenced: the writer lease cannot be read (" +
                 st.error().message + "); " + spec_.primary_region +
                 "'s agent keeps it as the lease says";
        }
        if (!st->held || st->holder != spec_.primary_region) {
          details["writer_lease"] = st->Describe();
          return spec_.primary_id + " stays read-only: " + spec_.primary_region +
                 " does not hold the writer lease (" + st->Describe() + ")";
        }
        details["writer_lease"] = st->Describe();
      }
      StepOutcome u = spec_.primary->Unfence(deadline);
      details["unfence"] = u.message;
      std::string where =
          spec_.lease ? " (" + spec_.primary_region + " holds the writer lease)" : "";
      return u.status == StepStatus::kOk ? spec_.primary_id + " un-fenced" + where +
                                               ", it is the primary and writable again"
                                         : spec_.primary_id + " could NOT be un-fenced (" +
                                               u.message + "): it is still read-only";
    };
    if (spec_.lease) {
      etcd.emplace(*ctx.http, spec_.lease->endpoints, std::chrono::seconds(2));
      wl.emplace(*etcd, spec_.lease->prefix, std::chrono::seconds(2));
      StepOutcome moved = ReleaseLease(ctx, *etcd, *wl, request);
      details["lease_release"] = moved.message;
      if (moved.status != StepStatus::kOk) {
        if (moved.status == StepStatus::kRetryable) {
          withdraw();
          return fail(moved, "");
        }
        if (moved.details.is_object() && moved.details.value("refused", false)) {
          return fail(moved, "");
        }
        return fail(StepOutcome::Fail("switchover aborted: " + moved.message + "; " + unfence()),
                    "");
      }
    }
    // 1. Fence (with the lease: after its agent fenced the region and released the lease,
    // so nothing can make the primary writable again behind this step).
    StepOutcome fence = FenceWithRetries(ctx, deadline);
    details["fence"] = {{"message", fence.message}, {"details", fence.details}};
    if (fence.status != StepStatus::kOk) {
      if (spec_.lease) {
        return fail(StepOutcome::Fail("switchover aborted: fencing the primary failed: " +
                                      fence.message + "; " + unfence()),
                    "");
      }
      return fail(fence, "fencing the primary: ");
    }
    std::string position = fence.details.value("position", "");
    // 2. Wait until the target has everything the fenced primary wrote.
    StepOutcome wait =
        spec_.target->WaitApplied(position, spec_.replication.catch_up_timeout, deadline);
    details["catch_up"] = wait.message;
    if (wait.status != StepStatus::kOk) {
      return fail(StepOutcome::Fail("switchover aborted: " + wait.message + "; " + unfence()), "");
    }
    // 3. The writer lease goes to the target's region (free since step 1).
    if (spec_.lease) {
      StepOutcome acquired = AcquireLease(ctx, *wl);
      details["lease_acquire"] = acquired.message;
      if (acquired.status != StepStatus::kOk) {
        return fail(StepOutcome::Fail("switchover aborted: " + acquired.message + "; " + unfence()),
                    "");
      }
      withdraw();
    }
    // 4. Promote the target. It has applied everything the fenced primary wrote (checked
    // above by GTID), so the lag guard of db_promote has nothing left to guard.
    PromoteOptions po;
    po.max_lag = std::chrono::hours(24);
    po.catch_up_timeout = spec_.replication.catch_up_timeout;
    PromoteResult promoted = spec_.target->Promote(po, deadline);
    details["promote"] = {{"message", promoted.outcome.message},
                          {"details", promoted.outcome.details}};
    if (promoted.outcome.status != StepStatus::kOk) {
      // The target was not changed (a refused promotion leaves replication as it was).
      if (spec_.lease) {
        StepOutcome o = StepOutcome::Fail(
            "promoting the target failed: " + promoted.outcome.message + "; " + spec_.region +
            " holds the writer lease and " + spec_.primary_id +
            " stays read-only: run the step again (or db_promote " + spec_.target_id + ")");
        return fail(o, "");
      }
      StepOutcome unfenced = spec_.primary->Unfence(deadline);
      details["unfence"] = unfenced.message;
      StepOutcome o = StepOutcome::Fail(
          "switchover aborted: promoting the target failed: " + promoted.outcome.message + "; " +
          (unfenced.status == StepStatus::kOk
               ? spec_.primary_id + " un-fenced, writable again"
               : spec_.primary_id + " could NOT be un-fenced (" + unfenced.message + ")"));
      return fail(o, "");
    }
    // 5. Re-point the old primary and the other replicas at the new primary. No divergence
    // report is needed: the old primary was fenced and the target applied all of it.
    RejoinOptions ro = RejoinOptionsFor(spec_.replication);
    ro.require_report = false;
    ro.errant = "refuse";
    json rejoined = json::array();
    std::vector<std::pair<std::string, std::shared_ptr<Database>>> all = {
        {spec_.primary_id, spec_.primary}};
    all.insert(all.end(), spec_.replicas.begin(), spec_.replicas.end());
    bool changed = promoted.outcome.details.value("changed", false);
    for (const auto& [id, db] : all) {
      StepOutcome r = db->Rejoin(*spec_.target, ro, deadline);
      rejoined.push_back({{"database", id}, {"message", r.message}});
      details["rejoined"] = rejoined;
      if (r.status != StepStatus::kOk) {
        return fail(
            r, spec_.target_id + " is the new primary, but re-pointing " + id + " at it failed: ");
      }
      changed = changed || r.details.value("changed", false);
    }
    details["changed"] = changed;
    std::string lease_text = spec_.lease ? ", " + spec_.region + " holds the writer lease" : "";
    return StepOutcome::Ok(prefix + (changed ? "switched over: " : "nothing to do: ") +
                               spec_.target_id + " is the primary (" + wait.message + ")" +
                               lease_text + ", " + std::to_string(all.size()) +
                               " server(s) replicate from it",
                           details);
  }

  // Step 1 with the lease: gets the lease away from primary_region. Held by it: writes a
  // handover request naming `region` (`request` = its etcd lease), which the holder's agent
  // answers by fencing its region, verifying the fence and revoking the lease; without an
  // agent the lease expires. Held by `region` already (a second run) or by nobody: nothing
  // to wait for. Held by a third region: refused (details.refused), nothing changed.
  StepOutcome ReleaseLease(StepContext& ctx, EtcdClient& etcd, WriterLease& wl,
                           std::int64_t& request) {
    MonoTime until = std::min(ctx.clock->Now() + spec_.lease_timeout, ctx.deadline);
    std::string last_error;
    std::optional<WriterLeaseState> first;
    for (;;) {
      auto st = wl.Read();
      if (st) {
        if (!first) first = *st;
        if (!st->held || st->holder != spec_.primary_region) {
          if (st->held && st->holder != spec_.region) {
            StepOutcome o =
                StepOutcome::Fail("guard: refusing to switch over: the writer lease is " +
                                  st->Describe() + ", neither " + spec_.primary_region +
                                  " (primary_region) nor " + spec_.region + " (region)");
            o.details = {{"refused", true}};
            return o;
          }
          if (first->held && first->holder == spec_.primary_region) {
            return StepOutcome::Ok(spec_.primary_region + " released the writer lease" +
                                   (request != 0 ? " on the handover request" : "") +
                                   " (its region fenced)");
          }
          return StepOutcome::Ok("the writer lease is " + st->Describe() +
                                 ": nothing to hand over");
        }
        last_error.clear();
        if (request == 0) {
          auto secs = std::chrono::duration_cast<std::chrono::seconds>(spec_.lease_timeout).count();
          auto r = RequestHandover(
              etcd, spec_.lease->prefix, spec_.region,
              ctx.vars != nullptr ? ctx.vars->execution_id : std::string(), secs + 1,
              static_cast<std::int64_t>(std::floor(UnixSeconds(ctx.clock->WallNow()))));
          if (r) {
            request = *r;
          } else {
            last_error = "cannot write the handover request: " + r.error().message;
          }
        }
      } else {
        last_error = st.error().message;
        if (!first) {
          return StepOutcome::Retry("cannot read the writer lease, nothing changed: " + last_error);
        }
      }
      if (ctx.clock->Now() + kLeasePoll >= until) break;
      if (!Pause(ctx, until)) return StepOutcome::Retry("db_switchover: cancelled (shutting down)");
    }
    auto now = wl.Read();
    std::string state = now ? now->Describe() : "unreadable (" + now.error().message + ")";
    if (!last_error.empty()) state += "; " + last_error;
    return StepOutcome::Fail("the writer lease was not moved within " +
                             FormatDuration(spec_.lease_timeout) + " (lease_timeout): " + state +
                             "; " + spec_.primary_region +
                             " did not hand it over (its agent could not verify its fence, or is "
                             "cut off from etcd)");
  }

  // Step 1: fences the primary. A retryable failure (the fence's own session killed by
  // another fencer, e.g. the region agent evicting client sessions at the same moment, or
  // a dropped connection) is tried again, up to kFenceAttempts times within the step's
  // deadline: the fence is idempotent, and aborting a planned switchover for it would
  // leave the primary read-only when its region no longer holds the lease.
  // `deadline`: DatabaseDeadline(ctx), for the database calls.
  StepOutcome FenceWithRetries(StepContext& ctx, MonoTime deadline) {
    std::vector<std::string> earlier;
    for (int attempt = 1;; ++attempt) {
      StepOutcome fence = spec_.primary->FenceForSwitchover(deadline);
      bool last = fence.status != StepStatus::kRetryable || attempt == kFenceAttempts ||
                  ctx.clock->Now() + kLeasePoll >= ctx.deadline;
      if (last || !Pause(ctx, ctx.deadline)) {
        if (!earlier.empty()) {
          std::string before;
          for (const auto& e : earlier) before += (before.empty() ? "" : "; ") + e;
          fence.message += " (attempt " + std::to_string(attempt) + "; earlier: " + before + ")";
          if (!fence.details.is_object()) fence.details = json::object();
          fence.details["attempts"] = attempt;
          fence.details["earlier_attempts"] = earlier;
        }
        return fence;
      }
      earlier.push_back(fence.message);
    }
  }

  // Step 3 with the lease: creates it for `region` (nobody holds it after step 1).
  StepOutcome AcquireLease(StepContext& ctx, WriterLease& wl) {
    MonoTime until = std::min(ctx.clock->Now() + spec_.lease_timeout, ctx.deadline);
    auto ttl = std::chrono::duration_cast<std::chrono::seconds>(spec_.lease->ttl).count();
    std::string state;
    for (;;) {
      auto r = wl.TryAcquire(spec_.region, ttl);
      if (r && r->held && r->holder == spec_.region) {
        return StepOutcome::Ok(r->created ? "writer lease acquired for " + spec_.region +
                                                " (lease " + std::to_string(r->lease) + ")"
                                          : "writer lease already held by " + spec_.region);
      }
      state = r ? r->Describe() : "unreadable (" + r.error().message + ")";
      if (ctx.clock->Now() + kLeasePoll >= until) break;
      if (!Pause(ctx, until)) break;
    }
    return StepOutcome::Fail("the writer lease was not acquired for " + spec_.region + " within " +
                             FormatDuration(spec_.lease_timeout) + " (lease_timeout): " + state);
  }

 private:
  DbSwitchoverSpec spec_;
};

}  // namespace

Result<std::unique_ptr<Step>> NewDbSwitchoverStep(const YamlNode& body,
                                                  const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseDbSwitchoverSpec(body, ctx);
  if (!spec) return spec.error();
  auto common = ParseStepCommonWithCatchUp(body, spec->replication.catch_up_timeout);
  if (!common) return common.error();
  if (spec->lease && spec->lease_timeout >= common->timeout) {
    auto where = body.Get("lease_timeout") ? *body.Get("lease_timeout") : body;
    return where.Fail("lease_timeout (" + FormatDuration(spec->lease_timeout) +
                      ") must be shorter than the step's timeout (" +
                      FormatDuration(common->timeout) + ")");
  }
  return FinishStep<DbSwitchoverStep>(body, std::move(*spec), *common);
}

}  // namespace failover
