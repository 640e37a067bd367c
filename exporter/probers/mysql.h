// `mysql:` probes: replication state of a MySQL 8.0/8.4 or MariaDB server, read over one
// connection per probe (kept between runs, reopened after a failure), driven non-blocking
// on the event loop.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exporter/prober.h"
#include "exporter/probers/db_probe.h"

namespace failover {

Result<std::shared_ptr<Prober>> NewMysqlProber(const YamlNode& node, const ProberContext& ctx);

// What one run read from the server.
struct MysqlStatus {
  // Rows of SHOW REPLICA STATUS (MySQL 8.0.22+, MariaDB 10.5.1+) or SHOW SLAVE STATUS, by
  // column name: MySQL's Replica_*/Source_* names and the older Slave_*/Master_* names
  // (MariaDB, MySQL before 8.0.22) are both understood. No rows: not a replica.
  std::vector<SqlRow> replica_rows;
  bool read_only = false;
  // With a heartbeat table: seconds since the newest heartbeat (the source's row when the
  // replica status names the source's server id); nullopt when there is no row.
  std::optional<double> heartbeat_age_seconds;
  // The semi-synchronous replication variables the server has (lower-case name → value):
  // status rpl_semi_sync_{master,source}_{status,clients,no_tx},
  // rpl_semi_sync_{slave,replica}_status and system rpl_semi_sync_*_enabled. Empty when
  // semi-sync is not available (plugin not loaded) or could not be read.
  std::map<std::string, std::string> semisync;
};

struct MysqlHeartbeat {
  std::string table;    // "db.table", as configured
  Duration max_age{0};  // 0: no staleness check
};

// The metrics and verdict for one run (pure; see docs/exporter.md for the rules).
ProbeResult MysqlProbeResult(const MysqlStatus& status,
                             const std::optional<MysqlHeartbeat>& heartbeat);

}  // namespace failover
