#include "actuator/coordination/region_agent.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>

#include "actuator/db/database.h"
#include "common/log.h"

namespace failover {

namespace {

constexpr const char* kRunbook = "region_agent";
// Why a region is fenced: the values of failover_actuator_region_fenced{reason}.
const std::vector<std::string>& FenceReasons() {
  static const std::vector<std::string> r = {"other_holder", "no_holder",     "etcd_unreachable",
                                             "lease_lost",   "database_down", "starting",
                                             "handover"};
  return r;
}

std::string Explain(const std::string& why, const std::string& holder, Duration fence_after,
                    const std::string& handover_to = "") {
  if (why == "handover") {
    return "the writer lease is being handed over to " +
           (handover_to.empty() ? std::string("another region") : handover_to) + " on request (" +
           holder + " stops writing first)";
  }
  if (why == "other_holder") return "the writer lease is held by " + holder;
  if (why == "no_holder") return "nobody holds the writer lease";
  if (why == "etcd_unreachable") {
    return "the writer lease could not be renewed for " + FormatDuration(fence_after) +
           " (etcd unreachable or without a quorum)";
  }
  if (why == "lease_lost") return "the writer lease is gone (it expired or was revoked in etcd)";
  if (why == "database_down") {
    return "the local database was unreachable for " + FormatDuration(fence_after) +
           ": the writer lease was released";
  }
  return "the agent has not renewed the writer lease yet";
}

}  // namespace

class RegionAgentMetrics {
 public:
  RegionAgentMetrics(prometheus::Registry& r, const std::string& region) {
    held_ = &prometheus::BuildGauge()
                 .Name("failover_actuator_writer_lease_held")
                 .Help(
                     "1 while this region agent holds and renews the writer lease (its region "
                     "may write)")
                 .Register(r)
                 .Add({{"region", region}});
    auto& fenced = prometheus::BuildGauge()
                       .Name("failover_actuator_region_fenced")
                       .Help("1 for the reason this region is fenced (read-only), 0 otherwise")
                       .Register(r);
    for (const std::string& reason : FenceReasons()) {
      fenced_[reason] = &fenced.Add({{"region", region}, {"reason", reason}});
    }
    renew_failures_ = &prometheus::BuildCounter()
                           .Name("failover_actuator_writer_lease_renew_failures_total")
                           .Help(
                               "Writer lease reads or renewals that failed (etcd unreachable, "
                               "no quorum, timeout)")
                           .Register(r)
                           .Add({{"region", region}});
    last_renewal_ = &prometheus::BuildGauge()
                         .Name("failover_actuator_writer_lease_last_renewal_timestamp_seconds")
                         .Help(
                             "When the writer lease was last renewed by this agent (Unix time "
                             "the request was sent)")
                         .Register(r)
                         .Add({{"region", region}});
    last_tick_ = &prometheus::BuildGauge()
                      .Name("failover_actuator_region_agent_last_tick_timestamp_seconds")
                      .Help("When the region agent's loop last completed a tick (Unix time)")
                      .Register(r)
                      .Add({{"region", region}});
    auto& actions = prometheus::BuildCounter()
                        .Name("failover_actuator_region_agent_actions_total")
                        .Help(
                            "What the region agent did: fence, unfence, release, "
                            "watchdog_fence, by result (ok, failed)")
                        .Register(r);
    for (const char* a : {"fence", "unfence", "release", "watchdog_fence"}) {
      for (const char* res : {"ok", "failed"}) {
        actions_[std::string(a) + "/" + res] =
            &actions.Add({{"region", region}, {"action", a}, {"result", res}});
      }
    }
  }
  void Held(bool h) { held_->Set(h ? 1 : 0); }
  void Fenced(const std::string& reason) {
    for (auto& [r, g] : fenced_) g->Set(r == reason ? 1 : 0);
  }
  void RenewFailure() { renew_failures_->Increment(); }
  void Renewed(double unix_time) { last_renewal_->Set(unix_time); }
  void Ticked(double unix_time) { last_tick_->Set(unix_time); }
  void Action(const std::string& action, bool ok) {
    actions_[action + "/" + (ok ? "ok" : "failed")]->Increment();
  }

