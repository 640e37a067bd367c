// failover_exporter: wiring only. See docs/exporter.md.
#include <malloc.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "common/daemon.h"
#include "common/flags.h"
#include "common/http_client.h"
#include "common/web_config.h"
#include "exporter/config.h"
#include "exporter/exporter.h"
#include "exporter/prober_registry.h"

using namespace failover;

int main(int argc, char** argv) {
  // glibc gives every thread that allocates its own arena; the HTTP server's worker
  // threads would each keep one holding a /metrics page. One arena: the probe loop's
  // allocations (each probe's last samples and runs) then fill the holes that loading the
  // config leaves between the probers, instead of growing a second heap (at 10,000 HTTP
  // probes ~3 MiB less, and no more CPU seen; bench/page/issue19-changes.md).
  mallopt(M_ARENA_MAX, 1);
  // glibc's default mmap threshold (128 KiB), but fixed: a scrape's snapshot of the
  // probes (~230 bytes each) is then its own mapping, returned to the system when the
  // answer is sent. The default threshold slides up after the first such free, and from
  // then on each arena keeps a hole of that size in its heap, resident between scrapes.
  mallopt(M_MMAP_THRESHOLD, 128 << 10);
  DaemonFlags d("failover_exporter", "exporter.yml", ":9807");
  const std::string& config_file = d.config_file;
  bool& list_kinds = d.list_kinds;
  Flags flags(d.program,
              "Probes every region (HTTP, TCP, ...) in the background and exposes the results\n"
              "for Prometheus on /metrics. Reload with SIGHUP or POST (or PUT) /-/reload.");
  d.RegisterHead(flags, "Address to listen on for /metrics and the UI.", 8);
  std::string max_in_flight = std::to_string(ExporterOptions::kDefaultMaxInFlight);
  flags.String("probe.max-in-flight", &max_in_flight,
               "Probe runs at most in progress at once; a run due beyond it waits for one to "
               "finish (failover_exporter_probe_runs_delayed_total).");
  d.RegisterTail(flags, "List the probe kinds and exit.");
  auto args = flags.Parse(argc, argv);
  if (auto exit = FinishFlags(flags, args, d)) return *exit;
  ExporterOptions options{config_file, d.listen[0], d.web};
  {
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(max_in_flight.c_str(), &end, 10);
    if (max_in_flight.empty() || max_in_flight[0] == '-' || *end != '\0' || errno != 0 || n < 1 ||
        n > 1000000) {
      std::fprintf(stderr,
                   "failover_exporter: flag --probe.max-in-flight: expected a number from 1 to "
                   "1000000, not \"%s\"\n",
                   max_in_flight.c_str());
      return 2;
    }
    options.max_in_flight = static_cast<size_t>(n);
  }
  if (!args->empty()) {
    std::fprintf(stderr, "failover_exporter: unexpected argument \"%s\" (see --help)\n",
                 (*args)[0].c_str());
    return 2;
  }
  if (auto exit = VersionAndLogging(d)) return *exit;

  ProberRegistry registry;
  RegisterBuiltinProbers(registry);
  if (list_kinds) {
    std::fputs(registry.Listing("", 8).c_str(), stdout);
    return 0;
  }
  // libcurl is initialised by the first probe that uses it (exporter/curl_multi.cc).
  if (d.check) {
    auto cfg = LoadExporterConfigFile(config_file, registry);
    if (!cfg) {
      std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
      return 1;
    }
    if (auto exit = CheckWebConfigFile(d.web.config_file)) return *exit;
    std::printf("%s: OK, %zu probes in %zu regions\n", config_file.c_str(), cfg->probes.size(),
                cfg->regions.size());
    return 0;
  }

  std::optional<Exporter> exporter;
  return RunDaemon(
      d.program,
      [&] {
        exporter.emplace(options, registry, SystemClock::Get());
        return exporter->Start();
      },
      [&] { (void)exporter->Reload(); }, [&] { exporter->Stop(); });
}
