// db_rejoin against the real MariaDB pair of scripts/stack: the old primary becomes a
// replica of the new one and catches up; a second run does nothing; errant transactions
// are refused (naming them) or discarded after the report: undone with mariadb-binlog
// --flashback, so the old primary holds exactly the new primary's data.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "actuator/steps/db_divergence.h"
#include "actuator/steps/db_rejoin.h"
#include "tests/actuator/mariadb_pair.h"

namespace failover {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using wayback_test::AppInsert;
using wayback_test::AppSql;
using wayback_test::Root;

class MariaDbRejoinTest : public wayback_test::MariaDbPairTest {
 protected:
  Result<std::unique_ptr<Step>> Make(const std::string& extra = "") {
    auto node =
        YamlNode::LoadString("{database: us-east-db, source: eu-west-db, catch_up_timeout: 20s, " +
                                 ReplKeys() + extra + "}",
                             "actuator.yml");
    if (!node) return node.error();
    return NewDbRejoinStep(*node, fctx_);
  }
  StepOutcome Divergence() {
    auto node =
        YamlNode::LoadString("{old_primary: us-east-db, new_primary: eu-west-db}", "actuator.yml");
    auto step = NewDbDivergenceStep(*node, fctx_);
    EXPECT_TRUE(step) << step.error().message;
    return Run(**step);
  }
  void ExpectUnchangedPrimary() {
    Root old_primary(Primary());
    EXPECT_EQ(old_primary.One("SELECT @@global.read_only"), "0");
    EXPECT_EQ(old_primary.Q("SHOW SLAVE STATUS").size(), 0u);
  }
};

TEST_F(MariaDbRejoinTest, RejoinsCatchesUpAndASecondRunDoesNothing) {
  FailOver();
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "new-1"), 0);
  ASSERT_EQ(Divergence().status, StepStatus::kOk);
  auto step = Make();
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("rejoined"));
  EXPECT_TRUE(out.details.value("changed", false));
  EXPECT_THAT(Notes(Primary()), ElementsAre("new-1"));
  // Replication runs: a row written on the new primary appears on the old one, which
  // refuses the application's writes.
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "new-2"), 0);
  EXPECT_TRUE(testing::WaitFor([&] { return Notes(Primary()).size() == 2; }));
  EXPECT_THAT(Notes(Primary()), ElementsAre("new-1", "new-2"));
  std::string err;
  EXPECT_NE(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "must-fail"), 0);

  StepOutcome again = Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_THAT(again.message, HasSubstr("nothing to do"));
  EXPECT_FALSE(again.details.value("changed", true));
}

TEST_F(MariaDbRejoinTest, RefusesWithoutADivergenceReport) {
  FailOver();
  auto step = Make();
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("no divergence report"));
  ExpectUnchangedPrimary();
  // require_report: false lets it go ahead.
  auto unchecked = Make(", require_report: false");
  ASSERT_TRUE(unchecked) << unchecked.error().message;
  EXPECT_EQ(Run(**unchecked).status, StepStatus::kOk);
}

TEST_F(MariaDbRejoinTest, ErrantRefuseRefusesNamingTheGtids) {
  FailOver();
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "lost-1"), 0);
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "new-1"), 0);
  StepOutcome report = Divergence();
  ASSERT_EQ(report.status, StepStatus::kOk) << report.message;
  ASSERT_EQ(report.details["errant_gtids"].size(), 1u);
  std::string gtid = report.details["errant_gtids"][0];
  auto step = Make(", errant: refuse");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("refusing to rejoin"));
  EXPECT_THAT(out.message, HasSubstr(gtid));
  EXPECT_THAT(out.message, HasSubstr("errant: refuse"));
  ExpectUnchangedPrimary();
}

// The table as rows "id:note", and its checksum, on one server.
std::vector<std::string> Table(const std::string& address) {
  Root r(address);
  std::vector<std::string> out;
  for (const auto& row : r.Q("SELECT id, note FROM shop.orders ORDER BY id")) {
    out.push_back(SqlColumn(row, {"id"}).value_or("NULL") + ":" +
                  SqlColumn(row, {"note"}).value_or("NULL"));
  }
  return out;
}
std::string Checksum(const std::string& address) {
  Root r(address);
  auto rows = r.Q("CHECKSUM TABLE shop.orders");
  return rows.size() == 1 ? SqlColumn(rows[0], {"Checksum"}).value_or("NULL") : "<none>";
}