 private:
  prometheus::Gauge* held_;
  std::map<std::string, prometheus::Gauge*> fenced_;
  prometheus::Counter* renew_failures_;
  prometheus::Gauge* last_renewal_;
  prometheus::Gauge* last_tick_;
  std::map<std::string, prometheus::Counter*> actions_;
};

RegionAgent::RegionAgent(std::shared_ptr<const RegionAgentConfig> config, HttpClient& http,
                         Journal& journal, Clock& clock, prometheus::Registry& registry)
    : cfg_(std::move(config)),
      http_(http),
      journal_(journal),
      clock_(clock),
      metrics_(std::make_unique<RegionAgentMetrics>(registry, cfg_->region)),
      fence_after_(cfg_->fence_after) {
  etcd_ = std::make_unique<EtcdClient>(http_, cfg_->endpoints, EtcdTimeout());
  lease_ = std::make_unique<WriterLease>(*etcd_, cfg_->prefix, EtcdTimeout());
  why_ = "starting";
  reason_text_ = Explain(why_, "", fence_after_);
  metrics_->Fenced(why_);
  // Records an earlier process left open: it stopped while acting. The first tick
  // re-establishes the desired state, so they are closed, not resumed.
  ExecutionQuery q;
  q.runbook = kRunbook;
  q.states = {ExecState::kQueued, ExecState::kRunning};
  if (auto open = journal_.List(q)) {
    for (ExecutionRecord e : *open) {
      if (e.labels["region"] != cfg_->region) continue;
      e.state = ExecState::kFailed;
      e.finished_at = e.updated_at = UnixSeconds(clock_.WallNow());
      e.message =
          "interrupted: the actuator stopped while the region agent was acting; the "
          "agent re-checks its region when it starts";
      (void)journal_.Update(e);
    }
  }
}

RegionAgent::~RegionAgent() { Stop(); }

Duration RegionAgent::EtcdTimeout() const {
  // A read and a renewal per tick, each tried on every endpoint in turn: together they fit
  // in renew_every.
  auto n = static_cast<long>(std::max<size_t>(1, cfg_->endpoints.size()));
  return std::max<Duration>(cfg_->renew_every / (2 * n), std::chrono::milliseconds(50));
}

void RegionAgent::Start() {
  log::Info("region agent starting", {{"region", cfg_->region},
                                      {"database", cfg_->database_id},
                                      {"key", lease_->key()},
                                      {"ttl", FormatDuration(cfg_->ttl)},
                                      {"renew_every", FormatDuration(cfg_->renew_every)},
                                      {"fence_after", FormatDuration(cfg_->fence_after)}});
  loop_ = std::thread([this] { Loop(); });
  watchdog_ = std::thread([this] { Watchdog(); });
}

void RegionAgent::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  bool started = loop_.joinable();  // an agent that never ran leaves everything as it is
  if (loop_.joinable()) loop_.join();
  if (watchdog_.joinable()) watchdog_.join();
  if (started && (state_ != State::kFenced || !db_fenced_)) {
    // Nobody renews the lease from now on: leave the database read-only (unless this
    // agent knows it is). A new agent started within the lease's TTL finds its region the
    // holder and opens it again.
    log::Warn("region agent stopping: making the local database read-only until an agent runs",
              {{"region", cfg_->region}, {"database", cfg_->database_id}});
    std::string msg = "agent stopping: " + cfg_->database_id + " made read-only until it runs";
    bool journaled = Begin("fence", msg);
    double started = UnixSeconds(clock_.WallNow());
    FenceResult r = cfg_->database->Fence(Steady::now() + cfg_->fence_timeout);
    if (journaled) {
      StepDone(0, "db_fence", r.outcome, started);
      Finish(r.outcome.status == StepStatus::kOk, msg + ": " + r.outcome.message);
    }
    metrics_->Action("fence", r.outcome.status == StepStatus::kOk);
    state_ = State::kFenced;
  }
  metrics_->Held(false);
}

