// --probe.max-in-flight (ExporterOptions::max_in_flight): "probes beyond the bound wait
// their turn; they are not dropped and not counted as failures".
//
// The real Exporter with 8 http probes that all fall due within half a second, against a
// loopback server that answers each request after 1.5 s, and a bound of 2: the server
// never sees more than 2 requests at once, every probe still completes a successful run,
// none fails, and the runs that waited are counted.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
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
using testing::TempDir;
using testing::TestHttpServer;
using testing::WaitFor;

constexpr int kProbes = 8;
constexpr size_t kBound = 2;
constexpr auto kInterval = seconds(10);

struct Figures {
  std::map<std::string, double> successes, failures;  // by probe
  double delayed = -1, waiting = -1, in_flight = -1;
};

Figures Parse(const std::string& text) {
  Figures f;
  for (const auto& [name, labels, value] : testing::ParseMetrics(text)) {
    if (name == "failover_exporter_probe_runs_delayed_total") f.delayed = value;
    if (name == "failover_exporter_probe_runs_waiting") f.waiting = value;
    if (name == "failover_exporter_probes_in_flight") f.in_flight = value;
    if (name != "failover_probe_runs_total") continue;
    std::string probe = testing::LabelValue(labels, "probe");
    (testing::LabelValue(labels, "result") == "success" ? f.successes : f.failures)[probe] = value;
  }
  return f;
}

TEST(MaxInFlightTest, RunsBeyondTheBoundWaitAndAllComplete) {
  log::Configure(log::Level::kWarn, log::Format::kLogfmt);
  TestHttpServer server;
  // All due 1.5 to 2 s after the start: late enough that loading the config is done.
  std::vector<std::string> names =
      testing::NamesWithPhase("slow-", kProbes, kInterval, milliseconds(1500), milliseconds(2000));
  std::ostringstream cfg;
  cfg << "probes:\n";
  for (const std::string& name : names) {
    cfg << "  - name: " << name << "\n"
        << "    interval: " << FormatDuration(kInterval) << "\n    timeout: 5s\n"
        << "    http:\n      url: \"" << server.url("/slow?ms=1500") << "\"\n";
  }
  TempDir dir;
  ProberRegistry registry;
  RegisterBuiltinProbers(registry);
  ExporterOptions options;
  options.config_file = dir.Write("exporter.yml", cfg.str());
  options.listen_address = "127.0.0.1:0";
  options.max_in_flight = kBound;
  Exporter exporter(options, registry, SystemClock::Get());
  auto started = exporter.Start();
  ASSERT_TRUE(started) << started.error().message;

  // Every probe's first run completes: 8 runs of 1.5 s, 2 at a time, take ~6 s.
  int most_at_once = 0;
  double most_in_flight = 0;
  Figures f;
  bool all_done = WaitFor(
      [&] {
        most_at_once = std::max(most_at_once, server.OpenConnections());
        if (server.RequestCount("/slow") < kProbes) return false;
        f = Parse(exporter.RenderMetrics());
        most_in_flight = std::max(most_in_flight, f.in_flight);
        for (const std::string& name : names) {
          if (f.successes[name] + f.failures[name] < 1) return false;
        }
        return true;
      },
      seconds(60));
  most_at_once = std::max(most_at_once, server.OpenConnections());
  exporter.Stop();
  log::Configure(log::Level::kInfo, log::Format::kLogfmt);

  ASSERT_TRUE(all_done) << "not every probe completed a run; requests seen: "
                        << server.RequestCount("/slow");
  EXPECT_LE(most_at_once, static_cast<int>(kBound))
      << "the server saw more requests at once than --probe.max-in-flight allows";
  EXPECT_LE(most_in_flight, static_cast<double>(kBound));
  for (const std::string& name : names) {
    EXPECT_GE(f.successes[name], 1) << name << " did not succeed";
    EXPECT_EQ(f.failures[name], 0) << name << ": a run that waited was counted as a failure";
  }
  // All 8 were due within half a second and each run holds its slot for 1.5 s: at least
  // 6 of them had to wait.
  EXPECT_GE(f.delayed, kProbes - static_cast<double>(kBound));
  EXPECT_GE(f.waiting, 0) << "no failover_exporter_probe_runs_waiting";
}

}  // namespace
}  // namespace failover
