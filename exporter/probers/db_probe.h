// What the database probers (mysql, postgres) share: the replication metric families
// (one MetricDesc each, so both kinds land in the same family), label hygiene for error
// texts, and running a blocking probe on the worker pool with its deadline kept on the
// event loop.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sql.h"
#include "exporter/prober.h"

namespace failover {

extern const MetricDesc kReplicationLagSecondsMetric;
extern const MetricDesc kReplicationLagBytesMetric;
extern const MetricDesc kReplicationRunningMetric;
extern const MetricDesc kDbRoleMetric;
extern const MetricDesc kDbReadOnlyMetric;
extern const MetricDesc kReplicationLastErrorMetric;

// Longest `error` label value, in bytes (longer texts are cut and end in "...").
constexpr size_t kMaxErrorLabelBytes = 200;

// A label value made from a server's error text: valid UTF-8 (invalid bytes become '?'),
// whitespace runs (newlines included) become one space, at most kMaxErrorLabelBytes bytes,
// cut at a character boundary.
std::string ErrorLabelValue(std::string_view text);

// failover_db_role{role="primary"|"replica"} (1 for the current role, 0 for the other) and
// failover_db_read_only.
void AddRoleSamples(std::vector<Sample>& samples, bool primary, bool read_only);

// Runs `work(deadline)` on env.workers and hands its result to `done` on the loop thread.
// If no result has come by `deadline` (the database hangs, or every worker is busy with
// hanging databases), `done` gets a `timeout` failure at the deadline and the late result
// is dropped. `done` runs exactly once.
using BlockingProbe = std::function<ProbeResult(MonoTime deadline)>;
void RunOnWorkers(ProbeEnv& env, MonoTime deadline, Duration timeout, BlockingProbe work,
                  ProbeDone done);

}  // namespace failover
