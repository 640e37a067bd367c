#pragma once
// What `failover_actuator --list-kinds` prints: every family of kinds a config can name
// (steps, DNS providers, load-balancer providers, databases), each from its own registry.

#include <string>

namespace failover {

std::string ListActuatorKinds();

}  // namespace failover
