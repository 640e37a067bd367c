// A single-threaded epoll loop: fd watchers, timers (timerfd, nanosecond precision) and
// tasks posted from other threads. HTTP/TCP probes (libcurl multi) and DNS probes (c-ares)
// all run on it, so thousands of hanging probes cost sockets, not threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "common/clock.h"

namespace failover {

class EventLoop {
 public:
  using FdCallback = std::function<void(uint32_t epoll_events)>;
  using TimerId = std::uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Loop thread only.
  void Watch(int fd, uint32_t epoll_events, FdCallback cb);  // add or change
  void Unwatch(int fd);
  TimerId AddTimer(MonoTime when, std::function<void()> cb);
  void CancelTimer(TimerId id);

  // Any thread. The task runs on the loop thread during the next RunOnce.
  void Post(std::function<void()> task);

  // Waits for events until `wake_by` (or until a timer or posted task is due), then runs
  // every ready callback once.
  void RunOnce(MonoTime wake_by);

  size_t watched_fds() const { return watchers_.size(); }

 private:
  void ArmTimerFd(MonoTime when);

  int epfd_ = -1;
  int timerfd_ = -1;
  // What timerfd_ is set to, while it has not fired: setting it again to the same time
  // (the common case: many loop turns before the next due probe) is a syscall saved.
  std::optional<MonoTime> armed_;
  int wakefd_ = -1;
  std::map<int, std::shared_ptr<FdCallback>> watchers_;
  std::multimap<MonoTime, std::pair<TimerId, std::function<void()>>> timers_;
  std::map<TimerId, std::multimap<MonoTime, std::pair<TimerId, std::function<void()>>>::iterator>
      timer_index_;
  TimerId next_timer_id_ = 1;
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace failover
