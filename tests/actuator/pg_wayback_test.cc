// db_divergence, db_rejoin and db_switchover against the real PostgreSQL pair of
// scripts/stack: after a failover with writes on both sides the report lists exactly the
// old primary's errant transactions with their rows; pg_rewind makes the old primary a
// standby of the new one (a second run changes nothing); a switchover whose target never
// catches up aborts and un-fences; a switchover loses nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "actuator/steps/db_divergence.h"
#include "actuator/steps/db_rejoin.h"
#include "actuator/steps/db_switchover.h"
#include "tests/actuator/postgres_pair.h"

namespace failover {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using wayback_test::Pg;

class PgWaybackTest : public wayback_test::PostgresPairTest {
 protected:
  Result<std::unique_ptr<Step>> Make(
      const std::string& yaml,
      Result<std::unique_ptr<Step>> (*factory)(const YamlNode&, const StepFactoryContext&)) {
    auto node = YamlNode::LoadString(yaml, "actuator.yml");
    if (!node) return node.error();
    return factory(*node, fctx_);
  }
  Result<std::unique_ptr<Step>> Divergence(const std::string& old_id = "us-east-pg") {
    return Make("{old_primary: " + old_id + ", new_primary: eu-west-pg, timeout: 60s}",
                NewDbDivergenceStep);
  }
  Result<std::unique_ptr<Step>> Rejoin(const std::string& extra,
                                       const std::string& id = "us-east-pg") {
    return Make("{database: " + id + ", source: eu-west-pg, timeout: 90s, catch_up_timeout: 30s, " +
                    ReplKeys() + extra + "}",
                NewDbRejoinStep);
  }
  Result<std::unique_ptr<Step>> Switchover(const std::string& catch_up) {
    return Make("{primary: us-east-pg, target: eu-west-pg, timeout: 90s, catch_up_timeout: " +
                    catch_up + ", " + ReplKeys() + "}",
                NewDbSwitchoverStep);
  }
  // Writes on both sides after the failover: two errant transactions on the old primary
  // (one insert; one insert with a quote plus an update of a shared row), two orders on the
  // new one.
  void SplitBrainWrites() {
    Pg old_primary(Primary());
    ASSERT_TRUE(old_primary.Insert("shared-1"));
    WaitCaughtUp();
    FailOver();
    ASSERT_TRUE(old_primary.Insert("lost-1"));
    old_primary.Q(
        "BEGIN; INSERT INTO orders (note) VALUES ('it''s lost-2'); "
        "UPDATE orders SET note = 'shared-1-changed' WHERE note = 'shared-1'; COMMIT");
    Pg new_primary(Standby());
    ASSERT_TRUE(new_primary.Insert("new-1"));
    ASSERT_TRUE(new_primary.Insert("new-2"));
  }
};

TEST_F(PgWaybackTest, DivergenceListsExactlyTheOldPrimarysErrantTransactionsWithTheirRows) {
  SplitBrainWrites();
  auto step = Divergence();
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("2 errant transaction(s) (3 row change(s))"));
  EXPECT_EQ(out.details["old_timeline"], 1);
  EXPECT_EQ(out.details["new_timeline"], 2);
  const auto& errant = out.details["errant"];
  ASSERT_EQ(errant.size(), 2u) << out.details.dump(2);
  std::vector<std::string> ids;
  for (const auto& tx : errant) {
    ids.push_back(tx["lsn"]);
    EXPECT_GT(tx["xid"].get<unsigned>(), 0u);
    EXPECT_THAT(tx.value("time", ""), ::testing::MatchesRegex("20[0-9-]+T[0-9:]+Z"));
    for (const auto& row : tx["rows"]) EXPECT_EQ(row["table"], "shop.public.orders");
  }
  EXPECT_EQ(out.details["errant_gtids"], nlohmann::json(ids));
  ASSERT_EQ(errant[0]["rows"].size(), 1u) << errant.dump(2);
  EXPECT_EQ(errant[0]["rows"][0]["operation"], "insert");
  EXPECT_EQ(errant[0]["rows"][0]["values"]["note"], "lost-1");
  EXPECT_FALSE(errant[0]["rows"][0]["values"]["id"].get<std::string>().empty());
  ASSERT_EQ(errant[1]["rows"].size(), 2u) << errant.dump(2);
  EXPECT_EQ(errant[1]["rows"][0]["values"]["note"], "it's lost-2");
  EXPECT_EQ(errant[1]["rows"][1]["operation"], "update");
  EXPECT_EQ(errant[1]["rows"][1]["after"]["note"], "shared-1-changed");
  // Nothing of the new primary's writes, nor of the shared history.
  EXPECT_THAT(out.details.dump(), Not(HasSubstr("new-1")));
  EXPECT_THAT(out.details.dump(), Not(HasSubstr("\"shared-1\"")));
  // db_rejoin can find the report of this execution.
  auto report = FindDivergenceReport("exec-1", "us-east-pg", "eu-west-pg");
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(*report, ids);
  // Read-only: the old primary is still a writable primary.
  Pg old_primary(Primary());
  EXPECT_EQ(old_primary.One("SELECT pg_is_in_recovery()"), "f");
  EXPECT_TRUE(old_primary.Insert("still-writable"));

