// db_divergence: the transactions only the old primary has, compared with the new one
// (MariaDB GTIDs, MySQL 8 GTID sets, PostgreSQL commit LSNs), with the rows they changed.
//   db_divergence: {old_primary: us-east-db, new_primary: eu-west-db}
// Read-only on both servers. The report is in the step's details (the journal and
// GET /api/v1/executions/{id}); db_rejoin checks that it was taken. See
// docs/actuator-steps.md.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewDbDivergenceStep(const YamlNode& body,
                                                  const StepFactoryContext& ctx);

// The divergence reports taken by this process: the errant GTIDs listed for
// (execution, old primary id, new primary id). In memory: after a restart a rejoin that
// requires a report refuses until db_divergence runs again (it is read-only, so safe).
void RecordDivergenceReport(const std::string& execution_id, const std::string& old_id,
                            const std::string& new_id, std::vector<std::string> errant_gtids);
std::optional<std::vector<std::string>> FindDivergenceReport(const std::string& execution_id,
                                                             const std::string& old_id,
                                                             const std::string& new_id);

}  // namespace failover