TEST_F(MariaDbRejoinTest, ErrantDiscardUndoesTheErrantRowsAfterTheReport) {
  ASSERT_EQ(AppSql(*stack_, "MARIADB_PRIMARY_ADDR",
                   "INSERT INTO orders (note) VALUES ('shared-1'), ('shared-2'), ('shared-3')"),
            0);
  WaitCaughtUp();
  FailOver();
  // Errant on the old primary: an insert (its id collides with the new primary's next
  // one), an update, a delete, and one transaction with two row changes.
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "lost-1"), 0);
  ASSERT_EQ(AppSql(*stack_, "MARIADB_PRIMARY_ADDR",
                   "UPDATE orders SET note = 'errant-edit' WHERE note = 'shared-1'"),
            0);
  ASSERT_EQ(AppSql(*stack_, "MARIADB_PRIMARY_ADDR", "DELETE FROM orders WHERE note = 'shared-2'"),
            0);
  ASSERT_EQ(AppSql(*stack_, "MARIADB_PRIMARY_ADDR",
                   "BEGIN; INSERT INTO orders (note) VALUES ('lost-2'); "
                   "UPDATE orders SET note = 'errant-edit-3' WHERE note = 'shared-3'; COMMIT"),
            0);
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "new-1"), 0);
  auto step = Make(", errant: discard");
  ASSERT_TRUE(step) << step.error().message;
  // Not before the report.
  EXPECT_EQ(Run(**step).status, StepStatus::kFailed);
  EXPECT_THAT(Notes(Primary()), ElementsAre("errant-edit", "errant-edit-3", "lost-1", "lost-2"));
  StepOutcome report = Divergence();
  ASSERT_EQ(report.status, StepStatus::kOk) << report.message;
  ASSERT_EQ(report.details["errant_gtids"].size(), 4u);
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("4 errant transaction(s) discarded"));
  EXPECT_THAT(out.message, HasSubstr("5 row change(s) undone"));
  EXPECT_EQ(out.details["undone"]["transactions"], 4);
  EXPECT_EQ(out.details["undone"]["row_changes"], 5);
  // The old primary holds exactly the new primary's data: the errant rows are gone, the
  // edited and deleted ones are back, the new primary's insert (same id) replicated.
  EXPECT_THAT(Notes(Primary()), ElementsAre("shared-1", "shared-2", "shared-3", "new-1"));
  EXPECT_EQ(Table(Primary()), Table(Replica()));
  EXPECT_EQ(Checksum(Primary()), Checksum(Replica()));
  // Replication runs: a later write on the new primary arrives.
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_REPLICA_ADDR", "new-2"), 0);
  EXPECT_TRUE(testing::WaitFor([&] { return Notes(Primary()).size() == 5; }));
  EXPECT_EQ(Table(Primary()), Table(Replica()));
  Root old_primary(Primary());
  EXPECT_EQ(old_primary.One("SELECT @@global.read_only"), "1");
  // A second run does nothing (and undoes nothing twice).
  StepOutcome again = Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_THAT(again.message, HasSubstr("nothing to do"));
  EXPECT_EQ(Table(Primary()), Table(Replica()));
}

// What flashback cannot undo is refused before anything changes: a statement-format
// transaction (the tool skips it), a row image without every column.
TEST_F(MariaDbRejoinTest, ErrantDiscardRefusesAStatementFormatTransaction) {
  FailOver();
  {
    Root old_primary(Primary());
    old_primary.Q("SET SESSION binlog_format = 'STATEMENT'");
    old_primary.Q("INSERT INTO shop.orders (note) VALUES ('stmt')");
  }
  ASSERT_EQ(Divergence().status, StepStatus::kOk);
  auto step = Make(", errant: discard");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("cannot undo"));
  EXPECT_THAT(out.message, HasSubstr("not made of row events"));
  EXPECT_THAT(out.message, HasSubstr("nothing changed"));
  ExpectUnchangedPrimary();
  EXPECT_THAT(Notes(Primary()), ElementsAre("stmt"));
}

