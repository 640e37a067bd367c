#include "actuator/lock_etcd.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/log.h"

namespace failover {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::int64_t TtlSeconds(Duration ttl) {
  return std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(ttl).count());
}

class EtcdLock final : public ExecutionLock {
 public:
  EtcdLock(EtcdClient& etcd, std::string key, std::string scope, std::int64_t lease,
           std::int64_t epoch, Duration ttl, SteadyClock::time_point granted)
      : etcd_(etcd),
        key_(std::move(key)),
        scope_(std::move(scope)),
        lease_(lease),
        epoch_(epoch),
        ttl_(ttl),
        last_ok_(granted.time_since_epoch().count()) {
    thread_ = std::thread([this] { KeepAlive(); });
  }
  ~EtcdLock() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
    if (!Lost()) {
      if (auto s = etcd_.LeaseRevoke(lease_); !s) {
        log::Warn("cannot release the execution lock; it expires with its lease",
                  {{"scope", scope_}, {"err", s.error().message}});
      }
    }
  }

  std::string fence_key() const override { return key_; }
  std::int64_t epoch() const override { return epoch_; }
  bool Lost() const override { return expired_ || SteadyClock::now() >= Deadline(); }
  std::string LostReason() const override {
    std::lock_guard<std::mutex> l(mu_);
    if (!reason_.empty()) return reason_;
    return "the lease of the execution lock could not be refreshed for " +
           FormatDuration(ttl_ - Margin()) + " (lease TTL " + FormatDuration(ttl_) +
           "); stopped before it can expire";
  }

 private:
  Duration Margin() const { return ttl_ / 4; }
  SteadyClock::time_point Deadline() const {
    return SteadyClock::time_point(SteadyClock::duration(last_ok_.load())) + ttl_ - Margin();
  }

  // Refreshes the lease every ttl/3; wakes up at the deadline too, so the loss is
  // declared (and logged) when it happens, not after a slow request.
  void KeepAlive() {
    const Duration period = ttl_ / 3;
    bool warned = false;
    std::string last_error;
    auto next = SteadyClock::now() + period;
    std::unique_lock<std::mutex> l(mu_);
    while (!done_) {
      cv_.wait_until(l, std::min(next, Deadline()), [&] { return done_; });
      if (done_) return;
      auto now = SteadyClock::now();
      if (now >= Deadline()) {
        reason_ =
            "etcd unreachable: the lease of the execution lock could not be refreshed "
            "for " +
            FormatDuration(ttl_ - Margin()) + " (lease TTL " + FormatDuration(ttl_) +
            "); stopped acting before it can expire" +
            (last_error.empty() ? "" : " (" + last_error + ")");
        expired_ = true;
        log::Error("lost the execution lock", {{"scope", scope_}, {"reason", reason_}});
        return;
      }
      if (now < next) continue;
      next = now + period;
      Duration timeout = std::min<Duration>(period, Deadline() - now);
      l.unlock();
      auto r =
          etcd_.LeaseKeepAlive(lease_, std::max<Duration>(timeout, std::chrono::milliseconds(50)));
      l.lock();
      if (r && *r > 0) {
        last_ok_ = now.time_since_epoch().count();
        if (warned) log::Info("etcd lease refreshed again", {{"scope", scope_}});
        warned = false;
        last_error.clear();
        continue;
      }
      if (r) {
        expired_ = true;
        reason_ = "the lease of the execution lock expired in etcd";
        log::Error("lost the execution lock", {{"scope", scope_}, {"reason", reason_}});
        return;
      }
      last_error = r.error().message;
      if (!warned) {
        log::Warn("cannot refresh the etcd lease of the execution lock",
                  {{"scope", scope_}, {"err", last_error}});
        warned = true;
      }
    }
  }

  EtcdClient& etcd_;
  const std::string key_, scope_;
  const std::int64_t lease_, epoch_;
  const Duration ttl_;
  std::atomic<SteadyClock::rep> last_ok_;
  std::atomic<bool> expired_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::string reason_;
  std::thread thread_;
};

class EtcdLockManager final : public LockManager {
 public:
  EtcdLockManager(EtcdClient& etcd, EtcdLockOptions o) : etcd_(etcd), o_(std::move(o)) {}

  Result<std::unique_ptr<ExecutionLock>> Acquire(const std::string& scope,
                                                 const std::function<bool()>& cancelled) override {
    const std::string key = Key(scope);
    std::int64_t lease = 0;
    SteadyClock::time_point granted{};
    Duration poll = std::min<Duration>(o_.ttl / 4, std::chrono::milliseconds(250));
    bool logged_wait = false;
    for (;;) {
      if (cancelled()) break;
      auto now = SteadyClock::now();
      if (lease != 0 && now - granted > o_.ttl / 3) {
        // Waiting for a while: keep our spare lease alive (or get a new one).
        auto r = etcd_.LeaseKeepAlive(lease, o_.ttl / 3);
        if (r && *r > 0) {
          granted = now;
        } else {
          lease = 0;
        }
      }
      if (lease == 0) {
        auto l = etcd_.LeaseGrant(TtlSeconds(o_.ttl));
        if (!l) return l.error();
        lease = *l;
        granted = now;
      }
      auto t =
          etcd_.Txn({{key, "CREATE", "EQUAL", 0}}, {{EtcdOp::kPut, key, o_.owner, lease, false}},
                    {{EtcdOp::kRange, key, "", 0, false}});
      if (!t) {
        (void)etcd_.LeaseRevoke(lease);
        return t.error();
      }
      if (t->succeeded) {
        return std::unique_ptr<ExecutionLock>(
            std::make_unique<EtcdLock>(etcd_, key, scope, lease, t->revision, o_.ttl, granted));
      }
      if (!logged_wait) {
        std::string holder =
            !t->ranges.empty() && !t->ranges[0].empty() ? t->ranges[0][0].value : "?";
        log::Debug("waiting for the execution lock", {{"scope", scope}, {"holder", holder}});
        logged_wait = true;
      }
      auto until = SteadyClock::now() + poll;
      while (SteadyClock::now() < until && !cancelled()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    if (lease != 0) (void)etcd_.LeaseRevoke(lease);
    return Error::Unavailable("shutting down while waiting for the execution lock " + key);
  }

  Result<bool> Held(const std::string& scope) override {
    auto r = etcd_.Range(Key(scope), false);
    if (!r) return r.error();
    return !r->empty();
  }

  Duration ScanInterval() const override { return o_.ttl / 3; }

 private:
  std::string Key(const std::string& scope) const { return o_.prefix + "lock/" + scope; }

  EtcdClient& etcd_;
  EtcdLockOptions o_;
};

}  // namespace

std::unique_ptr<LockManager> MakeEtcdLockManager(EtcdClient& etcd, EtcdLockOptions options) {
  return std::make_unique<EtcdLockManager>(etcd, std::move(options));
}

}  // namespace failover
