// Database: what the db_promote and db_fence steps need from a database server. One
// implementation per kind in db/<kind>.{h,cc} (mysql: MySQL 8 and MariaDB; postgres),
// registered in db/registry.cc; configured under `databases:` in actuator.yml.
// Every call opens its own connection, bounded by the step's deadline, and is
// desired-state: it reads first and changes only what differs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "actuator/steps/step.h"
#include "common/clock.h"
#include "common/duration.h"
#include "common/kind_registry.h"
#include "common/result.h"
#include "common/secret.h"
#include "common/sql.h"
#include "common/yaml.h"

namespace failover {

struct PromoteOptions {
  Duration max_lag{0};           // refuse when the replica is further behind
  Duration catch_up_timeout{0};  // how long to wait for received changes to be applied
  // mysql only: refuse unless the replica had semi-synchronous replication enabled.
  bool require_semisync = false;
};

struct PromoteResult {
  StepOutcome outcome;
  // The lag the replica had when it was promoted (nullopt: not promoted, or not
  // measurable because its source was unreachable).
  std::optional<double> lag_seconds;
};

// How db_rejoin (and db_switchover's re-pointing) makes a server a replica of another.
struct RejoinOptions {
  std::string errant = "refuse";  // refuse | discard: transactions only this server has
  // The errant transactions the execution's divergence report listed for this pair
  // (GTIDs); nullopt: no report taken. With require_report, a rejoin refuses unless every
  // errant transaction found now is in it.
  std::optional<std::vector<std::string>> reported;
  bool require_report = true;
  std::string source_address;  // host:port the replica connects to (default: the source's)
  std::string user;            // replication user on the source
  std::optional<SecretRef> password;
  Duration catch_up_timeout{std::chrono::seconds(30)};
  // Data-directory rejoin (PostgreSQL pg_rewind): the local commands and paths.
  std::string data_directory;
  std::string pg_ctl = "pg_ctl";
  std::string pg_rewind = "pg_rewind";
};

struct FenceResult {
  StepOutcome outcome;
  bool unreachable = false;  // could not connect at all: the step applies on_unreachable
};

// What the region agent (actuator/coordination/region_agent.h) reads each tick.
struct WriteState {
  bool read_only = false;  // refuses writes as a fence leaves it (MySQL: super_read_only too)
  bool replica = false;    // replicates from another server (MySQL) / in recovery (PostgreSQL)
  nlohmann::json details = nlohmann::json::object();
};

class Database {
 public:
  virtual ~Database() = default;
  virtual const std::string& kind() const = 0;  // mysql | postgres
  // Where the server is, for messages: "127.0.0.1:3307". Never a secret.
  virtual const std::string& where() const = 0;
  // Kind, address, user for Render(): never the password.
  virtual nlohmann::json Describe() const = 0;
  // Makes this replica a writable primary (no-op if it already is one).
  virtual PromoteResult Promote(const PromoteOptions& options, MonoTime deadline) = 0;
  // Makes this server refuse writes (no-op if it already does).
  virtual FenceResult Fence(MonoTime deadline) = 0;

  // The region agent's calls. Reads whether the server takes writes; an error when it
  // cannot be reached or answers wrongly.
  virtual Result<WriteState> ReadWriteState(MonoTime deadline) = 0;
  // Fence(), then ends every client session but its own, the replication and the system
  // threads, so no open transaction keeps writing. details.terminated_sessions: how many.
  virtual FenceResult FenceAndEvict(MonoTime deadline) = 0;
  // Makes a read-only primary writable again; refuses a replica (promoting one is
  // db_promote's job). No-op when it is writable.
  virtual StepOutcome Unfence(MonoTime deadline) = 0;

