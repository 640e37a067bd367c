// Time source. The scheduler, retries and cooldowns take a Clock so tests drive time
// themselves instead of sleeping.
#pragma once

#include <chrono>

namespace failover {

using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime Now() const = 0;      // monotonic: intervals, deadlines, lateness
  virtual WallTime WallNow() const = 0;  // wall clock: timestamps shown to people
  virtual void SleepUntil(MonoTime t) = 0;
};

class SystemClock final : public Clock {
 public:
  MonoTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  void SleepUntil(MonoTime t) override;
  static SystemClock& Get();
};

inline double UnixSeconds(WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace failover
