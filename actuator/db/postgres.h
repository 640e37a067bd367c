// Database for PostgreSQL 15 (docs/contracts/databases.md); the way back in db/pg_wayback.h:
//   databases:
//     eu-west-pg: {postgres: {conninfo: "host=127.0.0.1 port=5433 user=failover dbname=postgres",
//                             password_file: ...,
//                             # local access for db_divergence's rows and db_rejoin's pg_rewind:
//                             data_directory: /var/lib/postgresql/15/main,
//                             bin_dir: /usr/lib/postgresql/15/bin}}
#pragma once

#include <memory>

#include "actuator/db/database.h"

namespace failover {

// `body` is the mapping under `postgres:`.
Result<std::shared_ptr<Database>> NewPostgresDatabase(const YamlNode& body);

}  // namespace failover
