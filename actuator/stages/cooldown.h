// Stage "cooldown" (acceptance, after route and dedup): once an execution of a runbook is
// accepted, further alerts for that runbook within its `cooldown:` are recorded
// `suppressed`, naming the execution that blocks them, and not run (counted
// `deduplicated`). What blocks: an execution of the runbook created within the window in
// a state that ran or may run (queued, pending_approval, running, succeeded, failed),
// never a dry-run one; a dry-run candidate is not subject to the cooldown. Within one
// group commit, what an earlier webhook of the group queued blocks as if it were
// committed, and within one webhook the first alert for a runbook blocks the others even
// without a cooldown (one execution per runbook and webhook).
#pragma once

#include <map>
#include <string>
#include <utility>

#include "actuator/config.h"
#include "actuator/journal.h"

namespace failover {

// One per group commit (Engine::CommitAccepts), used under the engine's accept lock.
class Cooldown {
 public:
  explicit Cooldown(Journal& journal) : journal_(journal) {}

  // A webhook of the group starts being decided.
  void BeginWebhook() { in_webhook_.clear(); }
  // The id of the execution whose cooldown the candidate `e` of `rb` (created at `now`)
  // falls in, "" when none. A journal error fails the webhook (it is answered 503).
  Result<std::string> Blocker(const RunbookConfig& rb, const ExecutionRecord& e, double now);
  // `e` goes ahead: later candidates of its runbook see it (not when it is a dry run).
  void Queued(const RunbookConfig& rb, const ExecutionRecord& e);
  // The webhook is decided and goes into the transaction: what it queued counts for the
  // later webhooks of the group (runbooks with a cooldown only).
  void EndWebhook();

  // Makes `e` the record of a suppressed alert: state suppressed, finished, and why.
  static void Suppress(ExecutionRecord& e, const RunbookConfig& rb, const std::string& blocker,
                       double now);

 private:
  Journal& journal_;
  // runbook -> (execution id, the runbook has a cooldown)
  std::map<std::string, std::pair<std::string, bool>> in_webhook_;
  std::map<std::string, std::string> in_group_;  // runbook -> execution id
};

}  // namespace failover
