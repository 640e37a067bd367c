// db_fence against the real MariaDB primary and PostgreSQL primary of scripts/stack, and
// against a closed port. Each case that fences a server makes it writable again at the
// end, so the file is also correct when all cases run in one process.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actuator/db/database.h"
#include "actuator/steps/db_fence.h"
#include "common/mysql_conn.h"
#include "common/pg_conn.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/stack.h"
#include "tests/support/test_http_server.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using testing::ClosedPort;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Stack;

class DbFenceTest : public ::testing::Test {
 protected:
  void AddDatabase(const std::string& id, const std::string& yaml) {
    auto node = YamlNode::LoadString("{" + id + ": " + yaml + "}", "actuator.yml");
    ASSERT_TRUE(node) << node.error().message;
    auto dbs = LoadDatabases(*node);
    ASSERT_TRUE(dbs) << dbs.error().message;
    databases_[id] = dbs->begin()->second;
    fctx_.databases = &databases_;
  }
  std::unique_ptr<Step> Make(const std::string& yaml) {
    return testing::MustBuildStep(yaml, &NewDbFenceStep, fctx_);
  }
  StepOutcome Run(Step& step) { return testing::RunStep(step, SystemClock::Get()); }
  DatabaseMap databases_;
  StepFactoryContext fctx_;
};

// ---- unreachable servers -----------------------------------------------------------

TEST_F(DbFenceTest, UnreachableServerContinuesByDefaultAndSaysSo) {
  int port = ClosedPort();
  AddDatabase("us-east-db", "{mysql: {address: \"127.0.0.1:" + std::to_string(port) +
                                "\", user: failover, password: s3cret-pw}}");
  auto step = Make("{database: us-east-db}");
  ASSERT_TRUE(step);
  auto rendered = step->Render({});
  ASSERT_TRUE(rendered);
  EXPECT_EQ((*rendered)["on_unreachable"], "continue");
  EXPECT_THAT(rendered->dump(), Not(HasSubstr("s3cret-pw")));
  StepOutcome out = Run(*step);
  EXPECT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("unreachable"));
  EXPECT_THAT(out.message, HasSubstr("not fenced"));
  EXPECT_THAT(out.message, HasSubstr("connection refused"));
  EXPECT_EQ(out.details["unreachable"], true);
  EXPECT_THAT(out.message + out.details.dump(), Not(HasSubstr("s3cret-pw")));
}

TEST_F(DbFenceTest, UnreachableServerWithOnUnreachableFailIsRetryable) {
  int port = ClosedPort();
  AddDatabase("us-east-pg", "{postgres: {conninfo: \"host=127.0.0.1 port=" + std::to_string(port) +
                                " user=failover dbname=postgres\"}}");
  auto step = Make("{database: us-east-pg, on_unreachable: fail, timeout: 5s}");
  ASSERT_TRUE(step);
  StepOutcome out = Run(*step);
  EXPECT_EQ(out.status, StepStatus::kRetryable) << out.message;
  EXPECT_THAT(out.message, HasSubstr("unreachable (on_unreachable: fail)"));
  EXPECT_THAT(out.message, HasSubstr("127.0.0.1:" + std::to_string(port)));
}

TEST_F(DbFenceTest, UnreachablePostgresContinues) {
  int port = ClosedPort();
  AddDatabase("us-east-pg", "{postgres: {conninfo: \"host=127.0.0.1 port=" + std::to_string(port) +
                                " user=failover dbname=postgres\"}}");
  auto step = Make("{database: us-east-pg, on_unreachable: continue}");
  ASSERT_TRUE(step);
  StepOutcome out = Run(*step);
  EXPECT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("unreachable"));
}

// A server that accepts TCP connections (the kernel does) but never says anything: the
// step must give up by its deadline, not hang.
using SilentServer = testing::BlackholeListener;

TEST_F(DbFenceTest, SilentServersAreUnreachableWithinTheStepTimeout) {
  SilentServer mysql, pg;
  AddDatabase("silent-db", "{mysql: {address: \"127.0.0.1:" + std::to_string(mysql.port()) +
                               "\", user: failover}}");
  AddDatabase("silent-pg", "{postgres: {conninfo: \"host=127.0.0.1 port=" +
                               std::to_string(pg.port()) + " user=failover dbname=postgres\"}}");
  for (const char* id : {"silent-db", "silent-pg"}) {
    auto step = Make(std::string("{database: ") + id + ", timeout: 1s}");
    ASSERT_TRUE(step);
    auto start = std::chrono::steady_clock::now();
    StepOutcome out = Run(*step);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(out.status, StepStatus::kOk) << id << ": " << out.message;
    EXPECT_THAT(out.message, HasSubstr("unreachable, not fenced")) << id;
    // The deadline (1 s) holds; the MySQL client counts in whole seconds, hence the margin.
    EXPECT_LT(took, std::chrono::milliseconds(2500)) << id;
  }
}

// ---- MariaDB -----------------------------------------------------------------------

