// `postgres:` probes: replication state of a PostgreSQL server (standby: receive/replay
// position and lag; primary: every standby in pg_stat_replication), one connection per
// probe kept between runs, driven non-blocking on the event loop up to the run's deadline.
#pragma once

#include <optional>
#include <vector>

#include "exporter/prober.h"
#include "exporter/probers/db_probe.h"

namespace failover {

Result<std::shared_ptr<Prober>> NewPostgresProber(const YamlNode& node, const ProberContext& ctx);

// The SQL one run sends: two statements in one round trip. The first returns one row
// (columns in_recovery, read_only, receive_replay_bytes, replay_age_seconds, server_time,
// receiver_pid, receiver_status, replay_paused); the second one row per pg_stat_replication entry
// (application_name, client_addr, client_port, pid, state, write_lag, flush_lag,
// replay_lag, write_bytes, flush_bytes, replay_bytes).
extern const char kPostgresStatusSql[];

// The metrics and verdict for one run from those two results (rules in docs/exporter.md).
// Values are libpq's text forms ("t"/"f", "on"/"off", numbers). `caught_up_at` (kept by
// the probe between runs on one connection; null: none) is the server time a run last found
// the standby streaming and caught up: it is set here, and bounds the lag of a later run
// that finds WAL still to replay.
ProbeResult PostgresProbeResult(const SqlRow& server, const std::vector<SqlRow>& standbys,
                                std::optional<double>* caught_up_at = nullptr);

}  // namespace failover
