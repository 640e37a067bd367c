// LbProvider for Linode NodeBalancer nodes, API v4 (docs/contracts/load-balancers.md):
//   load_balancers:
//     nb: {linode_nodebalancer: {token_file: /etc/failover/linode.token, nodebalancer_id: 123}}
//   step: {lb_pool: {load_balancer: nb, config_id: 4, node_id: 5, mode: drain}}
// mode is accept|reject|drain|backup. Read: GET .../configs/{configId}/nodes/{nodeId};
// apply: PUT the same path with {"mode": ...}. The token (token, token_file or token_env)
// is sent as a bearer token. Linode reports no open connections per node: drain is in
// effect once the node reads back as drain; the connections it still has end by themselves.
#pragma once

#include <memory>

#include "actuator/lb/provider.h"

namespace failover {

// `body` is the mapping under `linode_nodebalancer:`.
Result<std::shared_ptr<LbProvider>> NewLinodeNodeBalancerProvider(const YamlNode& body,
                                                                  const LbProviderContext& ctx);

}  // namespace failover
