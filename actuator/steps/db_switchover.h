// db_switchover: a planned move of the primary with zero loss.
//   db_switchover: {primary: us-east-db, target: eu-west-db, replicas: [other-db],
//                   replication_user: repl, replication_password_file: ...,
//                   catch_up_timeout: 30s}
// 1. fences the primary (read-only, client sessions killed), 2. waits until the target
// applied everything the primary wrote (catch_up_timeout), 3. (the writer lease: not yet,
// see docs/actuator-steps.md), 4. promotes the target, 5. rejoins the old primary and the
// listed replicas as replicas of the target. If the target does not catch up, the
// primary is made writable again and the step fails saying so. See docs/actuator-steps.md.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewDbSwitchoverStep(const YamlNode& body,
                                                  const StepFactoryContext& ctx);

}  // namespace failover
