// The defaults of the way-back methods of Database (database.h): a kind that does not
// implement one fails the step and says which kind and which step.
#include "actuator/db/database.h"

namespace failover {
namespace {

StepOutcome NotSupported(const Database& db, const std::string& what) {
  return StepOutcome::Fail(what + " does not support databases of kind " + db.kind() + " (" +
                           db.where() + ")");
}

}  // namespace

StepOutcome Database::Divergence(Database&, MonoTime) {
  return NotSupported(*this, "db_divergence");
}
StepOutcome Database::Rejoin(Database&, const RejoinOptions&, MonoTime) {
  return NotSupported(*this, "db_rejoin");
}
StepOutcome Database::FenceForSwitchover(MonoTime) { return NotSupported(*this, "db_switchover"); }
StepOutcome Database::WaitApplied(const std::string&, Duration, MonoTime) {
  return NotSupported(*this, "db_switchover");
}

}  // namespace failover
