// Database for PostgreSQL 15 (docs/contracts/databases.md):
//   databases:
//     eu-west-pg: {postgres: {conninfo: "host=127.0.0.1 port=5433 user=failover dbname=postgres",
//                             password_file: ...}}
#pragma once

#include <memory>

#include "actuator/db/database.h"

namespace failover {

// `body` is the mapping under `postgres:`.
Result<std::shared_ptr<Database>> NewPostgresDatabase(const YamlNode& body);

}  // namespace failover
