// failover_exporter: wiring only. See docs/exporter.md.
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <iostream>

#include "common/build_info.h"
#include "common/flags.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/web_config.h"
#include "exporter/config.h"
#include "exporter/exporter.h"
#include "exporter/prober_registry.h"

using namespace failover;

int main(int argc, char** argv) {
  // glibc gives every thread that allocates its own arena; the HTTP server's worker
  // threads would each keep one holding a /metrics page. Two arenas are plenty here.
  mallopt(M_ARENA_MAX, 2);
  // glibc's default mmap threshold (128 KiB), but fixed: a scrape's snapshot of the
  // probes (~230 bytes each) is then its own mapping, returned to the system when the
  // answer is sent. The default threshold slides up after the first such free, and from
  // then on each arena keeps a hole of that size in its heap, resident between scrapes.
  mallopt(M_MMAP_THRESHOLD, 128 << 10);
  std::string config_file = "exporter.yml";
  std::vector<std::string> listen = {":9807"};
  std::string level = "info";
  std::string format = "logfmt";
  bool check = false, version = false, list_kinds = false;
  Flags flags("failover_exporter",
              "Probes every region (HTTP, TCP, ...) in the background and exposes the results\n"
              "for Prometheus on /metrics. Reload with SIGHUP or POST (or PUT) /-/reload.");
  flags.String("config.file", &config_file, "Configuration file.");
  flags.Strings("web.listen-address", &listen, "Address to listen on for /metrics and the UI.");
  WebFlags web_flags;
  web_flags.Register(flags, 8);
  flags.Bool("config.check", &check, "Validate the configuration file and exit (0 if valid).");
  flags.String("log.level", &level, "Only log messages at or above: debug, info, warn, error.");
  flags.String("log.format", &format, "Log line format: logfmt or json.");
  flags.Bool("list-kinds", &list_kinds, "List the probe kinds and exit.");
  flags.Bool("version", &version, "Print version and exit.");
  auto args = flags.Parse(argc, argv);
  if (!args) {
    std::fprintf(stderr, "failover_exporter: %s\n", args.error().message.c_str());
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  auto web = web_flags.Parse();
  if (!web) {
    std::fprintf(stderr, "failover_exporter: %s\n", web.error().message.c_str());
    return 2;
  }
  web->more_listen_addresses.assign(listen.begin() + 1, listen.end());
  if (!args->empty()) {
    std::fprintf(stderr, "failover_exporter: unexpected argument \"%s\" (see --help)\n",
                 (*args)[0].c_str());
    return 2;
  }
  if (version) {
    std::printf("%s", VersionText("failover_exporter").c_str());
    return 0;
  }
  auto lv = log::ParseLevel(level);
  auto lf = log::ParseFormat(format);
  if (!lv || !lf) {
    std::fprintf(stderr, "failover_exporter: %s\n",
                 (!lv ? lv.error() : lf.error()).message.c_str());
    return 2;
  }
  log::Configure(*lv, *lf);

  ProberRegistry registry;
  RegisterBuiltinProbers(registry);
  if (list_kinds) {
    for (const std::string& k : registry.Names()) {
      std::printf("%-8s %s\n", k.c_str(), registry.Find(k)->description.c_str());
    }
    return 0;
  }
  // libcurl is initialised by the first probe that uses it (exporter/curl_multi.cc).
  if (check) {
    auto cfg = LoadExporterConfigFile(config_file, registry);
    if (!cfg) {
      std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
      return 1;
    }
    if (!web->config_file.empty()) {
      auto wc = LoadWebConfigFile(web->config_file);
      if (!wc) {
        std::fprintf(stderr, "%s\n", wc.error().message.c_str());
        return 1;
      }
      std::printf("%s: OK%s%s\n", web->config_file.c_str(), wc->tls ? ", TLS" : "",
                  wc->basic_auth_users.empty() ? "" : ", basic auth");
    }
    std::printf("%s: OK, %zu probes in %zu regions\n", config_file.c_str(), cfg->probes.size(),
                cfg->regions.size());
    return 0;
  }

  sigset_t signals = BlockDaemonSignals();  // before any thread starts

  log::Info("starting failover_exporter", {{"version", kVersion}, {"revision", kRevision}});
  Exporter exporter({config_file, listen[0], *web}, registry, SystemClock::Get());
  if (auto s = exporter.Start(); !s) {
    log::Error("cannot start", {{"err", s.error().message}});
    return 1;
  }
  // SIGHUP reloads; Reload() logs and sets the reload metric itself.
  WaitForShutdown(signals, [&] { (void)exporter.Reload(); });
  exporter.Stop();
  return 0;
}
