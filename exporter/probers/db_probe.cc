#include "exporter/probers/db_probe.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "exporter/event_loop.h"

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
const MetricDesc kSemiSyncEnabledMetric = {
    "failover_replication_semisync_enabled",
    "MySQL/MariaDB: 1 if semi-synchronous replication is switched on for this side "
    "(rpl_semi_sync_*_enabled), else 0. Absent when the server has no semi-sync."};
const MetricDesc kSemiSyncActiveMetric = {
    "failover_replication_semisync_active",
    "MySQL/MariaDB: 1 if semi-synchronous replication is working on this side "
    "(Rpl_semi_sync_*_status ON), else 0. Absent when the server has no semi-sync."};
const MetricDesc kSemiSyncClientsMetric = {
    "failover_replication_semisync_clients",
    "MySQL/MariaDB source: semi-synchronous replicas connected (Rpl_semi_sync_*_clients)."};
const MetricDesc kSemiSyncUnackedMetric = {
    "failover_replication_semisync_unacked_transactions",
    "MySQL/MariaDB source: commits acknowledged without a replica's acknowledgement since the "
    "server started (Rpl_semi_sync_*_no_tx; a counter kept by the server)."};

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

ProbeResult DbRunSteps::TimedOut(Duration timeout) {
  return ProbeResult::Failure("timeout",
                              "no answer from the database within " + FormatDuration(timeout));
}

namespace {

// The loop side of one DriveDbRun.
struct DbRunDriver : std::enable_shared_from_this<DbRunDriver> {
  EventLoop* loop = nullptr;
  std::shared_ptr<DbRunSteps> steps;
  ProbeDone done;
  Duration timeout{0};
  EventLoop::TimerId timer = 0;
  int fd = -1;  // watched now
  bool finished = false;

  void Advance(bool readable, bool writable) {
    // Unwatched before the client library runs: it may close this socket, and its number
    // may come back for another socket at once.
    if (fd >= 0) loop->Unwatch(fd);
    fd = -1;
    DbRunSteps::Outcome out = steps->Step(readable, writable);
    if (finished) return;
    if (auto* result = std::get_if<ProbeResult>(&out)) {
      Finish(std::move(*result));
      return;
    }
    const SqlWait& wait = std::get<SqlWait>(out);
    if (wait.done || wait.fd < 0) {
      Finish(ProbeResult::Failure("error", "database client stopped without a result"));
      return;
    }
    fd = wait.fd;
    uint32_t events = (wait.read ? EPOLLIN : 0u) | (wait.write ? EPOLLOUT : 0u);
    bool want_read = wait.read, want_write = wait.write;
    loop->Watch(fd, events, [self = shared_from_this(), want_read, want_write](uint32_t ev) {
      // An error or hang-up wakes both directions: the library reads the error.
      bool bad = (ev & (EPOLLERR | EPOLLHUP)) != 0;
      self->Advance(want_read && ((ev & EPOLLIN) != 0 || bad),
                    want_write && ((ev & EPOLLOUT) != 0 || bad));
    });
  }

  void Finish(ProbeResult result) {
    finished = true;
    if (fd >= 0) loop->Unwatch(fd);
    fd = -1;
    if (timer != 0) loop->CancelTimer(timer);
    timer = 0;
    steps.reset();
    ProbeDone d = std::move(done);
    d(std::move(result));
  }

  void Deadline() {
    timer = 0;
    if (finished) return;
    if (fd >= 0) loop->Unwatch(fd);
    fd = -1;
    steps->Abandon();
    Finish(steps->TimedOut(timeout));
  }
};

}  // namespace

void DbProber::StartRun(ProbeEnv& env, MonoTime deadline, Duration timeout,
                        const std::string& target,
                        const std::function<std::shared_ptr<DbRunSteps>()>& make_run,
                        ProbeDone done) {
  if (running_) {
    // Only when runs are started by hand: the scheduler waits for the previous one.
    done(ProbeResult::Failure("timeout",
                              "the previous run is still waiting for " + target + " (no answer)"));
    return;
  }
  running_ = true;
  DriveDbRun(env, deadline, timeout, make_run(), std::move(done));
}

bool DbRun::ReconnectOnce(const SqlFailure& failure) {
  if (!failure.connection_broken || !reused_ ||
      std::chrono::steady_clock::now() - start_ >= timeout_ / 2) {
    return false;
  }
  reused_ = false;
  return true;
}

void DriveDbRun(ProbeEnv& env, MonoTime deadline, Duration timeout,
                std::shared_ptr<DbRunSteps> steps, ProbeDone done) {
  if (env.loop == nullptr) {
    done(ProbeResult::Failure("error", "no event loop in this exporter (internal error)"));
    return;
  }
  auto driver = std::make_shared<DbRunDriver>();
  driver->loop = env.loop;
  driver->steps = std::move(steps);
  driver->done = std::move(done);
  driver->timeout = timeout;
  driver->timer = env.loop->AddTimer(deadline, [driver] { driver->Deadline(); });
  driver->Advance(false, false);
}

// ---- HostLookup --------------------------------------------------------------------------

struct HostLookup::Shared {
  mutable std::mutex mu;
  bool finished = false;
  std::vector<std::string> addresses;
  std::string error;
  int efd = -1;
  ~Shared() {
    if (efd >= 0) close(efd);
  }
};

std::shared_ptr<HostLookup> HostLookup::Start(const std::string& host) {
  auto shared = std::make_shared<Shared>();
  shared->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  auto lookup = std::shared_ptr<HostLookup>(new HostLookup(shared));
  auto work = [shared, host] {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
    std::vector<std::string> addresses;
    std::string error;
    for (addrinfo* ai = rc == 0 ? res : nullptr; ai != nullptr; ai = ai->ai_next) {
      char buf[INET6_ADDRSTRLEN] = {0};
      if (getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) !=
          0) {
        continue;
      }
      if (std::find(addresses.begin(), addresses.end(), buf) == addresses.end()) {
        addresses.push_back(buf);
      }
    }
    if (addresses.empty()) {
      error = "could not resolve \"" + host + "\": " + (rc != 0 ? gai_strerror(rc) : "no address");
    }
    if (res != nullptr) freeaddrinfo(res);
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->finished = true;
    shared->addresses = std::move(addresses);
    shared->error = std::move(error);
    uint64_t one = 1;
    if (shared->efd >= 0) {
      ssize_t n = write(shared->efd, &one, sizeof one);
      (void)n;
    }
  };
  if (shared->efd < 0) {
    work();  // no eventfd: the answer is there before anyone waits
  } else {
    try {
      std::thread(work).detach();
    } catch (const std::system_error&) {
      work();
    }
  }
  return lookup;
}

HostLookup::~HostLookup() = default;

int HostLookup::fd() const { return shared_->efd; }

bool HostLookup::finished() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->finished;
}

Result<std::vector<std::string>> HostLookup::addresses() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  if (!shared_->finished) return Error::Invalid("lookup not finished");
  if (!shared_->error.empty()) return Error::Invalid(shared_->error);
  return shared_->addresses;
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace failover