bool RegionAgent::held() const { return Steady::now() < AuthorizedUntil(); }
bool RegionAgent::fenced() const { return state_ == State::kFenced; }
std::string RegionAgent::reason() const {
  std::lock_guard<std::mutex> l(mu_);
  return reason_text_;
}

void RegionAgent::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    auto start = Steady::now();
    l.unlock();
    Tick();
    l.lock();
    auto wake = start + cfg_->renew_every;
    // Held: wake up when the authority runs out too, so the fence comes at fence_after.
    if (auto until = AuthorizedUntil(); until > Steady::now() && until < wake) wake = until;
    cv_.wait_until(l, wake, [&] { return stop_.load(); });
  }
}

void RegionAgent::Tick() {
  Act(/*full=*/false);  // the authority ran out since the last tick: fence first
  ReadAndRenew();
  Act(/*full=*/true);
  last_tick_ = Steady::now().time_since_epoch().count();
  metrics_->Ticked(UnixSeconds(clock_.WallNow()));
  std::lock_guard<std::mutex> l(mu_);
  reason_text_ = held() ? "" : Explain(why_, holder_, fence_after_, handover_to_);
}

void RegionAgent::ReadAndRenew() {
  auto n = static_cast<long>(std::max<size_t>(1, cfg_->endpoints.size()));
  // Each request ends by the renewal deadline while the region may write, so the fence is
  // never late because a request hangs.
  auto budget = [&]() -> Duration {
    Duration b = cfg_->renew_every / 2;
    auto until = AuthorizedUntil();
    auto now = Steady::now();
    if (until > now) b = std::min<Duration>(b, until - now);
    return std::max<Duration>(b / n, std::chrono::milliseconds(10));
  };
  auto st = lease_->Read(budget(), /*with_ttl=*/false);
  if (!st) {
    metrics_->RenewFailure();
    if (read_ok_) {
      log::Warn("cannot read the writer lease",
                {{"region", cfg_->region}, {"err", st.error().message}});
    }
    read_ok_ = false;
    why_ = "etcd_unreachable";  // what the fence says once the authority runs out
    return;
  }
  if (!read_ok_) log::Info("writer lease readable again", {{"region", cfg_->region}});
  read_ok_ = true;
  std::string holder = st->held ? st->holder : "";
  if (holder != holder_) {
    log::Info("writer lease holder", {{"region", cfg_->region},
                                      {"holder", holder.empty() ? "(nobody)" : holder},
                                      {"was", holder_.empty() ? "(nobody)" : holder_}});
    holder_ = holder;
  }
  if (holder != cfg_->region) {
    authorized_until_ = Steady::time_point::min().time_since_epoch().count();
    releasing_ = false;
    handover_ = false;
    handover_refused_logged_ = false;
    lease_id_ = 0;
    why_ = holder.empty() ? "no_holder" : "other_holder";
    return;
  }
  lease_id_ = st->lease;
  if (releasing_) {
    Release("database_down");
    return;
  }
  // A handover request naming another region: the region stops writing now (Act fences
  // it as for a lost lease); the lease is kept alive until HandOver() has verified the
  // fence, then revoked.
  if (std::string to = HandoverRequest(budget()); !to.empty()) {
    if (!handover_ || to != handover_to_) {
      log::Warn("handover requested: fencing this region before releasing the writer lease",
                {{"region", cfg_->region}, {"to", to}, {"database", cfg_->database_id}});
    }
    handover_ = true;
    handover_to_ = to;
    authorized_until_ = Steady::time_point::min().time_since_epoch().count();
    why_ = "handover";
    if (auto ka = lease_->KeepAlive(lease_id_, budget()); !ka) metrics_->RenewFailure();
    return;
  }
  if (handover_) {
    log::Info(
        "the handover request is gone before the lease was released: this region is the "
        "writer again",
        {{"region", cfg_->region}});
    handover_ = false;
    handover_refused_logged_ = false;
  }
  auto sent = Steady::now();
  double sent_wall = UnixSeconds(clock_.WallNow());
  auto ka = lease_->KeepAlive(lease_id_, budget());
  if (!ka) {
    metrics_->RenewFailure();
    if (renew_ok_) {
      log::Warn("cannot renew the writer lease", {{"region", cfg_->region},
                                                  {"lease", std::to_string(lease_id_)},
                                                  {"err", ka.error().message}});
    }
    renew_ok_ = false;
    why_ = "etcd_unreachable";
    return;
  }
  renew_ok_ = true;
  if (*ka <= 0) {
    authorized_until_ = Steady::time_point::min().time_since_epoch().count();
    why_ = "lease_lost";
    log::Warn("the writer lease is gone",
              {{"region", cfg_->region}, {"lease", std::to_string(lease_id_)}});
    return;
  }
  // The lease's own TTL may be shorter than the one configured here (another actuator
  // granted it): fence early enough for that one.
  Duration ttl = std::chrono::seconds(*ka);
  Duration eff = cfg_->fence_after;
  if (ttl < cfg_->ttl) {
    eff = std::min(eff, ttl - cfg_->fence_timeout - ClockMargin(ttl));
    if (eff != fence_after_) {
      log::Error("the writer lease's TTL is shorter than region_agent.ttl: fencing earlier",
                 {{"region", cfg_->region},
                  {"lease_ttl", FormatDuration(ttl)},
                  {"ttl", FormatDuration(cfg_->ttl)},
                  {"fence_after", FormatDuration(std::max(eff, Duration::zero()))}});
    }
  }
  fence_after_ = eff;
  if (eff <= Duration::zero()) {
    why_ = "lease_lost";
    return;
  }
  authorized_until_ = (sent + eff).time_since_epoch().count();
  metrics_->Renewed(sent_wall);
}

