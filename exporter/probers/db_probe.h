// What the database probers (mysql, postgres) share: the replication metric families
// (one MetricDesc each, so both kinds land in the same family), label hygiene for error
// texts, host name lookups off the loop, and driving a non-blocking client (one run's
// state machine) on the event loop with the run's deadline.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/sql.h"
#include "exporter/prober.h"

namespace failover {

extern const MetricDesc kReplicationLagSecondsMetric;
extern const MetricDesc kReplicationLagBytesMetric;
extern const MetricDesc kReplicationRunningMetric;
extern const MetricDesc kDbRoleMetric;
extern const MetricDesc kDbReadOnlyMetric;
extern const MetricDesc kReplicationLastErrorMetric;
extern const MetricDesc kSemiSyncEnabledMetric;
extern const MetricDesc kSemiSyncActiveMetric;
extern const MetricDesc kSemiSyncClientsMetric;
extern const MetricDesc kSemiSyncUnackedMetric;

// Longest `error` label value, in bytes (longer texts are cut and end in "...").
constexpr size_t kMaxErrorLabelBytes = 200;

// A label value made from a server's error text: valid UTF-8 (invalid bytes become '?'),
// whitespace runs (newlines included) become one space, at most kMaxErrorLabelBytes bytes,
// cut at a character boundary.
std::string ErrorLabelValue(std::string_view text);

// failover_db_role{role="primary"|"replica"} (1 for the current role, 0 for the other) and
// failover_db_read_only.
void AddRoleSamples(std::vector<Sample>& samples, bool primary, bool read_only);

// One run of a database probe as a state machine on the event loop. Step() goes as far as
// it can without waiting and returns either the socket to wait for or the run's result;
// the driver (DriveDbRun) calls it again when that socket is ready. Nothing blocks, so a
// database that never answers costs a socket until the deadline, not a thread.
class DbRunSteps {
 public:
  using Outcome = std::variant<SqlWait, ProbeResult>;
  virtual ~DbRunSteps() = default;
  // `readable`/`writable`: what the awaited socket became (both false on the first call).
  virtual Outcome Step(bool readable, bool writable) = 0;
  // The deadline came first: close whatever the run has open, without waiting.
  virtual void Abandon() = 0;
  // The run's result when the deadline came first (after Abandon); `timeout` is the
  // probe's. By default a `timeout` failure "no answer from the database within <timeout>".
  virtual ProbeResult TimedOut(Duration timeout);
};

// Runs `steps` until it gives a result, which goes to `done`; if none has come by
// `deadline`, the run is abandoned (its connection closed) and `done` gets its TimedOut()
// result at the deadline. `done`
// runs exactly once, on the loop thread (maybe before DriveDbRun returns).
void DriveDbRun(ProbeEnv& env, MonoTime deadline, Duration timeout,
                std::shared_ptr<DbRunSteps> steps, ProbeDone done);

// What every database prober shares between runs: one run at a time. The scheduler waits
// for the previous run; one started by hand while another still waits fails at once.
class DbProber : public Prober {
 protected:
  // Drives the run `make_run` makes (only when no run is going) on the loop; `target`
  // names the database in the failure when one is going.
  void StartRun(ProbeEnv& env, MonoTime deadline, Duration timeout, const std::string& target,
                const std::function<std::shared_ptr<DbRunSteps>()>& make_run, ProbeDone done);

 private:
  friend class DbRun;
  bool running_ = false;  // loop thread only
};

// What every database prober's run shares: it keeps its prober alive and marked busy for
// its lifetime, and it knows whether it reuses the connection kept from an earlier run.
class DbRun : public DbRunSteps {
 public:
  DbRun(std::shared_ptr<DbProber> prober, Duration timeout)
      : prober_(std::move(prober)), timeout_(timeout) {}
  ~DbRun() override { prober_->running_ = false; }

 protected:
  // A kept connection may have died since the last run (server restarted, idle timeout):
  // true, once per run, when `failure` broke a kept connection and less than half the
  // timeout has gone, so the run reconnects (the caller closes the connection first).
  bool ReconnectOnce(const SqlFailure& failure);

  bool reused_ = false;  // the run began on the connection kept from an earlier run

 private:
  std::shared_ptr<DbProber> prober_;
  Duration timeout_;
  MonoTime start_ = std::chrono::steady_clock::now();
};

// Turns a host name into numeric addresses on a thread of its own: getaddrinfo() blocks
// (for as long as the system's resolver waits on a silent name server), and that must not
// stop the loop. The thread lives only as long as the lookup; a run whose deadline comes
// first just stops waiting for it.
class HostLookup {
 public:
  static std::shared_ptr<HostLookup> Start(const std::string& host);
  ~HostLookup();
  // Readable once the lookup has finished.
  int fd() const;
  bool finished() const;
  // The addresses (IPv4 or IPv6 text) in getaddrinfo()'s order of preference, or the
  // resolver's error text.
  Result<std::vector<std::string>> addresses() const;

 private:
  struct Shared;
  explicit HostLookup(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  std::shared_ptr<Shared> shared_;
};

// Whether `host` is an IPv4 or IPv6 literal (needs no lookup).
bool IsIpLiteral(const std::string& host);

}  // namespace failover
