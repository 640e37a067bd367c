#include "exporter/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "tests/support/wait.h"

namespace failover {
namespace {

TEST(WorkerPoolTest, RunsTasksOnAtMostSizeThreadsStartedOnDemand) {
  WorkerPool pool(3);
  EXPECT_EQ(pool.busy(), 0u);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::mutex mu;
  std::set<std::thread::id> threads;
  std::atomic<int> done{0};
  for (int i = 0; i < 6; ++i) {
    pool.Submit([&] {
      {
        std::lock_guard<std::mutex> l(mu);
        threads.insert(std::this_thread::get_id());
      }
      gate.wait();
      ++done;
    });
  }
  // Three run (blocked), three wait for a free thread.
  EXPECT_TRUE(testing::WaitFor([&] { return pool.busy() == 3; }));
  EXPECT_EQ(pool.queued(), 3u);
  release.set_value();
  EXPECT_TRUE(testing::WaitFor([&] { return done == 6; }));
  EXPECT_LE(threads.size(), 3u);
}

TEST(WorkerPoolTest, DestructorDropsQueuedTasksAndWaitsForRunningOnes) {
  std::atomic<int> ran{0};
  std::atomic<bool> started{false};
  auto token = std::make_shared<int>(0);
  {
    WorkerPool pool(1);
    pool.Submit([&] {
      started = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ++ran;
    });
    pool.Submit([&, token] { ++ran; });
    EXPECT_TRUE(testing::WaitFor([&] { return started.load(); }));
  }
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(token.use_count(), 1) << "a dropped task was not destroyed";
}

}  // namespace
}  // namespace failover