void RegionAgent::Act(bool full) {
  bool authorized = held();
  metrics_->Held(authorized);
  if (!authorized) {
    // Before the tick's read, only a region that was open is fenced at once (a starting
    // agent reads the lease first).
    if (full || state_ == State::kOpen) FenceRegion();
    if (full && handover_) HandOver();
    return;
  }
  if (!full) return;
  metrics_->Fenced("");
  // Not enough time left for a database call before the deadline: the loop wakes up then.
  if (AuthorizedUntil() - Steady::now() <= cfg_->fence_timeout) return;
  auto ws = cfg_->database->ReadWriteState(Steady::now() + cfg_->fence_timeout);
  if (!ws) {
    auto now = Steady::now();
    if (!db_down_since_) {
      db_down_since_ = now;
      log::Warn("the local database is unreachable while this region holds the writer lease",
                {{"region", cfg_->region},
                 {"database", cfg_->database_id},
                 {"err", ws.error().message},
                 {"release_after", FormatDuration(cfg_->fence_after)}});
    }
    if (now - *db_down_since_ >= cfg_->fence_after) {
      releasing_ = true;
      Release("database_down");
      FenceRegion();
    }
    return;
  }
  if (db_down_since_) {
    log::Info("the local database answers again", {{"region", cfg_->region}});
    db_down_since_.reset();
  }
  if (state_ != State::kOpen || !steps_opened_ ||
      (ws->read_only && !ws->replica && cfg_->make_writable)) {
    OpenRegion(*ws);
  }
}

