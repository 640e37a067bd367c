// Helpers for the way-back step tests (db_divergence, db_rejoin, db_switchover) against
// the MariaDB pair of scripts/stack: root connections, inserts as `app`, a failover done
// by hand, and step construction from YAML.
#pragma once

#include <gtest/gtest.h>

#include "actuator/db/database.h"
#include "common/mysql_conn.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace failover::wayback_test {

// A root connection to one server of the pair (root has no password).
class Root {
 public:
  explicit Root(const std::string& address) {
    auto node = YamlNode::LoadString("{address: \"" + address + "\", user: root}", "test");
    target_ = *MysqlTargetFromYaml(*node);
    auto c = conn_.Connect(target_, std::chrono::seconds(30));
    EXPECT_TRUE(c) << c.error().detail;
  }
  std::vector<SqlRow> Q(const std::string& sql) {
    auto r = conn_.Query(sql);
    EXPECT_TRUE(r) << sql << ": " << r.error().detail;
    return r ? *r : std::vector<SqlRow>{};
  }
  std::string One(const std::string& sql) {
    auto rows = Q(sql);
    if (rows.size() != 1 || rows[0].empty()) return "<" + std::to_string(rows.size()) + " rows>";
    auto v = rows[0].begin()->second;
    return v ? *v : "NULL";
  }

 private:
  MysqlTarget target_;
  MysqlConn conn_;
};

// Runs `sql` as `app` (stopped by read_only, unlike root and failover); the exit status.
inline int AppSql(const testing::Stack& stack, const std::string& addr_var, const std::string& sql,
                  std::string* out = nullptr) {
  return stack.Shell("mariadb --no-defaults -N -B -h127.0.0.1 -P\"${" + addr_var +
                         "#*:}\" -uapp -p\"$(cat \"$MARIADB_APP_PASSWORD_FILE\")\" shop -e \"" +
                         sql + "\" 2>&1",
                     out);
}
inline int AppInsert(const testing::Stack& stack, const std::string& addr_var,
                     const std::string& note) {
  return AppSql(stack, addr_var, "INSERT INTO orders (note) VALUES ('" + note + "')");
}

class MariaDbPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = &testing::Stack::Get({"mariadb"});
    for (const auto& [id, var] :
         {std::pair<std::string, std::string>{"us-east-db", "MARIADB_PRIMARY_ADDR"},
          {"eu-west-db", "MARIADB_REPLICA_ADDR"}}) {
      auto node = YamlNode::LoadString("{" + id + ": {mysql: {address: \"" + stack_->Env(var) +
                                           "\", user: failover, password_file: \"" +
                                           stack_->Env("MARIADB_FAILOVER_PASSWORD_FILE") + "\"}}}",
                                       "actuator.yml");
      ASSERT_TRUE(node) << node.error().message;
      auto dbs = LoadDatabases(*node);
      ASSERT_TRUE(dbs) << dbs.error().message;
      databases_[id] = dbs->begin()->second;
    }
    fctx_.databases = &databases_;
    WaitCaughtUp();
  }
  std::string Primary() const { return stack_->Env("MARIADB_PRIMARY_ADDR"); }
  std::string Replica() const { return stack_->Env("MARIADB_REPLICA_ADDR"); }
  // The replication keys every rejoin/switchover test uses.
  std::string ReplKeys() const {
    return "replication_user: repl, replication_password_file: \"" + stack_->Dir() +
           "/secrets/mariadb_repl.password\"";
  }
  void WaitCaughtUp() {
    Root primary(Primary());
    Root replica(Replica());
    std::string want = primary.One("SELECT @@global.gtid_binlog_pos");
    ASSERT_TRUE(testing::WaitFor([&] {
      return replica.One("SELECT @@global.gtid_slave_pos") == want;
    })) << "the replica did not catch up with "
        << want;
  }
  // The failover, by hand: the replica (eu-west) becomes a writable primary; the old
  // primary (us-east) stays writable, as in a partition before fencing.
  void FailOver() {
    Root replica(Replica());
    replica.Q("STOP SLAVE");
    replica.Q("RESET SLAVE ALL");
    replica.Q("SET GLOBAL read_only = OFF");
  }
  StepOutcome Run(Step& step, const std::string& execution_id = "exec-1") {
    vars_.execution_id = execution_id;
    return testing::RunStep(step, SystemClock::Get(), &vars_);
  }
  std::vector<std::string> Notes(const std::string& address) {
    Root r(address);
    std::vector<std::string> out;
    for (const auto& row : r.Q("SELECT note FROM shop.orders ORDER BY id")) {
      out.push_back(SqlColumn(row, {"note"}).value_or("NULL"));
    }
    return out;
  }

  testing::Stack* stack_ = nullptr;
  DatabaseMap databases_;
  StepFactoryContext fctx_;
  TemplateVars vars_;
};

}  // namespace failover::wayback_test
