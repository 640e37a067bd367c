#include "common/clock.h"

#include <thread>

namespace failover {

void SystemClock::SleepUntil(MonoTime t) { std::this_thread::sleep_until(t); }

SystemClock& SystemClock::Get() {
  static SystemClock clock;
  return clock;
}

}  // namespace failover
