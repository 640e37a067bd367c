#include "exporter/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace failover {
namespace {

constexpr uint64_t kTimerTag = ~0ULL;
constexpr uint64_t kWakeTag = ~0ULL - 1;

}  // namespace

EventLoop::EventLoop() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  timerfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || timerfd_ < 0 || wakefd_ < 0) {
    throw std::runtime_error(std::string("event loop setup failed: ") + std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTimerTag;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, timerfd_, &ev);
  ev.data.u64 = kWakeTag;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
}

EventLoop::~EventLoop() {
  close(epfd_);
  close(timerfd_);
  close(wakefd_);
}

void EventLoop::Watch(int fd, uint32_t events, FdCallback cb) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = static_cast<uint64_t>(fd);
  auto it = watchers_.find(fd);
  if (it == watchers_.end()) {
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    watchers_.emplace(fd, std::make_shared<FdCallback>(std::move(cb)));
  } else {
    epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
    it->second = std::make_shared<FdCallback>(std::move(cb));
  }
}

void EventLoop::Unwatch(int fd) {
  if (watchers_.erase(fd) > 0) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::AddTimer(MonoTime when, std::function<void()> cb) {
  TimerId id = next_timer_id_++;
  auto it = timers_.emplace(when, std::make_pair(id, std::move(cb)));
  timer_index_[id] = it;
  return id;
}

void EventLoop::CancelTimer(TimerId id) {
  auto it = timer_index_.find(id);
  if (it == timer_index_.end()) return;
  timers_.erase(it->second);
  timer_index_.erase(it);
}

void EventLoop::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_.push_back(std::move(task));
  }
  uint64_t one = 1;
  ssize_t n = write(wakefd_, &one, sizeof one);
  (void)n;
}

void EventLoop::ArmTimerFd(MonoTime when) {
  if (armed_ == when) return;
  armed_ = when;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
  if (ns <= 0) ns = 1;
  itimerspec spec{};
  spec.it_value.tv_sec = ns / 1'000'000'000;
  spec.it_value.tv_nsec = ns % 1'000'000'000;
  timerfd_settime(timerfd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void EventLoop::RunOnce(MonoTime wake_by) {
  MonoTime until = wake_by;
  if (!timers_.empty() && timers_.begin()->first < until) until = timers_.begin()->first;
  bool have_posted;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    have_posted = !posted_.empty();
  }
  int wait_ms = -1;
  if (have_posted || until <= std::chrono::steady_clock::now()) {
    wait_ms = 0;
  } else {
    ArmTimerFd(until);
  }
  epoll_event events[256];
  int n = epoll_wait(epfd_, events, 256, wait_ms);
  for (int i = 0; i < n; ++i) {
    uint64_t tag = events[i].data.u64;
    if (tag == kTimerTag) {
      uint64_t expirations;
      ssize_t r = read(timerfd_, &expirations, sizeof expirations);
      (void)r;
      armed_.reset();
      continue;
    }
    if (tag == kWakeTag) {
      uint64_t v;
      ssize_t r = read(wakefd_, &v, sizeof v);
      (void)r;
      continue;
    }
    auto it = watchers_.find(static_cast<int>(tag));
    if (it == watchers_.end()) continue;  // unwatched by an earlier callback of this batch
    std::shared_ptr<FdCallback> cb = it->second;
    (*cb)(events[i].events);
  }
  // Timers that are due, including ones added by the callbacks above.
  MonoTime now = std::chrono::steady_clock::now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    auto it = timers_.begin();
    auto cb = std::move(it->second.second);
    timer_index_.erase(it->second.first);
    timers_.erase(it);
    cb();
  }
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    tasks.swap(posted_);
  }
  for (auto& t : tasks) t();
}

}  // namespace failover
