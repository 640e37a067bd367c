// Condition polling for tests: no fixed sleeps.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace failover::testing {

// Polls `cond` every few milliseconds until it holds or `limit` passes; returns whether
// it held. The limit is a safety net against hangs, not a performance assertion.
inline bool WaitFor(const std::function<bool()>& cond,
                    std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

}  // namespace failover::testing
