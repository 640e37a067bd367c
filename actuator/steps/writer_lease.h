// writer_lease: makes a region the holder of the writer lease (docs/writer-lease.md).
//   writer_lease: {acquire: eu-west, timeout: 60s}
// Waits until the key <prefix>writer is absent (the old holder's lease expired or was
// released), then creates it for `acquire` on a fresh lease of writer_lease.ttl. Already
// held by `acquire`: nothing to do. Not acquired by the step's timeout: the step fails
// (not retried) naming the holder and the lease's remaining TTL. Needs the top-level
// writer_lease: section.
// handover: true (the default): while another region holds the key, the step writes
// <prefix>handover = {"to": region, "execution": id, "at": unix time} on a lease of the
// step's timeout; the holder's region agent fences its region, verifies its database is
// read-only and revokes its lease (actuator/coordination/region_agent.h). Once the step
// holds the lease (or gives up) it revokes the request's lease, which deletes the key.
// handover: false: only an expired or released lease moves.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewWriterLeaseStep(const YamlNode& body,
                                                 const StepFactoryContext& ctx);

}  // namespace failover
