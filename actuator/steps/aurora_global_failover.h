// aurora_global_failover: makes a secondary cluster of an Aurora global database the
// writer, through the RDS Query API (docs/contracts/databases.md, "AWS RDS global clusters"):
//   aurora_global_failover: {global_cluster_id: orders, region: us-west-2,
//       target_cluster_arn: "arn:aws:rds:us-west-2:123456789012:cluster:orders-west",
//       mode: failover, access_key_id_file: ..., secret_access_key_file: ...,
//       timeout: 15m}
// mode failover (default) sends FailoverGlobalCluster with AllowDataLoss=true (the
// unplanned case: the primary region is down); mode switchover sends
// SwitchoverGlobalCluster (planned, no data loss). Reads DescribeGlobalClusters first:
// the target already the writer -> nothing sent; a failover to the target already under
// way -> not sent again (the action is not idempotent), just waited for. Then polls
// DescribeGlobalClusters every poll_interval (10s) until the target is the writer and no
// FailoverState is left, within the step timeout (default 15m). Optional: url (instead of
// https://rds.<region>.amazonaws.com), session_token*, credentials from the AWS_*
// environment variables when none are configured.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewAuroraGlobalFailoverStep(const YamlNode& body,
                                                          const StepFactoryContext& ctx);

}  // namespace failover
