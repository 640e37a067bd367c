// failover_actuator: wiring only. See docs/actuator.md.
#include <malloc.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <vector>

#include "actuator/actuator.h"
#include "actuator/config.h"
#include "actuator/coordination/region_agent_config.h"
#include "actuator/journal.h"
#include "actuator/kinds.h"
#include "common/daemon.h"
#include "common/flags.h"
#include "common/http_client.h"
#include "common/web_config.h"

using namespace failover;

namespace {

int ExportJournal(const std::string& config_file, const std::string& journal_flag) {
  std::string path = journal_flag;
  std::vector<std::string> etcd_endpoints;
  std::string etcd_prefix = "/failover/";
  if (path.empty()) {
    auto root = YamlNode::LoadFile(config_file);
    if (!root) {
      std::fprintf(stderr, "%s\n", root.error().message.c_str());
      return 1;
    }
    path = "/var/lib/failover/journal.db";
    // journal: PATH | {path: PATH} | {etcd: {endpoints: [...], prefix: ...}}
    auto fail = [](const Error& e) {
      std::fprintf(stderr, "%s\n", e.message.c_str());
      return 1;
    };
    if (auto j = root->Get("journal")) {
      std::optional<YamlNode> p = j->IsMap() ? j->Get("path") : j;
      std::optional<YamlNode> etcd = j->IsMap() ? j->Get("etcd") : std::nullopt;
      if (p) {
        auto s = p->AsString();
        if (!s) return fail(s.error());
        path = *s;
      } else if (etcd) {
        auto eps = etcd->Require("endpoints");
        if (!eps) return fail(eps.error());
        auto items = eps->Items();
        if (!items) return fail(items.error());
        for (const auto& it : *items) {
          auto u = it.AsString();
          if (!u) return fail(u.error());
          etcd_endpoints.push_back(*u);
        }
        if (auto pf = etcd->Get("prefix")) {
          auto s = pf->AsString();
          if (!s) return fail(s.error());
          etcd_prefix = *s;
        }
      }
    }
  }
  if (!etcd_endpoints.empty()) InitCurl();
  CurlHttpClient http;
  auto journal = etcd_endpoints.empty() ? OpenSqliteJournal(path)
                                        : OpenEtcdJournal(http, etcd_endpoints, etcd_prefix);
  if (!journal) {
    std::fprintf(stderr, "failover_actuator: %s\n", journal.error().message.c_str());
    return 1;
  }
  if (auto s = (*journal)->ExportJsonLines(std::cout); !s) {
    std::fprintf(stderr, "failover_actuator: %s\n", s.error().message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // glibc gives every thread that allocates its own arena; the HTTP server's worker
  // threads would each keep one holding a /metrics page. Two arenas are plenty here.
  mallopt(M_ARENA_MAX, 2);
  DaemonFlags d("failover_actuator", "actuator.yml", ":9808");
  const std::string& config_file = d.config_file;
  bool& list_kinds = d.list_kinds;
  std::string journal_path;
  bool dry_run = false;
  Flags flags(d.program,
              "Receives Alertmanager webhooks on POST /webhook and runs the configured failover\n"
              "runbooks with guards, approvals, cooldowns and a durable journal.\n"
              "Reload with SIGHUP or POST (or PUT) /-/reload.\n\n"
              "Commands:\n"
              "  journal export    print the journal as JSON lines (for audits) and exit");
  d.RegisterHead(flags, "Address for the webhook, API, status page and /metrics.", 16);
  flags.Bool("dry-run", &dry_run,
             "Force every runbook into dry-run: render and record, change nothing.");
  flags.String("journal.path", &journal_path,
               "journal export: the journal file (default: from the config).");
  d.RegisterTail(flags, "List the step kinds and exit.");
  auto args = flags.Parse(argc, argv);
  if (auto exit = FinishFlags(flags, args, d)) return *exit;
  if (auto exit = VersionAndLogging(d)) return *exit;
  if (!args->empty()) {
    if (*args == std::vector<std::string>{"journal", "export"}) {
      return ExportJournal(config_file, journal_path);
    }
    std::fprintf(stderr, "failover_actuator: unknown command \"%s\" (see --help)\n",
                 (*args)[0].c_str());
    return 2;
  }
  if (list_kinds) {
    std::fputs(ListActuatorKinds().c_str(), stdout);
    return 0;
  }
  InitCurl();
  CurlHttpClient http;
  if (d.check) {
    StepRegistry steps;
    RegisterBuiltinSteps(steps);
    ConfigDeps deps;
    deps.steps = &steps;
    deps.provider_ctx.http = &http;
    deps.provider_ctx.clock = &SystemClock::Get();
    auto cfg = LoadActuatorConfigFile(config_file, deps);
    if (!cfg) {
      std::fprintf(stderr, "%s\n", cfg.error().message.c_str());
      return 1;
    }
    auto listener_auth = [&](const WebConfig& wc) {
      return CheckListenerAuth(*cfg, !wc.basic_auth_users.empty());
    };
    if (auto exit = CheckWebConfigFile(d.web.config_file, listener_auth)) return *exit;
    std::printf(
        "%s: OK, %zu runbooks, %zu providers, %zu load balancers%s\n", config_file.c_str(),
        cfg->runbooks.size(), cfg->providers.size(), cfg->load_balancers.size(),
        cfg->region_agent ? (", region agent of " + cfg->region_agent->region).c_str() : "");
    return 0;
  }

  std::optional<Actuator> actuator;
  return RunDaemon(
      d.program,
      [&] {
        actuator.emplace(ActuatorOptions{config_file, d.listen[0], dry_run, d.web},
                         SystemClock::Get(), http);
        return actuator->Start();
      },
      [&] { (void)actuator->Reload(); }, [&] { actuator->Stop(); });
}
