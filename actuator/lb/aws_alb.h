// LbProvider for AWS Application/Network Load Balancer target groups, through the Elastic
// Load Balancing v2 Query API (version 2015-12-01), SigV4-signed for service
// elasticloadbalancing (docs/contracts/load-balancers.md):
//   load_balancers:
//     alb: {aws_alb: {region: us-east-1, profile: failover}}   # any AWS credential keys
//   step: {lb_pool: {load_balancer: alb, target_group_arn: arn:aws:elasticloadbalancing:...,
//                    target: i-0abc, port: 8080, state: deregistered}}
// state is registered|deregistered. Read: DescribeTargetHealth for the one target; apply:
// RegisterTargets / DeregisterTargets. A deregistered target is `draining` for the target
// group's deregistration delay (connections finish, new ones go elsewhere): the step waits
// until that ends. A registered target is settled once `healthy`. Credentials: the keys of
// AwsCredentialSource (common/aws_sigv4.h); url: instead of
// https://elasticloadbalancing.<region>.amazonaws.com (tests, proxies).
#pragma once

#include <memory>

#include "actuator/lb/provider.h"

namespace failover {

// `body` is the mapping under `aws_alb:`.
Result<std::shared_ptr<LbProvider>> NewAwsAlbProvider(const YamlNode& body,
                                                      const LbProviderContext& ctx);

}  // namespace failover
