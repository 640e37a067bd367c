#include "common/daemon.h"

#include <cstdio>
#include <iostream>

#include "common/build_info.h"
#include "common/log.h"
#include "common/signals.h"

namespace failover {

void DaemonFlags::RegisterHead(Flags& flags, const std::string& listen_help, int web_connections) {
  flags.String("config.file", &config_file, "Configuration file.");
  flags.Strings("web.listen-address", &listen, listen_help);
  web_flags.Register(flags, web_connections);
  flags.Bool("config.check", &check, "Validate the configuration file and exit (0 if valid).");
}

void DaemonFlags::RegisterTail(Flags& flags, const std::string& list_kinds_help) {
  flags.String("log.level", &level, "Only log messages at or above: debug, info, warn, error.");
  flags.String("log.format", &format, "Log line format: logfmt or json.");
  flags.Bool("list-kinds", &list_kinds, list_kinds_help);
  flags.Bool("version", &version, "Print version and exit.");
}

std::optional<int> FinishFlags(const Flags& flags, const Result<std::vector<std::string>>& args,
                               DaemonFlags& d) {
  if (!args) {
    std::fprintf(stderr, "%s: %s\n", d.program.c_str(), args.error().message.c_str());
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  auto web = d.web_flags.Parse();
  if (!web) {
    std::fprintf(stderr, "%s: %s\n", d.program.c_str(), web.error().message.c_str());
    return 2;
  }
  d.web = std::move(*web);
  d.web.more_listen_addresses.assign(d.listen.begin() + 1, d.listen.end());
  return std::nullopt;
}

std::optional<int> VersionAndLogging(const DaemonFlags& d) {
  if (d.version) {
    std::printf("%s", VersionText(d.program).c_str());
    return 0;
  }
  auto lv = log::ParseLevel(d.level);
  auto lf = log::ParseFormat(d.format);
  if (!lv || !lf) {
    std::fprintf(stderr, "%s: %s\n", d.program.c_str(),
                 (!lv ? lv.error() : lf.error()).message.c_str());
    return 2;
  }
  log::Configure(*lv, *lf);
  return std::nullopt;
}

std::optional<int> CheckWebConfigFile(const std::string& file,
                                      const std::function<Status(const WebConfig&)>& also) {
  if (file.empty()) return std::nullopt;
  auto wc = LoadWebConfigFile(file);
  Status s = wc ? (also ? also(*wc) : Status()) : Status(wc.error());
  if (!s) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  std::printf("%s: OK%s%s\n", file.c_str(), wc->tls ? ", TLS" : "",
              wc->basic_auth_users.empty() ? "" : ", basic auth");
  return std::nullopt;
}

std::vector<HttpServer::Route> StandardRoutes(std::function<bool()> ready,
                                              std::function<Status()> reload) {
  HttpHandler reload_handler = [reload = std::move(reload)](const HttpServerRequest&) {
    auto s = reload();
    if (!s)
      return HttpServerResponse::Text(500, "failed to reload config: " + s.error().message + "\n");
    return HttpServerResponse::Text(200, "config reloaded\n");
  };
  return {
      {"GET", "/-/healthy", false,
       [](const HttpServerRequest&) { return HttpServerResponse::Text(200, "Healthy.\n"); }},
      {"GET", "/-/ready", false,
       [ready = std::move(ready)](const HttpServerRequest&) {
         return ready() ? HttpServerResponse::Text(200, "Ready.\n")
                        : HttpServerResponse::Text(503, "Not ready.\n");
       }},
      {"POST", "/-/reload", false, reload_handler},
      // As Prometheus accepts it too.
      {"PUT", "/-/reload", false, reload_handler},
  };
}

CreatedLookup CreatedSince(std::string prefix, double started) {
  return [prefix = std::move(prefix), started](std::string_view family) -> std::optional<double> {
    if (family.rfind(prefix, 0) == 0) return started;
    return std::nullopt;
  };
}

int RunDaemon(const std::string& program, const std::function<Status()>& start,
              const std::function<void()>& reload, const std::function<void()>& stop) {
  sigset_t signals = BlockDaemonSignals();  // before any thread starts
  log::Info("starting " + program, {{"version", kVersion}, {"revision", kRevision}});
  if (auto s = start(); !s) {
    log::Error("cannot start", {{"err", s.error().message}});
    return 1;
  }
  // SIGHUP reloads; the daemon's Reload() logs and sets the reload metric itself.
  WaitForShutdown(signals, reload);
  stop();
  return 0;
}

}  // namespace failover
