// One execution at a time per lock scope. ExecutionLock is what the engine holds while it
// runs an execution; a LockManager hands them out:
//  - FileLock (default): an flock(2) on <lock_dir>/<scope>.lock, so two actuator
//    processes on one host sharing a lock_dir never act at once either;
//  - EtcdLockManager (actuator/lock_etcd.h): an etcd lease, for actuators on several hosts.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/duration.h"
#include "common/result.h"

namespace failover {

class ExecutionLock {
 public:
  virtual ~ExecutionLock() = default;
  // Locks that fence journal writes (etcd): the key whose create_revision must still be
  // `epoch()` for a write of the holder to be made. "" / 0: no fencing.
  virtual std::string fence_key() const { return ""; }
  virtual std::int64_t epoch() const { return 0; }
  // True once the holder must stop acting (the lease may expire before it can be
  // refreshed, or it is gone); LostReason() says why.
  virtual bool Lost() const { return false; }
  virtual std::string LostReason() const { return ""; }
};

class LockManager {
 public:
  virtual ~LockManager() = default;
  // Blocks until the scope's lock is held or `cancelled` returns true.
  virtual Result<std::unique_ptr<ExecutionLock>> Acquire(
      const std::string& scope, const std::function<bool()>& cancelled) = 0;
  // Distributed managers: whether a live process holds the scope's lock now, and how often
  // the engine scans the journal for executions nobody runs (zero: never, one process).
  virtual Result<bool> Held(const std::string& /*scope*/) { return false; }
  virtual Duration ScanInterval() const { return Duration::zero(); }
};

// File locks in the directory `dir()` returns (read at each acquisition: a reload may move it).
std::unique_ptr<LockManager> MakeFileLockManager(std::function<std::string()> dir);

class FileLock {
 public:
  // Blocks until the lock is held or `cancelled` returns true (checked every 50 ms).
  static Result<FileLock> Acquire(const std::string& dir, const std::string& scope,
                                  const std::function<bool()>& cancelled);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace failover
