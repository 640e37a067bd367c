// failover_actuator's configuration: webhook/API auth, Prometheus, journal, PagerDuty,
// DNS providers, runbooks. Validated completely at load time; errors name
// file:line:column and the key path.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actuator/coordination/writer_lease_config.h"
#include "actuator/dns/provider.h"
#include "actuator/exec_enums.h"
#include "actuator/lb/provider.h"
#include "actuator/router.h"
#include "actuator/steps/step.h"
#include "common/basic_auth.h"
#include "common/duration.h"
#include "common/secret.h"
#include "common/yaml.h"

namespace failover {

struct AuthConfig {
  std::optional<SecretRef> bearer_token;
  std::optional<BasicAuthConfig> basic_auth;
  bool configured() const { return bearer_token.has_value() || basic_auth.has_value(); }
};

struct GuardConfig {
  std::string promql;
  std::string message;
};

struct StepConfig {
  std::string kind;
  std::shared_ptr<Step> step;
};

struct RunbookConfig {
  std::string name;
  std::vector<Matcher> match;
  std::string on = "firing";        // firing | resolved
  ExecMode mode = ExecMode::kAuto;  // `mode:` auto | approve | dry-run
  Duration cooldown = std::chrono::minutes(30);
  std::string lock = "default";  // executions sharing a lock scope run one at a time
  std::vector<GuardConfig> guards;
  std::vector<StepConfig> steps;
  std::vector<StepConfig> on_failure;
  // Whether an automatic execution counts against (and is stopped by) the global brake.
  // Default: true when any step changes something (a kind other than pagerduty, wait,
  // wait_for); `brake: false` opts out explicitly.
  bool brake = true;
  bool brake_explicit = false;  // `brake:` was set in the file
  bool ChangesSomething() const;
};

// journal: {etcd: {...}}: the journal and the execution locks in etcd (several actuators).
struct EtcdJournalConfig {
  std::vector<std::string> endpoints;       // http(s)://host:port, tried in turn
  Duration ttl = std::chrono::seconds(15);  // lease of an execution lock
  std::string prefix = "/failover/";        // every key starts with it; ends with "/"
  bool operator==(const EtcdJournalConfig&) const = default;
};

struct RegionAgentConfig;  // actuator/coordination/region_agent_config.h

struct ActuatorConfig {
  AuthConfig webhook_auth;
  size_t webhook_max_body_bytes = 1 << 20;
  AuthConfig api_auth;
  std::string prometheus_url;  // "" = none configured
  Duration prometheus_timeout = std::chrono::seconds(5);
  std::string journal_path = "/var/lib/failover/journal.db";
  std::string lock_dir;                           // default: <journal dir>/locks
  std::optional<EtcdJournalConfig> journal_etcd;  // set: etcd instead of SQLite + file locks
  // journal: {retention: 30d}: webhooks and finished executions older than this are pruned.
  Duration journal_retention = std::chrono::hours(24 * 30);
  // journal: {page_after: 1m}: a journal write failing this long pages PagerDuty (once).
  Duration journal_page_after = std::chrono::minutes(1);
  std::optional<SecretRef> pagerduty_routing_key;
  std::string pagerduty_url = "https://events.pagerduty.com/v2/enqueue";
  // approval_timeout: a pending approval not decided within it is rejected (and pages).
  // 0 = never.
  Duration approval_timeout = std::chrono::hours(1);
  // external_url: where people reach this actuator (links in PagerDuty events); "" = none.
  std::string external_url;
  std::string alertmanager_url;  // alertmanager: {url}: firing alerts on the console
  // console: {users: {name: viewer|operator}}: the role of each user of basic_auth_users
  // of --web.config.file (docs/actuator.md, "Console"). Unlisted users have no access.
  std::map<std::string, std::string> console_roles;
  int brake_max_executions = 1;  // automatic executions per window, all runbooks together
  Duration brake_window = std::chrono::hours(1);
  ProviderMap providers;
  LbProviderMap load_balancers;  // load_balancers: (the lb_pool step)
  DatabaseMap databases;
  std::vector<RunbookConfig> runbooks;
  std::optional<WriterLeaseConfig> writer_lease;          // writer_lease: (the runbooks')
  std::shared_ptr<const RegionAgentConfig> region_agent;  // region_agent: (null: none)

  const RunbookConfig* FindRunbook(const std::string& name) const;
};

struct ConfigDeps {
  const StepRegistry* steps = nullptr;
  DnsProviderContext provider_ctx;
};

Result<ActuatorConfig> LoadActuatorConfig(const YamlNode& root, const ConfigDeps& deps);
Result<ActuatorConfig> LoadActuatorConfigFile(const std::string& path, const ConfigDeps& deps);

}  // namespace failover
