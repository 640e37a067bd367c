// A Clock that moves only when the test says so.
#pragma once

#include <mutex>

#include "common/clock.h"

namespace failover::testing {

class FakeClock : public Clock {
 public:
  MonoTime Now() const override {
    std::lock_guard<std::mutex> l(mu_);
    return now_;
  }
  WallTime WallNow() const override {
    std::lock_guard<std::mutex> l(mu_);
    return wall_ + (now_ - MonoTime());
  }
  void SleepUntil(MonoTime t) override { Set(t); }
  void Advance(Duration d) {
    std::lock_guard<std::mutex> l(mu_);
    now_ += d;
  }
  void Set(MonoTime t) {
    std::lock_guard<std::mutex> l(mu_);
    if (t > now_) now_ = t;
  }

 private:
  mutable std::mutex mu_;
  MonoTime now_ = MonoTime() + std::chrono::hours(1000);
  WallTime wall_ = WallTime() + std::chrono::seconds(1'800'000'000);
};

}  // namespace failover::testing