  // ---- The way back (issue 17): db_divergence, db_rejoin, db_switchover. The defaults
  // (db/wayback.cc) fail the step naming the kind; mysql: db/mysql_wayback.cc; postgres:
  // db/pg_wayback.cc. ----
  // this = the old primary. Lists the transactions only it has, compared with
  // `new_primary`, in details["errant"] (and details["errant_gtids"]: GTIDs, for PostgreSQL
  // the commit LSNs).
  virtual StepOutcome Divergence(Database& new_primary, MonoTime deadline);
  // this = the old primary (or a replica): makes it a read-only replica of `source` and
  // verifies that it catches up. Running it again on a replica of `source` changes nothing.
  virtual StepOutcome Rejoin(Database& source, const RejoinOptions& options, MonoTime deadline);
  // this = the current primary of a switchover: read-only, client sessions killed; the
  // position it has written in details["position"]. An aborted switchover undoes it with
  // Unfence() above.
  virtual StepOutcome FenceForSwitchover(MonoTime deadline);
  // this = the switchover target: waits at most `timeout` until it applied `position`.
  virtual StepOutcome WaitApplied(const std::string& position, Duration timeout, MonoTime deadline);
};

using DatabaseFactory = std::function<Result<std::shared_ptr<Database>>(const YamlNode& body)>;

// A kind's name is the key under databases.<id>: mysql, postgres.
using DatabaseRegistry = KindRegistry<DatabaseFactory>;
using DatabaseKind = DatabaseRegistry::Kind;

// The single list of database kinds (db/registry.cc).
void RegisterBuiltinDatabases(DatabaseRegistry& registry);

// Parses the `databases:` section: id → {<kind>: {...}}.
Result<DatabaseMap> LoadDatabases(const YamlNode& section);

// The `database:` key of a step (or another key naming a database, such as db_rejoin's
// `source:`): an id under `databases:`; unknown ids are a located config error listing the
// known ones. Sets `id`.
Result<std::shared_ptr<Database>> LookupDatabase(const YamlNode& body,
                                                 const StepFactoryContext& ctx, std::string& id,
                                                 std::string_view key = "database");

// Two keys of a step naming two different databases of the same kind (db_switchover's
// primary and target, db_rejoin's database and source, ...): LookupDatabase for each, then
// refuses (located at `second_key`) the same id twice or two kinds. Sets both ids.
struct DatabasePair {
  std::shared_ptr<Database> first, second;
};
Result<DatabasePair> LookupDatabasePair(const YamlNode& body, const StepFactoryContext& ctx,
                                        std::string_view first_key, std::string& first_id,
                                        std::string_view second_key, std::string& second_id);

// ParseStepCommon for a database step that waits for a catch-up: refuses (located at
// catch_up_timeout, or at the step) a catch_up_timeout that is not shorter than the step's
// timeout.
Result<StepCommon> ParseStepCommonWithCatchUp(const YamlNode& body, Duration catch_up_timeout);

// The step's deadline on the steady clock the database clients use (a test's fake clock
// only says how much time is left).
MonoTime DatabaseDeadline(const StepContext& ctx);

// A lag for messages: "3600s", "1.5s" (one decimal).
std::string FormatLag(double seconds);

// The outcome of a failed database call: refused statements and credentials fail the step,
// lost connections and timeouts are retryable.
StepOutcome OutcomeOf(const SqlFailure& failure);

// The outcome of a failed connection: retryable, but refused credentials fail the step.
inline StepOutcome ConnectFailure(const SqlFailure& failure) {
  StepOutcome o = StepOutcome::Retry("cannot connect to " + failure.detail);
  if (failure.reason == "auth_failed") o.status = StepStatus::kFailed;
  return o;
}

// Connects (`connect()`, a SqlOutcome) and reads the server's state (`read()`, a
// SqlOutcome of it); when either fails, nullopt, with `outcome` saying why and
// `*unreachable` (when given) whether the server did not answer at all.
template <typename ConnectFn, typename ReadFn>
auto ConnectAndRead(ConnectFn connect, ReadFn read, StepOutcome& outcome,
                    bool* unreachable = nullptr) -> std::decay_t<decltype(read().value)> {
  if (auto c = connect(); !c) {
    if (unreachable != nullptr) *unreachable = c.error().unreachable();
    outcome = ConnectFailure(c.error());
    return std::nullopt;
  }
  auto state = read();
  if (!state) outcome = OutcomeOf(state.error());
  return std::move(state.value);
}

// Seconds from now until `deadline` (0 when past).
double SecondsLeft(MonoTime deadline);

}  // namespace failover
