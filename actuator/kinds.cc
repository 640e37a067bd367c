#include "actuator/kinds.h"

#include <algorithm>

#include "actuator/db/database.h"
#include "actuator/dns/provider.h"
#include "actuator/lb/provider.h"
#include "actuator/steps/step.h"

namespace failover {
namespace {

void Family(std::string& out, const std::string& title, std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  out += title + ":\n";
  for (const auto& n : names) out += "  " + n + "\n";
}

}  // namespace

std::string ListActuatorKinds() {
  std::string out = "steps (runbooks' steps:):\n";
  StepRegistry steps;
  RegisterBuiltinSteps(steps);
  for (const std::string& k : steps.Names()) {
    std::string name = "  " + k;
    if (name.size() < 26) name.resize(26, ' ');
    out += name + " " + steps.Find(k)->description + "\n";
  }
  std::vector<std::string> names;
  for (const auto& k : BuiltinDnsProviders()) names.push_back(k.name);
  Family(out, "DNS providers (providers:)", names);
  names.clear();
  for (const auto& k : BuiltinLbProviders()) names.push_back(k.name);
  Family(out, "load-balancer providers (load_balancers:)", names);
  names.clear();
  for (const auto& k : BuiltinDatabases()) names.push_back(k.name);
  Family(out, "databases (databases:)", names);
  return out;
}

}  // namespace failover
