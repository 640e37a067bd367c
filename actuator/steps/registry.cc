#include "actuator/steps/aurora_global_failover.h"
#include "actuator/steps/db_divergence.h"
#include "actuator/steps/db_fence.h"
#include "actuator/steps/db_promote.h"
#include "actuator/steps/db_rejoin.h"
#include "actuator/steps/db_switchover.h"
#include "actuator/steps/digitalocean_db_promote.h"
#include "actuator/steps/dns_update.h"
#include "actuator/steps/dns_weights.h"
#include "actuator/steps/exec.h"
#include "actuator/steps/http.h"
#include "actuator/steps/lb_pool.h"
#include "actuator/steps/pagerduty.h"
#include "actuator/steps/step.h"
#include "actuator/steps/wait.h"
#include "actuator/steps/wait_for.h"
#include "actuator/steps/writer_lease.h"

namespace failover {

void RegisterBuiltinSteps(StepRegistry& registry) {
  registry.Register(
      {"dns_update", "make a DNS record set hold exactly the given records", &NewDnsUpdateStep});
  registry.Register(
      {"dns_ttl", "lower (or set) the TTL of a record set, keeping its records", &NewDnsTtlStep});
  registry.Register({"lb_pool",
                     "put a load balancer's node, pool, origin or target in a state "
                     "(drain, disable, deregister, ...), waiting for a drain to end",
                     &NewLbPoolStep});
  registry.Register({"dns_weights",
                     "shift weight between weighted record sets in stages, checking a PromQL "
                     "condition after each; roll back when it fails",
                     &NewDnsWeightsStep});
  registry.Register({"http", "send an HTTP request and check the status", &NewHttpStep});
  registry.Register({"exec", "run a program (argv, no shell) with a timeout", &NewExecStep});
  registry.Register({"wait", "wait a fixed time", &NewWaitStep});
  registry.Register({"wait_for", "wait until a PromQL query returns a result", &NewWaitForStep});
  registry.Register({"pagerduty", "send a PagerDuty Events API v2 event", &NewPagerDutyStep});
  registry.Register({"aurora_global_failover",
                     "make a secondary the writer of an Aurora global database",
                     &NewAuroraGlobalFailoverStep});
  registry.Register({"digitalocean_db_promote",
                     "promote a DigitalOcean managed database read replica",
                     &NewDigitalOceanDbPromoteStep});
  registry.Register(
      {"db_promote", "promote a database replica to a writable primary", &NewDbPromoteStep});
  registry.Register({"db_fence", "make the old primary database read-only", &NewDbFenceStep});
  registry.Register({"writer_lease",
                     "make a region the holder of the writer lease (waits for "
                     "the old lease to expire)",
                     &NewWriterLeaseStep});
  registry.Register(
      {"db_divergence", "report the transactions only the old primary has", &NewDbDivergenceStep});
  registry.Register(
      {"db_rejoin", "make the old primary a replica of the new one", &NewDbRejoinStep});
  registry.Register({"db_switchover", "planned zero-loss move of the primary to a replica",
                     &NewDbSwitchoverStep});
}

}  // namespace failover
