// The region agent: failover_actuator in a region's role (docs/writer-lease.md).
//
// Every renew_every it reads <prefix>writer (a linearizable read) and:
//  - holder == its region: refreshes the lease the key carries. A renewal counts from the
//    moment its request was sent. While the last one is younger than fence_after the
//    region may write: a read-only primary is made writable (make_writable) and
//    unfence_steps run. Its database unreachable for fence_after: it stops renewing and
//    revokes the lease, so a failover can take it.
//  - no renewal for fence_after (etcd unreachable, a minority, the lease gone, another
//    holder), or the key names another region or nobody: the region is fenced, locally,
//    without asking anyone: read_only (+ super_read_only on MySQL), client sessions killed
//    when it may have been writing, fence_steps. Re-checked every tick (desired state):
//    a database found writable is fenced again, unless a fresh read of the key shows the
//    lease moved to this region meanwhile (promoted under the lease).
//  - holder, and <prefix>handover names another region (a writer_lease step asks for a
//    handover): the region is fenced as for a lost lease (reason "handover") while the
//    lease is still renewed; once the database is verified read-only the lease is revoked.
//    A fence it cannot verify is not released (the acquire times out and pages).
// A watchdog thread fences from its own thread when the loop has not done it within
// fence_timeout of the renewal deadline (a stuck loop). Every fence, unfence and release
// is journaled (runbook "region_agent", trigger "region_agent") before it acts.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "actuator/coordination/region_agent_config.h"
#include "actuator/coordination/writer_lease.h"
#include "actuator/db/database.h"
#include "actuator/journal.h"
#include "common/clock.h"
#include "common/http_client.h"

namespace prometheus {
class Registry;
}

namespace failover {

class RegionAgentMetrics;

class RegionAgent {
 public:
  // Closes this region's agent records an earlier process left running (call it before the
  // engine resumes executions). `registry` gets the agent's metrics.
  RegionAgent(std::shared_ptr<const RegionAgentConfig> config, HttpClient& http, Journal& journal,
              Clock& clock, prometheus::Registry& registry);
  ~RegionAgent();
  RegionAgent(const RegionAgent&) = delete;
  RegionAgent& operator=(const RegionAgent&) = delete;

  void Start();  // the loop and the watchdog threads
  void Stop();

  // What the agent believes now (for logs, tests and the API).
  bool held() const;    // holder and renewing: the region may write
  bool fenced() const;  // fencing or fenced (a region that may not write)
  std::string reason() const;

 private:
  enum class State { kUnknown, kFenced, kOpen };
  using Steady = std::chrono::steady_clock;

  void Loop();
  void Watchdog();
  void Tick();
  void ReadAndRenew();
  void Act(bool full);
  void FenceRegion();
  void OpenRegion(const WriteState& ws);
  void Release(const std::string& why);  // revokes the lease; why: database_down | handover
  std::string HandoverRequest(Duration timeout);  // the region <prefix>handover names ("": none)
  void HandOver();  // a requested handover: verify the fence, then release
  // A database found writable while the last read named another holder or nobody: true
  // when a fresh read of the key names this region (the writer_lease step took the lease
  // for it and db_promote made it writable in between): it must not be fenced.
  bool LeaseMovedHere();
  bool RunSteps(const std::vector<StepConfig>& steps, const std::string& phase, int first_index);

  // Journal helpers: a record per action; false when it could not be written.
  bool Begin(const std::string& action, const std::string& message);
  void StepDone(int index, const std::string& kind, const StepOutcome& out, double started);
  void Finish(bool ok, const std::string& message);

  Steady::time_point AuthorizedUntil() const {
    return Steady::time_point(Steady::duration(authorized_until_.load()));
  }
  Duration EtcdTimeout() const;

  std::shared_ptr<const RegionAgentConfig> cfg_;
  HttpClient& http_;
  Journal& journal_;
  Clock& clock_;
  std::unique_ptr<RegionAgentMetrics> metrics_;
  std::unique_ptr<EtcdClient> etcd_;
  std::unique_ptr<WriterLease> lease_;

  // Loop state (the loop thread only, unless atomic).
  std::atomic<Steady::rep> authorized_until_{Steady::time_point::min().time_since_epoch().count()};
  std::atomic<State> state_{State::kUnknown};
  std::atomic<Steady::rep> last_tick_{0};
  std::string holder_;          // as last read ("" = nobody)
  bool read_ok_ = true;         // the last read answered (a failure is logged once)
  bool renew_ok_ = true;        // the last renewal answered (a failure is logged once)
  std::string why_;             // why the region may not write (fence reason)
  Duration fence_after_;        // effective: shortened when the lease's TTL is shorter
  bool db_fenced_ = false;      // this fence episode made (or found) the database read-only
  bool steps_fenced_ = false;   // fence_steps succeeded this episode
  bool steps_opened_ = false;   // unfence_steps succeeded since the region was last fenced
  bool fence_failing_ = false;  // the database fence failed at the last attempt (logged once)
  std::string failing_step_;    // the step failure last logged (logged once per streak)
  bool evict_ = false;          // end sessions: the region was (or may have been) writable
  std::optional<Steady::time_point> db_down_since_;
  bool releasing_ = false;                // database down while holding: stop renewing, revoke
  std::int64_t lease_id_ = 0;             // the lease the key carries
  bool waiting_logged_ = false;           // "holder but the database is a replica" said once
  bool handover_ = false;                 // a handover request names another region: not writing
  std::string handover_to_;               // the region it names
  bool handover_refused_logged_ = false;  // "cannot verify the fence" said once
  bool bad_request_logged_ = false;
  // The open journal record (empty: none).
  ExecutionRecord record_;
  int record_steps_ = 0;

  mutable std::mutex mu_;  // reason_text_, stop
  std::string reason_text_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::thread loop_, watchdog_;
};

}  // namespace failover
