// lb_pool: make one member of a load balancer's pool be in the given state (a Linode
// NodeBalancer node's mode, a Cloudflare pool or origin, an ALB target's registration, a
// DigitalOcean droplet), through any LbProvider (actuator/lb/provider.h), then read it
// back; where the load balancer drains by itself (ALB `draining`), wait for that to end.
//
//   - lb_pool: {load_balancer: nb, config_id: 4, node_id: 5, mode: drain,
//               wait_timeout: 5m, poll_interval: 5s, timeout: 10m}
//
// `load_balancer` names an entry of actuator.yml's `load_balancers:`; the other keys but
// wait, wait_timeout, poll_interval and the common ones are that provider's. See
// docs/actuator-steps.md.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewLbPoolStep(const YamlNode& body, const StepFactoryContext& ctx);

}  // namespace failover