void RegionAgent::FenceRegion() {
  metrics_->Fenced(why_);
  std::string why_text = Explain(why_, holder_, fence_after_, handover_to_);
  {
    std::lock_guard<std::mutex> l(mu_);
    reason_text_ = why_text;
  }
  if (state_ != State::kFenced) {
    // Sessions are ended when the region was (or, just started, may have been) writable.
    evict_ = state_ == State::kOpen;
    db_fenced_ = steps_fenced_ = steps_opened_ = false;
    state_ = State::kFenced;
    log::Warn("fencing this region: its database must not take writes",
              {{"region", cfg_->region}, {"database", cfg_->database_id}, {"reason", why_text}});
    Begin("fence", "fencing " + cfg_->region + ": " + why_text);
  }
  auto deadline = Steady::now() + cfg_->fence_timeout;
  if (db_fenced_ && steps_fenced_) {
    // Fenced: the desired state is re-checked every tick.
    auto ws = cfg_->database->ReadWriteState(deadline);
    if (!ws || ws->read_only) return;
    if (LeaseMovedHere()) return;
    log::Warn(
        "the local database was made writable while this region may not write: fencing "
        "it again",
        {{"region", cfg_->region}, {"database", cfg_->database_id}, {"reason", why_text}});
    db_fenced_ = false;
    evict_ = true;
    Begin("fence", cfg_->database_id + " found writable while " + why_text + ": fenced again");
  }
  if (!db_fenced_) {
    double started = UnixSeconds(clock_.WallNow());
    FenceResult r;
    if (evict_) {
      r = cfg_->database->FenceAndEvict(deadline);
    } else {
      auto ws = cfg_->database->ReadWriteState(deadline);
      if (ws && ws->read_only) {
        r.outcome = StepOutcome::Ok(cfg_->database->where() + " is already read-only");
      } else if (ws && LeaseMovedHere()) {
        return;  // promoted under the lease since the read: the next tick opens the region
      } else if (ws) {
        r = cfg_->database->FenceAndEvict(deadline);
      } else {
        r.outcome = StepOutcome::Retry(ws.error().message);
        r.unreachable = true;
      }
    }
    bool ok = r.outcome.status == StepStatus::kOk && !r.unreachable;
    StepDone(0, "db_fence", r.outcome, started);
    if (ok) {
      db_fenced_ = true;
      log::Warn("fenced the local database", {{"region", cfg_->region},
                                              {"database", cfg_->database_id},
                                              {"result", r.outcome.message}});
    } else if (!fence_failing_) {
      log::Error(
          "cannot fence the local database yet; retrying every renew_every",
          {{"region", cfg_->region}, {"database", cfg_->database_id}, {"err", r.outcome.message}});
    }
    fence_failing_ = !ok;
  }
  if (!steps_fenced_) steps_fenced_ = RunSteps(cfg_->fence_steps, "fence_steps", 1);
  if (db_fenced_ && steps_fenced_ && !record_.id.empty()) {
    std::string done = record_.message;
    if (done.rfind("fencing ", 0) == 0) done = "fenced " + done.substr(8);
    Finish(true, done);
    metrics_->Action("fence", true);
  }
}

