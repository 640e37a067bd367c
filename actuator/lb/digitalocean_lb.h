// LbProvider for DigitalOcean load balancers (docs/contracts/load-balancers.md):
//   load_balancers:
//     dolb: {digitalocean_lb: {token_file: /etc/failover/do.token,
//                              load_balancer_id: 4de7ac8b-495b-4884-9a69-1050c6793cd6}}
//   step: {lb_pool: {load_balancer: dolb, droplet_id: 3164444, state: out}}
// state is in|out. Read: GET /v2/load_balancers/{id} (droplet_ids); in: POST
// /v2/load_balancers/{id}/droplets {"droplet_ids":[...]}; out: DELETE the same. The API
// has no drain state: a droplet taken out gets no new connections at once.
#pragma once

#include <memory>

#include "actuator/lb/provider.h"

namespace failover {

// `body` is the mapping under `digitalocean_lb:`.
Result<std::shared_ptr<LbProvider>> NewDigitalOceanLbProvider(const YamlNode& body,
                                                              const LbProviderContext& ctx);

}  // namespace failover
