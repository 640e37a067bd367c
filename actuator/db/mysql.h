// Database for MySQL 8 and MariaDB 10.11 (docs/contracts/databases.md):
//   databases:
//     eu-west-db: {mysql: {address: 127.0.0.1:3307, user: failover, password_file: ...}}
// The dialect (MariaDB or MySQL, and REPLICA or SLAVE statements) is detected from the
// server's version on every connection.
#pragma once

#include <memory>

#include "actuator/db/database.h"

namespace failover {

// `body` is the mapping under `mysql:`.
Result<std::shared_ptr<Database>> NewMysqlDatabase(const YamlNode& body);

}  // namespace failover
