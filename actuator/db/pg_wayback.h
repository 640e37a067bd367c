// The way back for PostgreSQL (issue 17): the divergence report (timelines, LSNs and the old
// primary's WAL), rejoin with pg_rewind and the switchover parts. Called by the postgres
// Database (db/postgres.cc); see docs/actuator-steps.md (db_divergence, db_rejoin,
// db_switchover).
#pragma once

#include <string>

#include "actuator/db/database.h"
#include "common/pg_conn.h"

namespace failover {

// Local access to a server's files, from its `postgres:` config: what db_divergence (WAL
// rows) and db_rejoin (pg_rewind) need on the database host.
struct PgLocal {
  std::string data_directory;  // empty: no local access
  std::string bin_dir;         // where pg_ctl, pg_rewind, pg_waldump are (empty: $PATH)
  std::string log_file;        // pg_ctl -l when db_rejoin starts the server
  std::string Program(const std::string& name) const {
    return bin_dir.empty() ? name : bin_dir + "/" + name;
  }
};

StepOutcome PgDivergence(const PgTarget& old_primary, const PgLocal& old_local,
                         const PgTarget& new_primary, MonoTime deadline);
StepOutcome PgRejoin(const PgTarget& self, const PgLocal& local, const PgTarget& source,
                     const RejoinOptions& options, MonoTime deadline);
// After the fence: the position this server has written (a primary) or replayed (a
// standby), for WaitApplied. details: position.
StepOutcome PgSwitchoverPosition(const PgTarget& self, MonoTime deadline);
StepOutcome PgWaitApplied(const PgTarget& self, const std::string& position, Duration timeout,
                          MonoTime deadline);

}  // namespace failover
