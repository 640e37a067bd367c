// One execution at a time per lock scope: an flock(2) on <lock_dir>/<scope>.lock, so two
// actuator processes on one host sharing a lock_dir never act at once either.
#pragma once

#include <functional>
#include <string>

#include "common/result.h"

namespace failover {

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
