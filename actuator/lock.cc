#include "actuator/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

namespace failover {

Result<FileLock> FileLock::Acquire(const std::string& dir, const std::string& scope,
                                   const std::function<bool()>& cancelled) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string path = dir + "/" + scope + ".lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error::Unavailable("cannot open lock file " + path + ": " + std::strerror(errno));
  }
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return FileLock(fd);
    if (errno != EWOULDBLOCK && errno != EINTR) {
      std::string why = std::strerror(errno);
      close(fd);
      return Error::Unavailable("cannot lock " + path + ": " + why);
    }
    if (cancelled()) {
      close(fd);
      return Error::Unavailable("shutting down while waiting for lock " + path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) {
    flock(fd_, LOCK_UN);
    close(fd_);
  }
}

}  // namespace failover

namespace failover {
namespace {

class FileExecutionLock final : public ExecutionLock {
 public:
  explicit FileExecutionLock(FileLock lock) : lock_(std::move(lock)) {}

 private:
  FileLock lock_;
};

class FileLockManager final : public LockManager {
 public:
  explicit FileLockManager(std::function<std::string()> dir) : dir_(std::move(dir)) {}
  Result<std::unique_ptr<ExecutionLock>> Acquire(const std::string& scope,
                                                 const std::function<bool()>& cancelled) override {
    auto l = FileLock::Acquire(dir_(), scope, cancelled);
    if (!l) return l.error();
    return std::unique_ptr<ExecutionLock>(std::make_unique<FileExecutionLock>(std::move(*l)));
  }

 private:
  std::function<std::string()> dir_;
};

}  // namespace

std::unique_ptr<LockManager> MakeFileLockManager(std::function<std::string()> dir) {
  return std::make_unique<FileLockManager>(std::move(dir));
}

}  // namespace failover
