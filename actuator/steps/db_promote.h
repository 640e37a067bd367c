// db_promote: makes a replica the writable primary (MySQL/MariaDB, PostgreSQL), refusing
// when it is further behind than max_lag (the RPO guard).
//   db_promote: {database: eu-west-db, max_lag: 5s, catch_up_timeout: 30s}
// Reads first: a server that is already a writable primary is left alone ("nothing to
// do"). The lag seen is recorded in the details and as
// failover_actuator_promotion_lag_seconds{database}. See docs/actuator-steps.md.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewDbPromoteStep(const YamlNode& body, const StepFactoryContext& ctx);

}  // namespace failover
