// A small, fixed pool of threads for work that can only be done blocking (database client
// libraries). Probes submit a task; the task posts its result back to the EventLoop.
// Threads start on the first Submit, so an exporter without such probes has none.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace failover {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);
  // Lets running tasks finish, drops queued ones (unrun), joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Any thread. Tasks run in submission order on whichever thread is free.
  void Submit(std::function<void()> task);

  size_t size() const { return size_; }
  size_t queued() const;
  size_t busy() const;

 private:
  void Main();

  const size_t size_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  size_t busy_ = 0;
  bool stop_ = false;
};

}  // namespace failover
