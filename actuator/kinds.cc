#include "actuator/kinds.h"

#include "actuator/db/database.h"
#include "actuator/dns/provider.h"
#include "actuator/lb/provider.h"
#include "actuator/steps/step.h"

namespace failover {

std::string ListActuatorKinds() {
  StepRegistry steps;
  RegisterBuiltinSteps(steps);
  DnsProviderRegistry dns;
  RegisterBuiltinDnsProviders(dns);
  LbProviderRegistry lbs;
  RegisterBuiltinLbProviders(lbs);
  DatabaseRegistry databases;
  RegisterBuiltinDatabases(databases);
  return "steps (runbooks' steps:):\n" + steps.Listing("  ", 24) + "DNS providers (providers:):\n" +
         dns.Listing("  ", 24) + "load-balancer providers (load_balancers:):\n" +
         lbs.Listing("  ", 24) + "databases (databases:):\n" + databases.Listing("  ", 24);
}

}  // namespace failover