void RegionAgent::OpenRegion(const WriteState& ws) {
  if (ws.replica) {
    if (!waiting_logged_) {
      log::Info(
          "this region holds the writer lease but its database replicates: waiting for "
          "db_promote",
          {{"region", cfg_->region}, {"database", cfg_->database_id}});
      waiting_logged_ = true;
    }
    return;
  }
  if (ws.read_only && !cfg_->make_writable) {
    if (!waiting_logged_) {
      log::Info(
          "this region holds the writer lease; its database stays read-only "
          "(make_writable: false)",
          {{"region", cfg_->region}, {"database", cfg_->database_id}});
      waiting_logged_ = true;
    }
    return;
  }
  waiting_logged_ = false;
  if (!ws.read_only && (cfg_->unfence_steps.empty() || steps_opened_)) {
    state_ = State::kOpen;  // nothing to do
    steps_opened_ = true;
    return;
  }
  // Making it writable must end before the renewal deadline, where the fence begins.
  if (ws.read_only && AuthorizedUntil() - Steady::now() <= cfg_->fence_timeout) return;
  // Opening the region is never done without its journal record.
  if (!Begin("unfence", "opening " + cfg_->region + ": it holds the writer lease")) return;
  if (ws.read_only) {
    double started = UnixSeconds(clock_.WallNow());
    StepOutcome out = cfg_->database->Unfence(Steady::now() + cfg_->fence_timeout);
    StepDone(0, "db_unfence", out, started);
    if (out.status != StepStatus::kOk) {
      Finish(false, "cannot make " + cfg_->database_id + " writable: " + out.message);
      metrics_->Action("unfence", false);
      return;
    }
  }
  state_ = State::kOpen;  // the database may take writes from here on
  if (!RunSteps(cfg_->unfence_steps, "unfence_steps", 1)) {
    Finish(false, "unfence_steps failed; retrying");
    metrics_->Action("unfence", false);
    return;
  }
  Finish(true, "opened " + cfg_->region + ": " + cfg_->database_id + " writable");
  metrics_->Action("unfence", true);
  log::Info("this region holds the writer lease: its database may take writes",
            {{"region", cfg_->region}, {"database", cfg_->database_id}});
  steps_opened_ = true;
}

bool RegionAgent::LeaseMovedHere() {
  // Only a region fenced because the key named another holder (or nobody): a lapsed
  // authority of its own is fenced without asking again.
  if (why_ != "other_holder" && why_ != "no_holder") return false;
  auto st = lease_->Read(EtcdTimeout(), /*with_ttl=*/false);
  if (!st || !st->held || st->holder != cfg_->region) return false;
  log::Info(
      "the writer lease moved to this region since it was read: not fencing its database, "
      "which was made writable under the lease",
      {{"region", cfg_->region}, {"database", cfg_->database_id}});
  return true;
}

std::string RegionAgent::HandoverRequest(Duration timeout) {
  // Bounded like the lease's read: never past the renewal deadline.
  auto r = etcd_->Call("/v3/kv/range", {{"key", Base64Encode(cfg_->prefix + "handover")}}, timeout);
  // Unreadable: a handover under way stays under way (the region stays fenced).
  if (!r) return handover_ ? handover_to_ : "";
  auto kvs = r->find("kvs");
  if (kvs == r->end() || !kvs->is_array() || kvs->empty()) return "";
  auto value = Base64Decode((*kvs)[0].value("value", ""));
  if (!value) return "";
  auto j = nlohmann::json::parse(*value, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("to") || !j["to"].is_string()) {
    if (!bad_request_logged_) {
      log::Error("ignoring a malformed handover request",
                 {{"region", cfg_->region}, {"key", cfg_->prefix + "handover"}});
    }
    bad_request_logged_ = true;
    return "";
  }
  bad_request_logged_ = false;
  std::string to = j["to"].get<std::string>();
  return to == cfg_->region ? "" : to;
}

void RegionAgent::HandOver() {
  if (lease_id_ == 0) return;
  auto now = Steady::now();
  // The fence is verified on the database itself, not taken from the fence's own result.
  auto ws = cfg_->database->ReadWriteState(now + cfg_->fence_timeout);
  if (db_fenced_ && ws && ws->read_only) {
    db_down_since_.reset();
    Release("handover");
    return;
  }
  if (!ws) {
    // A database down for fence_after is released as before (the database_down rule).
    if (!db_down_since_) db_down_since_ = now;
    if (now - *db_down_since_ >= cfg_->fence_after) {
      releasing_ = true;
      Release("database_down");
      return;
    }
  }
  if (!handover_refused_logged_) {
    log::Error(
        "cannot verify the fence of this region: not releasing the writer lease; the "
        "writer_lease acquire for " +
            handover_to_ + " will time out and page",
        {{"region", cfg_->region},
         {"database", cfg_->database_id},
         {"err", ws ? std::string("the database is still writable") : ws.error().message}});
    handover_refused_logged_ = true;
  }
}

