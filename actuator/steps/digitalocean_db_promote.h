// digitalocean_db_promote: promotes a read replica of a DigitalOcean managed database to a
// standalone read/write cluster (docs/contracts/databases.md, "DigitalOcean managed databases"):
//   digitalocean_db_promote: {cluster_id: 9cc10173-e9ea-4176-9dbc-a4cee4c4ff30,
//                             replica_name: orders-replica-ams3,
//                             token_file: /etc/failover/do.token}
// Reads GET /v2/databases/{cluster_id}/replicas/{replica_name} first (promotion is
// irreversible and not idempotent); if it is listed, sends PUT .../promote (no body,
// 204), then polls the same GET every poll_interval (5s) until the replica is no longer
// listed under the cluster. A replica that is not listed before sending: by default a
// failure (a wrong id/name looks the same as an earlier promotion); `if_missing: ok` makes
// it a no-op so runbooks can be re-run after the promotion. 429 (Retry-After honoured) and
// 5xx on reads are retried within the step's deadline; a 5xx on the promotion itself is a
// retryable outcome (the next attempt reads again before sending). Optional: url (instead
// of https://api.digitalocean.com), token / token_env instead of token_file.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewDigitalOceanDbPromoteStep(const YamlNode& body,
                                                           const StepFactoryContext& ctx);

}  // namespace failover