  // Without local access to the old primary's WAL the step says what it needs.
  auto remote = Divergence("us-east-pg-remote");
  ASSERT_TRUE(remote) << remote.error().message;
  StepOutcome r = Run(**remote);
  EXPECT_EQ(r.status, StepStatus::kFailed) << r.message;
  EXPECT_THAT(r.message, HasSubstr("needs local access"));
}

TEST_F(PgWaybackTest, DivergenceFindsNothingWhenOnlyTheNewPrimaryWrote) {
  FailOver();
  ASSERT_TRUE(Pg(Standby()).Insert("new-1"));
  auto step = Divergence();
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("no errant transactions"));
  EXPECT_EQ(out.details["errant"].size(), 0u);
}

TEST_F(PgWaybackTest, RejoinRewindsTheOldPrimaryAndASecondRunDoesNothing) {
  SplitBrainWrites();
  // Refused while the errant transactions are not reported, and with errant: refuse;
  // the old primary is untouched.
  auto refuse = Rejoin("");
  ASSERT_TRUE(refuse) << refuse.error().message;
  StepOutcome r1 = Run(**refuse);
  EXPECT_EQ(r1.status, StepStatus::kFailed) << r1.message;
  EXPECT_THAT(r1.message, HasSubstr("no divergence report"));
  auto report = Divergence();
  ASSERT_TRUE(report) << report.error().message;
  StepOutcome rep = Run(**report);
  ASSERT_EQ(rep.status, StepStatus::kOk) << rep.message;
  StepOutcome r2 = Run(**refuse);
  EXPECT_EQ(r2.status, StepStatus::kFailed) << r2.message;
  EXPECT_THAT(r2.message, HasSubstr("2 errant transaction(s)"));
  EXPECT_THAT(r2.message, HasSubstr(rep.details["errant"][0]["lsn"].get<std::string>()));
  EXPECT_TRUE(Pg(Primary()).Insert("still-writable"));
  // That insert is a new errant transaction, not in the report: refused again.
  auto discard = Rejoin(", errant: discard");
  ASSERT_TRUE(discard) << discard.error().message;
  StepOutcome r3 = Run(**discard);
  EXPECT_EQ(r3.status, StepStatus::kFailed) << r3.message;
  EXPECT_THAT(r3.message, HasSubstr("not in the divergence report"));
  rep = Run(**report);
  ASSERT_EQ(rep.status, StepStatus::kOk) << rep.message;
  EXPECT_EQ(rep.details["errant"].size(), 3u);

  StepOutcome out = Run(**discard);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("rewound"));
  EXPECT_THAT(out.message, HasSubstr("3 errant transaction(s) discarded"));
  EXPECT_EQ(out.details["changed"], true);
  // The old primary is now a standby with exactly the new primary's data.
  Pg old_primary(Primary());
  EXPECT_EQ(old_primary.One("SELECT pg_is_in_recovery()"), "t");
  EXPECT_EQ(old_primary.One("SELECT status FROM pg_stat_wal_receiver"), "streaming");
  EXPECT_THAT(old_primary.Notes(), ElementsAre("shared-1", "new-1", "new-2"));
  ASSERT_TRUE(Pg(Standby()).Insert("after-rejoin"));
  EXPECT_TRUE(testing::WaitFor([&] { return old_primary.Notes().size() == 4; }));
  EXPECT_FALSE(old_primary.Insert("refused"));

  std::string pid = old_primary.One("SELECT pg_postmaster_start_time()::text");
  StepOutcome again = Run(**discard);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_THAT(again.message, HasSubstr("nothing to do"));
  EXPECT_EQ(again.details["changed"], false);
  EXPECT_EQ(old_primary.One("SELECT pg_postmaster_start_time()::text"), pid)
      << "the second run restarted the server";
}

