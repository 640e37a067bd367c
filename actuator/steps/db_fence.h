// db_fence: makes the old primary refuse writes (MySQL super_read_only / MariaDB
// read_only; PostgreSQL default_transaction_read_only plus ending other sessions).
//   db_fence: {database: us-east-db, on_unreachable: continue}
// An unreachable server is the normal case in a region outage: with on_unreachable:
// continue (the default) the step succeeds and says so; with fail it is retryable.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewDbFenceStep(const YamlNode& body, const StepFactoryContext& ctx);

}  // namespace failover
