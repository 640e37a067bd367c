// LbProvider for Cloudflare Load Balancing (docs/contracts/load-balancers.md):
//   load_balancers:
//     cf: {cloudflare_lb: {api_token_file: /etc/failover/cf.token,
//                          account_id: <32 hex>, zone_id: <32 hex, for load_balancer_id>}}
// A step changes one of:
//   - a pool:            {pool_id: P, enabled: false}
//   - an origin of it:   {pool_id: P, origin: us-east, enabled: false, weight: 0.5}
//   - the load balancer: {load_balancer_id: L, default_pools: [P1, P2], fallback_pool: P2}
// Pools: GET/PATCH /accounts/{account_id}/load_balancers/pools/{pool_id} (an origin change
// PATCHes the pool's whole `origins` list as read, with that origin changed); load
// balancers: GET/PATCH /zones/{zone_id}/load_balancers/{id}. The API token (api_token,
// api_token_file or api_token_env) is sent as a bearer token. No drain state: a disabled
// pool or origin gets no new traffic at once (session affinity aside).
#pragma once

#include <memory>

#include "actuator/lb/provider.h"

namespace failover {

// `body` is the mapping under `cloudflare_lb:`.
Result<std::shared_ptr<LbProvider>> NewCloudflareLbProvider(const YamlNode& body,
                                                            const LbProviderContext& ctx);

}  // namespace failover
