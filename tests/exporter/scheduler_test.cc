#include "exporter/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/support/fake_clock.h"

namespace failover {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Started {
  std::string name;
  MonoTime due;
  MonoTime at;
};

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest()
      : scheduler_(clock_.Now(), [this](const std::string& name, MonoTime due) {
          started_.push_back({name, due, clock_.Now()});
        }) {}

  // Advances the fake clock in steps, ticking the scheduler at each due time, as the
  // event loop would.
  void RunUntil(MonoTime end, bool finish_immediately = true) {
    for (;;) {
      MonoTime next = scheduler_.Tick(clock_.Now());
      if (finish_immediately) {
        for (const auto& s : started_) scheduler_.Finished(s.name);
      }
      if (next > end) break;
      clock_.Set(next);
    }
    clock_.Set(end);
  }

  testing::FakeClock clock_;
  std::vector<Started> started_;
  Scheduler scheduler_;
};

TEST_F(SchedulerTest, EachProbeRunsOnItsOwnIntervalOnTime) {
  scheduler_.Update({{"a", seconds(5)}, {"b", seconds(10)}}, clock_.Now());
  MonoTime t0 = clock_.Now();
  RunUntil(t0 + seconds(60) - milliseconds(1));
  std::map<std::string, int> runs;
  for (const auto& s : started_) {
    ++runs[s.name];
    EXPECT_EQ(s.at, s.due) << "a run started late with nothing in the way";
  }
  EXPECT_EQ(runs["a"], 12);
  EXPECT_EQ(runs["b"], 6);
  // Consecutive runs of one probe are exactly one interval apart.
  MonoTime last{};
  for (const auto& s : started_) {
    if (s.name != "a") continue;
    if (last != MonoTime{}) {
      EXPECT_EQ(s.due - last, seconds(5));
    }
    last = s.due;
  }
}

TEST_F(SchedulerTest, StartTimesAreSpreadAcrossTheInterval) {
  std::vector<Scheduler::Entry> entries;
  for (int i = 0; i < 1000; ++i) entries.push_back({"probe-" + std::to_string(i), seconds(10)});
  scheduler_.Update(entries, clock_.Now());
  MonoTime t0 = clock_.Now();
  RunUntil(t0 + seconds(10) - milliseconds(1));
  ASSERT_EQ(started_.size(), 1000u);
  // Ten one-second buckets; an even spread puts ~100 in each, never all at once.
  std::map<int, int> per_second;
  for (const auto& s : started_) {
    ++per_second[static_cast<int>(std::chrono::duration_cast<seconds>(s.due - t0).count())];
  }
  EXPECT_EQ(per_second.size(), 10u);
  for (const auto& [sec, n] : per_second) {
    EXPECT_GT(n, 50) << "second " << sec;
    EXPECT_LT(n, 150) << "second " << sec;
  }
}

TEST_F(SchedulerTest, NeverTwoRunsOfTheSameProbeAtOnce) {
  scheduler_.Update({{"slow", seconds(1)}}, clock_.Now());
  RunUntil(clock_.Now() + seconds(5), /*finish_immediately=*/false);
  EXPECT_EQ(started_.size(), 1u);
  EXPECT_TRUE(scheduler_.InFlight("slow"));
  EXPECT_GE(scheduler_.skipped(), 4u);
  scheduler_.Finished("slow");
  RunUntil(clock_.Now() + seconds(2), /*finish_immediately=*/false);
  EXPECT_EQ(started_.size(), 2u);
}

TEST_F(SchedulerTest, AStalledLoopRunsOnceLateThenBackOnPhase) {
  scheduler_.Update({{"a", seconds(1)}}, clock_.Now());
  MonoTime first = scheduler_.Tick(clock_.Now());
  clock_.Set(first + milliseconds(3500));  // the loop was stuck for 3.5 intervals
  MonoTime next = scheduler_.Tick(clock_.Now());
  ASSERT_EQ(started_.size(), 1u);
  EXPECT_EQ(clock_.Now() - started_[0].due, milliseconds(3500));  // lateness is visible
  EXPECT_EQ(next, first + seconds(4));                            // back on its phase
  EXPECT_EQ(scheduler_.skipped(), 3u);
}

TEST_F(SchedulerTest, ReloadKeepsUnchangedProbesOnTheirPhase) {
  scheduler_.Update({{"a", seconds(10)}, {"b", seconds(10)}}, clock_.Now());
  MonoTime a_first = scheduler_.FirstDue("a", seconds(10), clock_.Now());
  RunUntil(clock_.Now() + seconds(15));
  size_t before = started_.size();
  // Reload: a unchanged, b's interval changed, c added.
  scheduler_.Update({{"a", seconds(10)}, {"b", seconds(20)}, {"c", seconds(10)}}, clock_.Now());
  EXPECT_EQ(scheduler_.size(), 3u);
  RunUntil(clock_.Now() + seconds(20));
  std::vector<MonoTime> a_dues;
  for (size_t i = 0; i < started_.size(); ++i) {
    if (started_[i].name == "a") a_dues.push_back(started_[i].due);
  }
  for (MonoTime d : a_dues) EXPECT_EQ((d - a_first) % seconds(10), Duration(0));
  EXPECT_GT(started_.size(), before);
  // Removed probes are no longer started.
  scheduler_.Update({{"c", seconds(10)}}, clock_.Now());
  started_.clear();
  RunUntil(clock_.Now() + seconds(30));
  for (const auto& s : started_) EXPECT_EQ(s.name, "c");
  EXPECT_EQ(started_.size(), 3u);
}

TEST_F(SchedulerTest, PhaseIsStableAcrossSchedulerInstances) {
  MonoTime now = clock_.Now();
  Scheduler other(now, [](const std::string&, MonoTime) {});
  EXPECT_EQ(scheduler_.FirstDue("x", seconds(10), now), other.FirstDue("x", seconds(10), now));
  EXPECT_GE(scheduler_.FirstDue("x", seconds(10), now), now);
  EXPECT_LT(scheduler_.FirstDue("x", seconds(10), now), now + seconds(10));
}

}  // namespace
}  // namespace failover
