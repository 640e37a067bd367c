// `cloudwatch:` probes: replication lag that only CloudWatch knows (Aurora global databases'
// AuroraGlobalDBReplicationLag, DynamoDB global tables' ReplicationLatency, ...), read with
// GetMetricData through CloudWatch's Query API (POST /, form-encoded, Version=2010-08-01,
// SigV4 service `monitoring`; docs/contracts/cloudwatch.md). Exported as
// failover_replication_lag_seconds (kind="cloudwatch"), with the age of the datapoint it
// comes from (failover_replication_sample_age_seconds). A datapoint older than max_age, or
// none, is no lag value at all: the probe fails (sample_stale, no_datapoints).
//
//   cloudwatch:
//     region: us-west-2                   # the AWS region asked (endpoint and signature)
//     period: 60s                         # default 60s: 1s, 5s, 10s, 30s or n x 60s
//     stat: Maximum                       # default Maximum
//     max_age: 5m                         # default 5 periods
//     metrics:
//       - namespace: AWS/RDS
//         metric_name: AuroraGlobalDBReplicationLag
//         dimensions: {DBClusterIdentifier: orders-west}
//         # unit: Milliseconds            # known for the two lag metrics above
//         # labels: {cluster: orders-west} # default: the dimensions, in snake_case
//     # credentials: as for the route53 provider (access_key_id*, profile, credential_source)
#pragma once

#include "exporter/prober.h"

namespace failover {

extern const MetricDesc kReplicationSampleAgeMetric;

Result<std::shared_ptr<Prober>> NewCloudWatchProber(const YamlNode& node, const ProberContext& ctx);

// "DBClusterIdentifier" -> "db_cluster_identifier", "ReceivingRegion" -> "receiving_region":
// the default label name of a dimension.
std::string SnakeCase(const std::string& name);

}  // namespace failover
