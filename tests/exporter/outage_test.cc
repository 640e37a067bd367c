// "A region that times out entirely must not delay anyone else: with 1000 probes whose
// target accepts but never answers and 1000 healthy probes, the healthy ones still start
// on time."
//
// The real Exporter (config file, scheduler, event loop, curl multi, metrics) with 1000
// http probes against listeners that never accept and 1000 http probes against a healthy
// loopback server. The test asserts behaviour, not latencies: while all 1000 hanging
// probes are in flight, every healthy probe completes two more successful runs and no
// scheduled run is skipped.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/duration.h"
#include "common/log.h"
#include "exporter/exporter.h"
#include "exporter/prober_registry.h"
#include "exporter/scheduler.h"
#include "tests/exporter/probe_phase.h"
#include "tests/support/metrics_text.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::BlackholeListener;
using testing::TempDir;
using testing::TestHttpServer;
using testing::WaitFor;

constexpr int kHanging = 1000;
constexpr int kHealthy = 1000;
// Listeners the hanging probes are spread over, so that each accept queue (at least the
// historical somaxconn of 128) holds all of its connections.
constexpr int kBlackholes = 8;

constexpr auto kHangInterval = seconds(10);
constexpr auto kHangTimeout = seconds(9);

// What the test reads from /metrics.
struct Snapshot {
  double in_flight = -1;
  double skipped = -1;
  std::map<std::string, double> successes;    // by probe
  std::map<std::string, double> failures;     // by probe
  std::map<std::string, std::string> reason;  // by probe, while its last run failed
};

Snapshot Parse(const std::string& text) {
  using testing::LabelValue;
  Snapshot s;
  for (const auto& [name, labels, value] : testing::ParseMetrics(text)) {
    if (name == "failover_exporter_probes_in_flight") {
      s.in_flight = value;
    } else if (name == "failover_exporter_probe_runs_skipped_total") {
      s.skipped = value;
    } else if (name == "failover_probe_runs_total") {
      std::string probe = LabelValue(labels, "probe");
      if (LabelValue(labels, "result") == "success") {
        s.successes[probe] = value;
      } else {
        s.failures[probe] = value;
      }
    } else if (name == "failover_probe_failure_info") {
      s.reason[LabelValue(labels, "probe")] = LabelValue(labels, "reason");
    }
  }
  return s;
}

class QuietLogs {
 public:
  QuietLogs() { log::Configure(log::Level::kWarn, log::Format::kLogfmt); }
  ~QuietLogs() { log::Configure(log::Level::kInfo, log::Format::kLogfmt); }
};