int AppInsert(const Stack& stack, std::string* out) {
  return stack.Shell(
      "mariadb --no-defaults -h127.0.0.1 -P\"${MARIADB_PRIMARY_ADDR#*:}\" -uapp "
      "-p\"$(cat \"$MARIADB_APP_PASSWORD_FILE\")\" shop -e "
      "\"INSERT INTO orders (note) VALUES ('fence-test')\" 2>&1",
      out);
}

TEST_F(DbFenceTest, MariaDbFenceMakesWritesFailAndASecondRunDoesNothing) {
  auto& stack = Stack::Get({"mariadb"});
  AddDatabase("us-east-db", "{mysql: {address: \"" + stack.Env("MARIADB_PRIMARY_ADDR") +
                                "\", user: failover, password_file: \"" +
                                stack.Env("MARIADB_FAILOVER_PASSWORD_FILE") + "\"}}");
  std::string out_text;
  ASSERT_EQ(AppInsert(stack, &out_text), 0) << out_text;  // writable before
  auto step = Make("{database: us-east-db, on_unreachable: fail}");
  ASSERT_TRUE(step);
  StepOutcome out = Run(*step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("fenced"));
  EXPECT_EQ(out.details["changed"], true);
  EXPECT_EQ(out.details["after"]["read_only"], true);

  EXPECT_NE(AppInsert(stack, &out_text), 0);
  EXPECT_THAT(out_text, HasSubstr("read-only"));

  StepOutcome again = Run(*step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_THAT(again.message, HasSubstr("already read-only, nothing to do"));
  EXPECT_EQ(again.details["changed"], false);

  // Writable again for the other cases of this process.
  ASSERT_EQ(stack.Shell("mariadb --no-defaults -uroot -h127.0.0.1 "
                        "-P\"${MARIADB_PRIMARY_ADDR#*:}\" -e 'SET GLOBAL read_only=OFF'"),
            0);
}

// ---- PostgreSQL --------------------------------------------------------------------

TEST_F(DbFenceTest, PostgresFenceEndsOpenSessionsAndMakesWritesFail) {
  auto& stack = Stack::Get({"postgres"});
  std::string addr = stack.Env("PG_PRIMARY_ADDR");
  std::string port = addr.substr(addr.rfind(':') + 1);
  AddDatabase("us-east-pg", "{postgres: {conninfo: \"host=127.0.0.1 port=" + port +
                                " user=failover dbname=postgres\", password_file: \"" +
                                stack.Env("PG_FAILOVER_PASSWORD_FILE") + "\"}}");
  auto node = YamlNode::LoadString(
      "{conninfo: \"host=127.0.0.1 port=" + port + " user=postgres dbname=shop\"}", "test");
  PgTarget target = *PgTargetFromYaml(*node);
  auto deadline = [] { return SystemClock::Get().Now() + std::chrono::seconds(20); };
  // A session in the middle of a writing transaction when the fence comes.
  PgConn writer;
  ASSERT_TRUE(writer.Connect(target, "writer", deadline(), std::chrono::seconds(20)));
  ASSERT_TRUE(writer.Exec("BEGIN; INSERT INTO orders (note) VALUES ('in-flight')", deadline()));

  auto step = Make("{database: us-east-pg}");
  ASSERT_TRUE(step);
  StepOutcome out = Run(*step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_THAT(out.message, HasSubstr("fenced"));
  EXPECT_GE(out.details.value("terminated_sessions", 0.0), 1.0);

  // The in-flight transaction cannot commit: its session is gone.
  EXPECT_FALSE(writer.Exec("COMMIT", deadline()));
  PgConn fresh;
  ASSERT_TRUE(fresh.Connect(target, "fresh", deadline(), std::chrono::seconds(20)));
  auto w = fresh.Exec("INSERT INTO orders (note) VALUES ('after-fence')", deadline());
  ASSERT_FALSE(w);
  EXPECT_THAT(w.error().detail, HasSubstr("read-only transaction"));
  auto n = fresh.Exec("SELECT count(*) AS n FROM orders WHERE note = 'in-flight'", deadline());
  ASSERT_TRUE(n);
  EXPECT_EQ(SqlColumn((*n)[0][0], {"n"}), std::optional<std::string>("0"));

  StepOutcome again = Run(*step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_THAT(again.message, HasSubstr("already read-only"));
  EXPECT_EQ(again.details["changed"], false);

  // Writable again for the other cases of this process.
  ASSERT_TRUE(fresh.Exec("ALTER SYSTEM RESET default_transaction_read_only", deadline()));
  ASSERT_TRUE(fresh.Exec("SELECT pg_reload_conf()", deadline()));
  ASSERT_TRUE(testing::WaitFor([&] {
    PgConn c;
    return c.Connect(target, "check", deadline(), std::chrono::seconds(20)) &&
           c.Exec("INSERT INTO orders (note) VALUES ('writable-again')", deadline());
  }));
}

}  // namespace
}  // namespace failover