TEST_F(PgWaybackTest, RejoinOfAStoppedOldPrimaryStillFindsItsErrantTransactions) {
  SplitBrainWrites();
  std::string as_pg = geteuid() == 0 ? "runuser -u postgres -- " : "";
  ASSERT_EQ(stack_->Shell("cd / && " + as_pg + wayback_test::PgBinDir() +
                          "/pg_ctl -D \"$PG_SOCKET_DIR/primary\" -m fast -w stop >/dev/null"),
            0);
  auto refuse = Rejoin(", require_report: false");
  ASSERT_TRUE(refuse) << refuse.error().message;
  StepOutcome r = Run(**refuse);
  EXPECT_EQ(r.status, StepStatus::kFailed) << r.message;
  EXPECT_THAT(r.message, HasSubstr("2 errant transaction(s) only it has"));
  auto discard = Rejoin(", require_report: false, errant: discard");
  ASSERT_TRUE(discard) << discard.error().message;
  StepOutcome out = Run(**discard);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("2 errant transaction(s) discarded"));
  Pg old_primary(Primary());
  EXPECT_EQ(old_primary.One("SELECT pg_is_in_recovery()"), "t");
  EXPECT_THAT(old_primary.Notes(), ElementsAre("shared-1", "new-1", "new-2"));
}

TEST_F(PgWaybackTest, RejoinWithoutLocalAccessRefusesAndChangesNothing) {
  FailOver();
  auto step = Rejoin(", require_report: false", "us-east-pg-remote");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("needs local access"));
  EXPECT_THAT(out.message, HasSubstr("data_directory"));
  Pg old_primary(Primary());
  EXPECT_EQ(old_primary.One("SELECT pg_is_in_recovery()"), "f");
  EXPECT_TRUE(old_primary.Insert("still-writable"));
}

TEST_F(PgWaybackTest, SwitchoverToATargetThatNeverCatchesUpAbortsAndUnfences) {
  Pg standby(Standby(), "postgres");
  standby.Q("SELECT pg_wal_replay_pause()");
  Pg primary(Primary());
  ASSERT_TRUE(primary.Insert("unapplied"));
  auto step = Switchover("2s");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("switchover aborted"));
  EXPECT_THAT(out.message, HasSubstr("did not apply"));
  EXPECT_THAT(out.message, HasSubstr("WAL replay is paused"));
  EXPECT_THAT(out.message, HasSubstr("us-east-pg un-fenced"));
  // The primary takes orders again; the target is still a standby.
  EXPECT_TRUE(primary.Insert("after-abort"));
  EXPECT_EQ(standby.One("SELECT pg_is_in_recovery()"), "t");
  standby.Q("SELECT pg_wal_replay_resume()");
  WaitCaughtUp();
  EXPECT_THAT(Pg(Standby()).Notes(), ElementsAre("unapplied", "after-abort"));
}

TEST_F(PgWaybackTest, SwitchoverLosesNothingAndRepointsTheOldPrimary) {
  Pg primary(Primary());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(primary.Insert("order-" + std::to_string(i)));
  auto step = Switchover("20s");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("switched over"));
  Pg target(Standby());
  auto on_new = target.Notes();
  ASSERT_EQ(on_new.size(), 20u);
  EXPECT_EQ(on_new.back(), "order-19");
  // The new primary takes writes; the old one refuses them and streams from it.
  ASSERT_TRUE(target.Insert("after-switchover"));
  EXPECT_FALSE(primary.Insert("must-fail"));
  EXPECT_TRUE(testing::WaitFor([&] { return primary.Notes().size() == 21; }));
  EXPECT_EQ(primary.One("SELECT pg_is_in_recovery()"), "t");

  StepOutcome again = Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_THAT(again.message, HasSubstr("nothing to do"));
}

TEST(PgWaybackConfigTest, DataDirectoryMustBeAbsolute) {
  auto node = YamlNode::LoadString(
      "{pg: {postgres: {conninfo: \"host=127.0.0.1 port=1 user=x\", data_directory: data}}}",
      "actuator.yml");
  ASSERT_TRUE(node);
  auto dbs = LoadDatabases(*node);
  ASSERT_FALSE(dbs);
  EXPECT_THAT(dbs.error().message, HasSubstr("actuator.yml"));
  EXPECT_THAT(dbs.error().message, HasSubstr("data_directory must be an absolute path"));
}

}  // namespace
}  // namespace failover
