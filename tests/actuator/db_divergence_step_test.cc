// db_divergence against the real MariaDB pair of scripts/stack: after a failover with
// writes on both sides, the report lists exactly the old primary's errant transactions,
// with their rows' column values.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "actuator/steps/db_divergence.h"
#include "tests/actuator/mariadb_pair.h"
#include "tests/actuator/step_test_util.h"

namespace failover {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using wayback_test::AppInsert;
using wayback_test::AppSql;
using wayback_test::Root;

class MariaDbDivergenceTest : public wayback_test::MariaDbPairTest {
 protected:
  Result<std::unique_ptr<Step>> Make(const std::string& yaml) {
    return testing::BuildStep(yaml, &NewDbDivergenceStep, fctx_);
  }
};

TEST_F(MariaDbDivergenceTest, ListsExactlyTheOldPrimarysErrantTransactionsWithTheirRows) {
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "shared-1"), 0);
  WaitCaughtUp();
  FailOver();
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "lost-1"), 0);
  ASSERT_EQ(
      AppSql(*stack_, "MARIADB_PRIMARY_ADDR", "INSERT INTO orders (note) VALUES ('it''s lost-2')"),
      0);
  ASSERT_EQ(AppSql(*stack_, "MARIADB_PRIMARY_ADDR",
                   "UPDATE orders SET note = 'shared-1-changed' WHERE note = 'shared-1'"),
            0);
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "new-1"), 0);
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "new-2"), 0);

  auto step = Make("{old_primary: us-east-db, new_primary: eu-west-db}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("3 errant transaction(s)"));
  const auto& errant = out.details["errant"];
  ASSERT_EQ(errant.size(), 3u) << out.details.dump(2);
  // The GTIDs are the old primary's own (server_id 1), and the report names them.
  std::vector<std::string> gtids;
  for (const auto& tx : errant) {
    gtids.push_back(tx["gtid"]);
    EXPECT_THAT(tx["gtid"].get<std::string>(), ::testing::StartsWith("0-1-"));
    EXPECT_THAT(tx.value("time", ""), ::testing::MatchesRegex("20[0-9-]+T[0-9:]+Z"));
    ASSERT_EQ(tx["rows"].size(), 1u) << tx.dump(2);
    EXPECT_EQ(tx["rows"][0]["table"], "shop.orders");
  }
  EXPECT_EQ(out.details["errant_gtids"], nlohmann::json(gtids));
  EXPECT_EQ(errant[0]["rows"][0]["operation"], "insert");
  EXPECT_EQ(errant[0]["rows"][0]["values"]["note"], "lost-1");
  EXPECT_FALSE(errant[0]["rows"][0]["values"]["id"].get<std::string>().empty());
  EXPECT_EQ(errant[1]["rows"][0]["values"]["note"], "it's lost-2");
  EXPECT_EQ(errant[2]["rows"][0]["operation"], "update");
  EXPECT_EQ(errant[2]["rows"][0]["before"]["note"], "shared-1");
  EXPECT_EQ(errant[2]["rows"][0]["after"]["note"], "shared-1-changed");
  // Nothing of the new primary's writes, nor of the shared history.
  EXPECT_THAT(out.details.dump(), Not(HasSubstr("new-1")));
  EXPECT_THAT(out.details.dump(), Not(HasSubstr("\"shared-1\",\"id\"")));
  // db_rejoin can find the report of this execution.
  auto report = FindDivergenceReport("exec-1", "us-east-db", "eu-west-db");
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(*report, gtids);
  // Read-only: nothing changed on either server.
  Root old_primary(Primary());
  EXPECT_EQ(old_primary.One("SELECT @@global.read_only"), "0");
  EXPECT_EQ(old_primary.Q("SHOW SLAVE STATUS").size(), 0u);
}

TEST_F(MariaDbDivergenceTest, NoErrantTransactionsWhenOnlyTheNewPrimaryWrote) {
  FailOver();
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "new-1"), 0);
  auto step = Make("{old_primary: us-east-db, new_primary: eu-west-db}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("no errant transactions"));
  EXPECT_EQ(out.details["errant"].size(), 0u);
}

TEST(DbDivergenceConfigTest, UnknownDatabaseIsALocatedError) {
  DatabaseMap dbs;
  StepFactoryContext ctx;
  ctx.databases = &dbs;
  auto node = YamlNode::LoadString("{old_primary: a, new_primary: b}", "actuator.yml");
  auto step = NewDbDivergenceStep(*node, ctx);
  ASSERT_FALSE(step);
  EXPECT_THAT(step.error().message, HasSubstr("actuator.yml"));
  EXPECT_THAT(step.error().message, HasSubstr("unknown database \"a\""));
}

// The pair the step reads renders with both servers; the same database twice, or a mysql
// and a postgres one, is refused at the key.
TEST(DbDivergenceConfigTest, RendersThePairAndRefusesASameOrMixedPair) {
  auto dbs = YamlNode::LoadString(
      "{a: {mysql: {address: \"127.0.0.1:1\", user: u}}, b: {mysql: {address: "
      "\"127.0.0.1:2\", user: u}}, p: {postgres: {conninfo: \"host=127.0.0.1 port=3\"}}}",
      "actuator.yml");
  ASSERT_TRUE(dbs) << dbs.error().message;
  auto loaded = LoadDatabases(*dbs);
  ASSERT_TRUE(loaded) << loaded.error().message;
  StepFactoryContext ctx;
  ctx.databases = &*loaded;
  auto step = testing::MustBuildStep("{old_primary: a, new_primary: b, timeout: 20s}",
                                     &NewDbDivergenceStep, ctx);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->common().timeout, std::chrono::seconds(20));
  auto j = step->Render({});
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ((*j)["old_primary"], "a");
  EXPECT_EQ((*j)["new_primary"], "b");
  EXPECT_EQ((*j)["old"]["address"], "127.0.0.1:1");
  EXPECT_EQ((*j)["new"]["address"], "127.0.0.1:2");

  auto same = testing::BuildStep("{old_primary: a,\n new_primary: a}", &NewDbDivergenceStep, ctx);
  ASSERT_FALSE(same);
  EXPECT_THAT(same.error().message, HasSubstr("actuator.yml:2:"));
  EXPECT_THAT(same.error().message, HasSubstr("new_primary must differ from old_primary"));
  auto mixed = testing::BuildStep("{old_primary: a, new_primary: p}", &NewDbDivergenceStep, ctx);
  ASSERT_FALSE(mixed);
  EXPECT_THAT(mixed.error().message,
              HasSubstr("old_primary and new_primary must be of the same kind"));
}

}  // namespace
}  // namespace failover