TEST(OutageTest, HangingRegionDoesNotDelayHealthyProbes) {
  // ~1000 hanging sockets plus the healthy traffic exceed the usual soft limit of 1024.
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  rl.rlim_cur = rl.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
  // Without room for the sockets the scenario cannot be built: fail, do not pass silently.
  ASSERT_TRUE(rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 4096)
      << "RLIMIT_NOFILE hard limit " << rl.rlim_max << " is below the 4096 this test needs";
  QuietLogs quiet;

  TestHttpServer healthy;
  std::vector<std::unique_ptr<BlackholeListener>> blackholes;
  for (int i = 0; i < kBlackholes; ++i) {
    blackholes.push_back(std::make_unique<BlackholeListener>());
    ASSERT_GE(blackholes.back()->Backlog(), kHanging / kBlackholes);
  }

  // All hanging probes start 1.5 to 2 s after the exporter starts (late enough that loading
  // the config cannot push them into their next interval) and stay in flight until their
  // 9 s timeout: from about 2 s to 10.5 s, all 1000 hang at once.
  std::vector<std::string> hang_names = testing::NamesWithPhase(
      "hang-", kHanging, kHangInterval, milliseconds(1500), milliseconds(2000));
  std::vector<std::string> ok_names;
  std::ostringstream cfg;
  cfg << "probes:\n";
  for (int i = 0; i < kHanging; ++i) {
    cfg << "  - name: " << hang_names[i] << "\n"
        << "    interval: " << FormatDuration(kHangInterval) << "\n"
        << "    timeout: " << FormatDuration(kHangTimeout) << "\n"
        << "    http:\n      url: \"http://" << blackholes[i % kBlackholes]->address() << "/\"\n";
  }
  for (int i = 0; i < kHealthy; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "ok-%04d", i);
    ok_names.push_back(name);
    cfg << "  - name: " << name << "\n"
        << "    interval: 1s\n    timeout: 500ms\n"
        << "    http:\n      url: \"" << healthy.url("/healthz") << "\"\n";
  }
  TempDir dir;
  ProberRegistry registry;
  RegisterBuiltinProbers(registry);
  ExporterOptions options;
  options.config_file = dir.Write("exporter.yml", cfg.str());
  options.listen_address = "127.0.0.1:0";
  Exporter exporter(options, registry, SystemClock::Get());
  auto started = exporter.Start();
  ASSERT_TRUE(started) << started.error().message;

  auto hang_runs = [&](const Snapshot& s) {
    double n = 0;
    for (const auto& name : hang_names) {
      if (s.successes.count(name)) n += s.successes.at(name);
      if (s.failures.count(name)) n += s.failures.at(name);
    }
    return n;
  };
  auto pending = [&] {
    int n = 0;
    for (const auto& b : blackholes) n += b->PendingConnections();
    return n;
  };
  // Rendering /metrics for 2000 probes is not free and shares a lock with the probe loop,
  // so the polls below look at cheap signals first and render only when it can matter.

  // 1. Every hanging probe has connected and none has finished: all 1000 are in flight.
  EXPECT_TRUE(WaitFor([&] { return pending() >= kHanging; }, seconds(60)))
      << "hanging probes connected: " << pending();
  int pending0 = pending();  // before the metrics: unfinished runs connected by then
  Snapshot s0 = Parse(exporter.RenderMetrics());
  ASSERT_EQ(pending0, kHanging);
  ASSERT_EQ(hang_runs(s0), 0) << "a hanging probe finished before all of them were in flight";
  ASSERT_GE(s0.in_flight, kHanging);

  // 2. While they stay in flight, every healthy probe completes two more successful runs.
  auto behind = [&](const Snapshot& s, std::string* example) {
    int n = 0;
    for (const auto& name : ok_names) {
      double base = s0.successes.count(name) ? s0.successes.at(name) : 0;
      double now = s.successes.count(name) ? s.successes.at(name) : 0;
      if (now >= base + 2) continue;
      if (n++ == 0 && example != nullptr) {
        *example = name + " went from " + std::to_string(static_cast<int>(base)) + " to " +
                   std::to_string(static_cast<int>(now)) + " successes";
        if (s.reason.count(name)) *example += ", last failure: " + s.reason.at(name);
      }
    }
    return n;
  };
  Snapshot s1;
  int next_render = healthy.RequestCount("/healthz") + 2 * kHealthy;
  WaitFor(
      [&] {
        if (healthy.RequestCount("/healthz") < next_render) return false;
        s1 = Parse(exporter.RenderMetrics());
        next_render = healthy.RequestCount("/healthz") + kHealthy;
        return behind(s1, nullptr) == 0 || hang_runs(s1) > 0;
      },
      seconds(30));
  if (s1.in_flight < 0) s1 = Parse(exporter.RenderMetrics());  // never rendered above
  EXPECT_EQ(hang_runs(s1), 0) << "the hanging probes finished before the healthy ones got on";
  EXPECT_GE(s1.in_flight, kHanging);
  std::string example;
  EXPECT_EQ(behind(s1, &example), 0)
      << "healthy probes without two more successful runs while the others hung, e.g. " << example;
  EXPECT_EQ(s1.skipped - s0.skipped, 0)
      << "scheduled runs were skipped while the hanging probes were in flight";

  exporter.Stop();
}

}  // namespace
}  // namespace failover
