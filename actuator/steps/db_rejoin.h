// db_rejoin: makes the old primary a read-only replica of the new one and verifies that
// it catches up (MariaDB: CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos).
//   db_rejoin: {database: us-east-db, source: eu-west-db, replication_user: repl,
//               replication_password_file: /etc/failover/repl.password, errant: refuse,
//               require_report: true, catch_up_timeout: 30s}
// Refuses without this execution's db_divergence report for the pair (unless
// require_report: false); errant transactions: refuse (default) or discard. A server that
// already replicates from the source is left alone. See docs/actuator-steps.md.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "actuator/steps/step.h"
#include "common/duration.h"
#include "common/secret.h"

namespace failover {

struct RejoinOptions;

Result<std::unique_ptr<Step>> NewDbRejoinStep(const YamlNode& body, const StepFactoryContext& ctx);

// The replication keys db_rejoin shares with db_switchover.
struct ReplicationSpec {
  std::string user;                   // replication_user (not empty)
  std::optional<SecretRef> password;  // replication_password(_file|_env)
  std::string source_address;         // host:port the replica connects to; empty: the source's
  Duration catch_up_timeout = std::chrono::seconds(30);
};

// Reads replication_user, replication_password(_file|_env), source_address and
// catch_up_timeout.
Result<ReplicationSpec> ParseReplicationSpec(const YamlNode& body);

// RejoinOptions with these keys set, the others at their defaults.
RejoinOptions RejoinOptionsFor(const ReplicationSpec& spec);

}  // namespace failover
