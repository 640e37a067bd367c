// The PagerDuty contract fake as a program, for scripts/demo: prints every accepted event
// as one JSON line on stdout. Writes its URL to the file named by the first argument.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "tests/support/fake_pagerduty.h"

namespace {
volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s URL_FILE\n", argv[0]);
    return 2;
  }
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  failover::testing::FakePagerDuty pd;
  std::ofstream(argv[1], std::ios::trunc) << pd.url() << "\n";
  size_t printed = 0;
  while (g_stop == 0) {
    auto events = pd.Events();
    for (; printed < events.size(); ++printed) {
      std::cout << events[printed].body.dump() << std::endl;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}
