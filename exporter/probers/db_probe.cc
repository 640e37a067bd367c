#include "exporter/probers/db_probe.h"

#include <atomic>
#include <cstdlib>
#include <memory>

#include "exporter/event_loop.h"
#include "exporter/worker_pool.h"

namespace failover {

const MetricDesc kReplicationLagSecondsMetric = {
    "failover_replication_lag_seconds",
    "How far the replica is behind its primary, in seconds (on a PostgreSQL primary: per "
    "standby and stage). Absent when it cannot be known (replication stopped, no evidence)."};
const MetricDesc kReplicationLagBytesMetric = {
    "failover_replication_lag_bytes",
    "WAL or binlog bytes the replica has received but not applied (on a PostgreSQL primary: "
    "bytes each standby is behind, per stage)."};
const MetricDesc kReplicationRunningMetric = {
    "failover_replication_running",
    "1 if the replication thread runs (MySQL io/sql; PostgreSQL receiver streaming, replay not "
    "paused), else 0."};
const MetricDesc kDbRoleMetric = {
    "failover_db_role", "1 for the server's current role (primary or replica), 0 for the other."};
const MetricDesc kDbReadOnlyMetric = {"failover_db_read_only",
                                      "1 if the server refuses writes (read_only), else 0."};
const MetricDesc kReplicationLastErrorMetric = {
    "failover_replication_last_error_info",
    "Present (1) while a replication thread reports an error; the text, truncated, is in the "
    "error label."};

std::string ErrorLabelValue(std::string_view text) {
  std::string out;
  bool space = false;
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = 1;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
    } else if (c >= 0x80) {
      n = 0;  // not a valid lead byte
    }
    bool valid = n > 0 && i + n <= text.size();
    for (size_t k = 1; valid && k < n; ++k) {
      valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    }
    std::string_view ch = valid ? text.substr(i, n) : std::string_view("?");
    if (!valid) n = 1;
    bool is_space = ch.size() == 1 && (ch[0] == ' ' || ch[0] == '\t' || ch[0] == '\n' ||
                                       ch[0] == '\r' || ch[0] == '\v' || ch[0] == '\f');
    bool control =
        ch.size() == 1 && !is_space && (static_cast<unsigned char>(ch[0]) < 0x20 || ch[0] == 0x7f);
    i += n;
    if (is_space) {
      space = !out.empty();
      continue;
    }
    std::string piece = space ? " " : "";
    piece += control ? std::string_view("?") : ch;
    space = false;
    if (out.size() + piece.size() > kMaxErrorLabelBytes) {
      // Cut: make room for "..." at a character boundary.
      while (out.size() + 3 > kMaxErrorLabelBytes) {
        size_t cut = out.size() - 1;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;
        out.resize(cut);
      }
      out += "...";
      return out;
    }
    out += piece;
  }
  return out;
}

void AddRoleSamples(std::vector<Sample>& samples, bool primary, bool read_only) {
  static const SampleLabels kPrimary({{"role", "primary"}}), kReplica({{"role", "replica"}});
  samples.push_back({&kDbRoleMetric, kPrimary, primary ? 1.0 : 0.0});
  samples.push_back({&kDbRoleMetric, kReplica, primary ? 0.0 : 1.0});
  samples.push_back({&kDbReadOnlyMetric, {}, read_only ? 1.0 : 0.0});
}

void RunOnWorkers(ProbeEnv& env, MonoTime deadline, Duration timeout, BlockingProbe work,
                  ProbeDone done) {
  if (env.workers == nullptr || env.loop == nullptr) {
    done(ProbeResult::Failure("error", "no worker pool in this exporter (internal error)"));
    return;
  }
  struct Run {
    EventLoop* loop = nullptr;
    ProbeDone done;                      // loop thread only
    bool finished = false;               // loop thread only
    EventLoop::TimerId timer = 0;        // loop thread only
    std::atomic<bool> abandoned{false};  // set on the loop, read by the worker
  };
  auto run = std::make_shared<Run>();
  run->loop = env.loop;
  run->done = std::move(done);
  run->timer = env.loop->AddTimer(deadline, [run, timeout] {
    run->timer = 0;
    if (run->finished) return;
    run->finished = true;
    run->abandoned = true;
    ProbeDone d = std::move(run->done);
    d(ProbeResult::Failure("timeout",
                           "no answer from the database within " + FormatDuration(timeout)));
  });
  env.workers->Submit([run, work = std::move(work), deadline] {
    // Waited in the queue past the deadline: the run is over, do not touch the database.
    if (run->abandoned) return;
    ProbeResult result = work(deadline);
    run->loop->Post([run, result = std::move(result)]() mutable {
      if (run->finished) return;
      run->finished = true;
      if (run->timer != 0) run->loop->CancelTimer(run->timer);
      ProbeDone d = std::move(run->done);
      d(std::move(result));
    });
  });
}

}  // namespace failover