void RegionAgent::Release(const std::string& why) {
  why_ = why;
  authorized_until_ = Steady::time_point::min().time_since_epoch().count();
  if (lease_id_ == 0) return;
  std::string msg = why == "handover" ? "handing the writer lease over to " + handover_to_ + ": " +
                                            cfg_->database_id + " verified read-only"
                                      : "releasing the writer lease: " + cfg_->database_id +
                                            " unreachable for " + FormatDuration(cfg_->fence_after);
  if (why == "handover") {
    log::Warn(msg, {{"region", cfg_->region}, {"lease", std::to_string(lease_id_)}});
  } else {
    log::Error(msg, {{"region", cfg_->region}, {"lease", std::to_string(lease_id_)}});
  }
  ExecutionRecord saved = std::move(record_);
  int saved_steps = record_steps_;
  record_ = {};
  bool journaled = Begin("release", msg);
  double started = UnixSeconds(clock_.WallNow());
  auto s = lease_->Release(lease_id_);
  StepOutcome out = s ? StepOutcome::Ok("revoked lease " + std::to_string(lease_id_))
                      : StepOutcome::Retry(s.error().message);
  if (journaled) {
    StepDone(0, "writer_lease_release", out, started);
    Finish(static_cast<bool>(s), msg + ": " + out.message);
  }
  metrics_->Action("release", static_cast<bool>(s));
  record_ = std::move(saved);
  record_steps_ = saved_steps;
  if (s) {
    releasing_ = false;
    lease_id_ = 0;
  }
}

bool RegionAgent::RunSteps(const std::vector<StepConfig>& steps, const std::string& phase,
                           int first_index) {
  TemplateVars vars;
  vars.labels["region"] = cfg_->region;
  vars.runbook = kRunbook;
  vars.execution_id = record_.id;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (stop_) return false;
    const StepConfig& sc = steps[i];
    StepContext ctx;
    ctx.vars = &vars;
    ctx.clock = &clock_;
    // A step may not hold up the renewals for longer than a tick.
    Duration limit = std::min<Duration>(sc.step->common().timeout, cfg_->renew_every);
    if (phase == "unfence_steps") {
      // While the region is open, a step ends by the renewal deadline: the loop fences
      // only when the step has returned.
      auto left = std::chrono::duration_cast<Duration>(AuthorizedUntil() - Steady::now());
      if (left <= Duration::zero()) return false;  // the next tick decides
      limit = std::min(limit, left);
    }
    ctx.deadline = clock_.Now() + limit;
    ctx.http = &http_;
    ctx.cancelled = [this] { return stop_.load(); };
    double started = UnixSeconds(clock_.WallNow());
    StepOutcome out = sc.step->Run(ctx);
    StepDone(first_index + static_cast<int>(i), sc.kind, out, started);
    if (out.status != StepStatus::kOk) {
      std::string failure = sc.kind + "/" + out.message;
      if (failing_step_ != failure) {
        log::Error(
            "region agent step failed; retrying at the next tick",
            {{"region", cfg_->region}, {"phase", phase}, {"kind", sc.kind}, {"err", out.message}});
      }
      failing_step_ = failure;
      return false;
    }
  }
  failing_step_.clear();
  return true;
}

bool RegionAgent::Begin(const std::string& action, const std::string& message) {
  if (!record_.id.empty()) {
    // The previous record is superseded (e.g. a fence that never completed before the
    // region could write again).
    Finish(false, "superseded: " + message);
  }
  static std::atomic<int> counter{0};
  double now = UnixSeconds(clock_.WallNow());
  ExecutionRecord e;
  e.id = "ra-" + cfg_->region + "-" + std::to_string(static_cast<long long>(now * 1000)) + "-" +
         std::to_string(++counter);
  e.dedup_key = std::string(kRunbook) + "|" + e.id;
  e.runbook = kRunbook;
  e.trigger = ExecTrigger::kRegionAgent;
  e.mode = ExecMode::kAuto;
  e.state = ExecState::kRunning;
  e.labels = {{"region", cfg_->region}, {"action", action}, {"reason", why_}};
  e.created_at = e.updated_at = now;
  e.message = message;
  if (auto s = journal_.Insert(e); !s) {
    log::Error(action == "unfence"
                   ? "cannot journal the region agent's action; not acting"
                   : "cannot journal the region agent's action; fencing all the same",
               {{"region", cfg_->region}, {"action", action}, {"err", s.error().message}});
    record_ = {};
    return false;
  }
  record_ = e;
  record_steps_ = 0;
  return true;
}

