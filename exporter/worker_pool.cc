#include "exporter/worker_pool.h"

#include <utility>

namespace failover {

WorkerPool::WorkerPool(size_t threads) : size_(threads == 0 ? 1 : threads) {}

WorkerPool::~WorkerPool() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  // `dropped` is destroyed here, outside the lock: tasks may own objects whose destructors
  // take time (closing a database connection).
}

void WorkerPool::Submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    queue_.push_back(std::move(task));
    if (threads_.size() < size_ && busy_ + queue_.size() > threads_.size()) {
      threads_.emplace_back([this] { Main(); });
    }
  }
  cv_.notify_one();
}

size_t WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

size_t WorkerPool::busy() const {
  std::lock_guard<std::mutex> lock(mu_);
  return busy_;
}

void WorkerPool::Main() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    task();
    task = nullptr;  // release what the task holds before taking the lock again
    lock.lock();
    --busy_;
  }
}

}  // namespace failover
