// Stage "dedup" (actuator/stages/dedup.h): one execution per runbook and alert occurrence,
// decided by the journal in the accepting transaction.
#include "actuator/stages/dedup.h"

#include "tests/actuator/stages/stage_fixture.h"

namespace failover {
namespace {

class DedupTest : public StageTest {};

TEST_F(DedupTest, AResendOfTheSameOccurrenceIsADuplicateANewStartsAtIsNot) {
  Load(R"(  - name: failover-us-east
    match: {region: us-east}
    steps: [{wait: {duration: 1s}}]
)");
  Alert a;
  a.status = "firing";
  a.labels = {{"region", "us-east"}};
  a.fingerprint = "3f2a9c1d0b7e4a55";
  a.starts_at = "2026-11-21T22:40:00Z";
  const RunbookConfig& rb = Runbook("failover-us-east");
  EXPECT_EQ(DedupKey(rb, a), "failover-us-east|3f2a9c1d0b7e4a55|2026-11-21T22:40:00Z");

  auto candidate = [&](const std::string& id, const Alert& alert) {
    ExecutionRecord e;
    e.id = id;
    e.runbook = rb.name;
    e.dedup_key = DedupKey(rb, alert);
    return e;
  };
  WebhookRecord w;
  w.group_key = "{}:{alertname=\"RegionDown\"}";
  auto first = journal_->Accept(w, {candidate("e1", a)});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, std::vector<bool>{true});
  // Alertmanager's resend (or the other actuator's copy): nothing new is written.
  auto resend = journal_->Accept(w, {candidate("e2", a)});
  ASSERT_TRUE(resend);
  EXPECT_EQ(*resend, std::vector<bool>{false});
  EXPECT_FALSE(journal_->Get("e2").value().has_value());
  // The alert resolved and fired again: a new occurrence.
  Alert again = a;
  again.starts_at = "2026-11-21T23:05:00Z";
  auto next = journal_->Accept(w, {candidate("e3", again)});
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, std::vector<bool>{true});

  EXPECT_EQ(ApiDedupKey("20261121T224000Z-00a1b2"), "api|20261121T224000Z-00a1b2");
}

}  // namespace
}  // namespace failover
