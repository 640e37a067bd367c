// The way back for MariaDB (issue 17): the divergence report, rejoin as a GTID replica and
// the switchover parts. Called by the mysql Database (db/mysql.cc); see
// docs/actuator-steps.md (db_divergence, db_rejoin, db_switchover).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actuator/db/database.h"
#include "common/mysql_conn.h"

namespace failover {

// One transaction of a binlog as the vendor's decoder prints it: the time of its GTID
// event and its row changes ({table, operation, values | before + after}).
struct BinlogTransaction {
  std::optional<double> timestamp;
  nlohmann::json rows = nlohmann::json::array();
};

// Parses `mariadb-binlog --base64-output=decode-rows --verbose` output (`mysql` false) or
// MySQL's `mysqlbinlog --base64-output=DECODE-ROWS --verbose` (`mysql` true) into its
// transactions by GTID ("0-1-17"; MySQL "uuid:n"). Column numbers (@1) become names through
// `columns` ("db.table" → names in order). At most `row_budget` rows (decremented); beyond
// it `truncated` is set.
std::map<std::string, BinlogTransaction> ParseBinlogText(
    const std::string& text, const std::map<std::string, std::vector<std::string>>& columns,
    size_t& row_budget, bool& truncated, bool mysql = false);

StepOutcome MysqlDivergence(const MysqlTarget& old_primary, const MysqlTarget& new_primary,
                            MonoTime deadline);
StepOutcome MysqlRejoin(const MysqlTarget& self, const MysqlTarget& source,
                        const RejoinOptions& options, MonoTime deadline);
StepOutcome MysqlFenceForSwitchover(const MysqlTarget& self, MonoTime deadline);
StepOutcome MysqlWaitApplied(const MysqlTarget& self, const std::string& position, Duration timeout,
                             MonoTime deadline);

}  // namespace failover