TEST_F(MariaDbRejoinTest, ErrantDiscardRefusesAMinimalRowImage) {
  ASSERT_EQ(AppInsert(*stack_, "MARIADB_PRIMARY_ADDR", "shared-1"), 0);
  WaitCaughtUp();
  FailOver();
  {
    Root old_primary(Primary());
    old_primary.Q("SET SESSION binlog_row_image = 'MINIMAL'");
    old_primary.Q("UPDATE shop.orders SET note = 'minimal-edit'");
  }
  ASSERT_EQ(Divergence().status, StepStatus::kOk);
  auto step = Make(", errant: discard");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  EXPECT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_THAT(out.message, HasSubstr("cannot undo"));
  EXPECT_THAT(out.message, HasSubstr("binlog_row_image"));
  ExpectUnchangedPrimary();
  EXPECT_THAT(Notes(Primary()), ElementsAre("minimal-edit"));
}

}  // namespace
}  // namespace failover

namespace failover {
namespace {

// Bad configuration: located errors, nothing connects.
TEST(DbRejoinConfigTest, BadErrantValueAndSameSourceAreLocatedErrors) {
  auto node = YamlNode::LoadString(
      "{a: {mysql: {address: \"127.0.0.1:1\", user: u}}, b: {mysql: {address: \"127.0.0.1:2\", "
      "user: u}}}",
      "actuator.yml");
  auto dbs = LoadDatabases(*node);
  ASSERT_TRUE(dbs) << dbs.error().message;
  StepFactoryContext ctx;
  ctx.databases = &*dbs;
  auto bad = YamlNode::LoadString(
      "{database: a, source: b, replication_user: repl,\n errant: keep}", "actuator.yml");
  auto step = NewDbRejoinStep(*bad, ctx);
  ASSERT_FALSE(step);
  EXPECT_THAT(step.error().message, ::testing::HasSubstr("actuator.yml:2"));
  EXPECT_THAT(step.error().message, ::testing::HasSubstr("errant must be refuse or discard"));
  auto same = YamlNode::LoadString("{database: a, source: a, replication_user: repl}", "x.yml");
  auto step2 = NewDbRejoinStep(*same, ctx);
  ASSERT_FALSE(step2);
  EXPECT_THAT(step2.error().message, ::testing::HasSubstr("source must differ"));
  auto slow = YamlNode::LoadString(
      "{database: a, source: b, replication_user: repl, catch_up_timeout: 90s, timeout: 60s}",
      "x.yml");
  auto step3 = NewDbRejoinStep(*slow, ctx);
  ASSERT_FALSE(step3);
  EXPECT_THAT(step3.error().message,
              ::testing::HasSubstr("must be shorter than the step's timeout"));
}

// Every key set: the step renders each value, never the replication password.
TEST(DbRejoinConfigTest, RendersEveryKeyButThePassword) {
  auto node = YamlNode::LoadString(
      "{a: {mysql: {address: \"127.0.0.1:1\", user: u}}, b: {mysql: {address: \"127.0.0.1:2\", "
      "user: u}}}",
      "actuator.yml");
  auto dbs = LoadDatabases(*node);
  ASSERT_TRUE(dbs) << dbs.error().message;
  StepFactoryContext ctx;
  ctx.databases = &*dbs;
  auto body = YamlNode::LoadString(
      "{database: a, source: b, replication_user: repl, replication_password: s3cret-pw, "
      "source_address: \"10.0.0.9:3306\", catch_up_timeout: 40s, errant: discard, "
      "require_report: false, timeout: 50s}",
      "actuator.yml");
  auto step = NewDbRejoinStep(*body, ctx);
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ((*step)->common().timeout, std::chrono::seconds(50));
  auto j = (*step)->Render({});
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ((*j)["database"], "a");
  EXPECT_EQ((*j)["source"], "b");
  EXPECT_EQ((*j)["address"], "127.0.0.1:1");
  EXPECT_EQ((*j)["replication_user"], "repl");
  EXPECT_EQ((*j)["source_address"], "10.0.0.9:3306");
  EXPECT_EQ((*j)["catch_up_timeout"], "40s");
  EXPECT_EQ((*j)["errant"], "discard");
  EXPECT_EQ((*j)["require_report"], false);
  EXPECT_THAT(j->dump(), ::testing::Not(HasSubstr("s3cret-pw")));

  auto port = YamlNode::LoadString(
      "{database: a, source: b, replication_user: repl,\n source_address: \"10.0.0.9\"}",
      "actuator.yml");
  auto bad = NewDbRejoinStep(*port, ctx);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("actuator.yml:2:"));
  EXPECT_THAT(bad.error().message, HasSubstr("source_address must be host:port"));
}

}  // namespace
}  // namespace failover
