// What both daemons (exporter/main.cc, actuator/main.cc) share: the flags every one takes,
// their parsing, the log set-up, the standard routes (/-/healthy, /-/ready, /-/reload) and
// the run from start-up to shutdown. Each daemon adds its own flags, routes and commands.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/flags.h"
#include "common/http_server.h"
#include "common/metrics_format.h"
#include "common/result.h"
#include "common/web_config.h"

namespace failover {

struct DaemonFlags {
  DaemonFlags(std::string program_name, std::string default_config, std::string default_listen)
      : program(std::move(program_name)),
        config_file(std::move(default_config)),
        listen{std::move(default_listen)} {}

  std::string program;  // "failover_exporter": error messages and --version start with it
  std::string config_file;
  std::vector<std::string> listen;
  std::string level = "info";
  std::string format = "logfmt";
  bool check = false, version = false, list_kinds = false;
  WebFlags web_flags;
  WebOptions web;  // from the --web.* flags, after FinishFlags()

  // --config.file, --web.listen-address, the --web.* flags (`web_connections` as
  // WebFlags::Register takes it) and --config.check.
  void RegisterHead(Flags& flags, const std::string& listen_help, int web_connections);
  // --log.level, --log.format, --list-kinds and --version.
  void RegisterTail(Flags& flags, const std::string& list_kinds_help);
};

// After Flags::Parse: a parse error (exit 2), --help (the usage; exit 0), the --web.* flags
// (exit 2 when invalid). nullopt: go on.
std::optional<int> FinishFlags(const Flags& flags, const Result<std::vector<std::string>>& args,
                               DaemonFlags& d);

// --version (printed; exit 0), then --log.level and --log.format (exit 2 when invalid; else
// the log is configured). nullopt: go on.
std::optional<int> VersionAndLogging(const DaemonFlags& d);

// --config.check of --web.config.file, when one is given: loads it, runs `also` on it (a
// daemon's own checks), and prints "<file>: OK[, TLS][, basic auth]"; an error is printed
// and gives exit 1. nullopt: go on.
std::optional<int> CheckWebConfigFile(const std::string& file,
                                      const std::function<Status(const WebConfig&)>& also = {});

// GET /-/healthy ("Healthy."), GET /-/ready ("Ready." while `ready` says so, else 503
// "Not ready."), and POST and PUT /-/reload (Prometheus takes both): 200 "config
// reloaded", or 500 with `reload`'s error.
std::vector<HttpServer::Route> StandardRoutes(std::function<bool()> ready,
                                              std::function<Status()> reload);

// OpenMetrics _created for a daemon's own counters (the families starting with `prefix`):
// they count from `started` (Unix seconds).
CreatedLookup CreatedSince(std::string prefix, double started);

// Blocks the daemon signals (before any thread starts), logs "starting <program>" and runs
// `start` (which makes the daemon and starts it; exit 1 when it fails), then waits for
// SIGTERM or SIGINT, running `reload` on SIGHUP, and at last `stop`. Exit 0.
int RunDaemon(const std::string& program, const std::function<Status()>& start,
              const std::function<void()>& reload, const std::function<void()>& stop);

}  // namespace failover
