// The way back for MariaDB (issue 17): the divergence report, rejoin as a GTID replica and
// the switchover parts. Called by the mysql Database (db/mysql.cc); see
// docs/actuator-steps.md (db_divergence, db_rejoin, db_switchover).
#pragma once

#include "actuator/db/database.h"
#include "common/mysql_conn.h"

namespace failover {

StepOutcome MysqlDivergence(const MysqlTarget& old_primary, const MysqlTarget& new_primary,
                            MonoTime deadline);
StepOutcome MysqlRejoin(const MysqlTarget& self, const MysqlTarget& source,
                        const RejoinOptions& options, MonoTime deadline);
StepOutcome MysqlFenceForSwitchover(const MysqlTarget& self, MonoTime deadline);
StepOutcome MysqlWaitApplied(const MysqlTarget& self, const std::string& position, Duration timeout,
                             MonoTime deadline);

}  // namespace failover