void RegionAgent::StepDone(int index, const std::string& kind, const StepOutcome& out,
                           double started) {
  if (record_.id.empty()) return;
  StepRecord s;
  s.execution_id = record_.id;
  s.phase = ToString(ExecPhase::kMain);
  s.index = index;
  s.kind = kind;
  s.state = out.status == StepStatus::kOk ? "ok" : "failed";
  s.attempts = 1;
  s.message = out.message;
  s.details = out.details.is_object() ? out.details : nlohmann::json::object();
  s.started_at = started;
  s.finished_at = UnixSeconds(clock_.WallNow());
  if (auto r = journal_.PutStep(s); !r) {
    log::Error("cannot journal a region agent step",
               {{"region", cfg_->region}, {"err", r.error().message}});
  }
  record_.next_step = std::max(record_.next_step, index + 1);
  ++record_steps_;
}

void RegionAgent::Finish(bool ok, const std::string& message) {
  if (record_.id.empty()) return;
  record_.state = ok ? ExecState::kSucceeded : ExecState::kFailed;
  record_.finished_at = record_.updated_at = UnixSeconds(clock_.WallNow());
  record_.message = message;
  if (auto s = journal_.Update(record_); !s) {
    log::Error("cannot journal the end of a region agent action",
               {{"region", cfg_->region}, {"err", s.error().message}});
  }
  record_ = {};
}

void RegionAgent::Watchdog() {
  bool fired = false;
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    cv_.wait_for(l, cfg_->renew_every / 2, [&] { return stop_.load(); });
    if (stop_) return;
    l.unlock();
    auto now = Steady::now();
    bool stalled = state_ == State::kOpen && now > AuthorizedUntil() + cfg_->fence_timeout;
    if (!stalled) fired = false;
    if (stalled && !fired) {
      fired = true;
      log::Error(
          "region agent loop stalled past its renewal deadline: fencing from the "
          "watchdog",
          {{"region", cfg_->region}, {"database", cfg_->database_id}});
      // Its own record: the loop's may be in the middle of being written.
      double t = UnixSeconds(clock_.WallNow());
      ExecutionRecord e;
      e.id = "ra-" + cfg_->region + "-watchdog-" + std::to_string(static_cast<long long>(t * 1000));
      e.dedup_key = std::string(kRunbook) + "|" + e.id;
      e.runbook = kRunbook;
      e.trigger = ExecTrigger::kRegionAgent;
      e.mode = ExecMode::kAuto;
      e.state = ExecState::kRunning;
      e.labels = {{"region", cfg_->region}, {"action", "watchdog_fence"}, {"reason", "stalled"}};
      e.created_at = e.updated_at = t;
      e.message = "the agent loop stalled past the renewal deadline: fencing from the watchdog";
      bool journaled = static_cast<bool>(journal_.Insert(e));
      FenceResult r = cfg_->database->FenceAndEvict(Steady::now() + cfg_->fence_timeout);
      bool ok = r.outcome.status == StepStatus::kOk && !r.unreachable;
      if (journaled) {
        e.state = ok ? ExecState::kSucceeded : ExecState::kFailed;
        e.finished_at = e.updated_at = UnixSeconds(clock_.WallNow());
        e.message += ": " + r.outcome.message;
        (void)journal_.Update(e);
      }
      metrics_->Action("watchdog_fence", ok);
    }
    l.lock();
  }
}

}  // namespace failover
