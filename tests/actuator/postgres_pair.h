// Helpers for the way-back step tests (db_divergence, db_rejoin, db_switchover) against
// the PostgreSQL pair of scripts/stack: SQL as the `postgres` superuser (trust on
// loopback), a failover done by hand (pg_promote), and databases configured with their
// data directories, as db_rejoin's pg_rewind needs.
#pragma once

#include <glob.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "actuator/db/database.h"
#include "common/pg_conn.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace failover::wayback_test {

// The PostgreSQL programs' directory (the one scripts/lib/stack-postgres.sh uses).
inline std::string PgBinDir() {
  struct stat st {};
  if (stat("/usr/lib/postgresql/15/bin/pg_ctl", &st) == 0) return "/usr/lib/postgresql/15/bin";
  glob_t g{};
  std::string out;
  if (glob("/usr/lib/postgresql/*/bin/pg_ctl", 0, nullptr, &g) == 0 && g.gl_pathc > 0) {
    out = g.gl_pathv[0];
    out = out.substr(0, out.rfind('/'));
  }
  globfree(&g);
  return out;
}

// A connection as `postgres` to one server of the pair; each Q opens its own session so a
// fence's new default_transaction_read_only applies to it.
class Pg {
 public:
  Pg(const std::string& address, const std::string& db = "shop") {
    auto node = YamlNode::LoadString(
        "{conninfo: \"host=127.0.0.1 port=" + address.substr(address.rfind(':') + 1) +
            " user=postgres dbname=" + db + "\"}",
        "test");
    target_ = *PgTargetFromYaml(*node);
  }
  // The rows, or the error message in *error (an expectation failure when error is null).
  std::vector<SqlRow> Q(const std::string& sql, std::string* error = nullptr) {
    PgConn conn;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    auto c = conn.Connect(target_, "test", deadline, std::chrono::seconds(30));
    if (!c) {
      if (error) *error = c.error().detail;
      EXPECT_TRUE(error) << c.error().detail;
      return {};
    }
    auto r = conn.Exec(sql, deadline);
    if (!r) {
      if (error) *error = r.error().detail;
      EXPECT_TRUE(error) << sql << ": " << r.error().detail;
      return {};
    }
    if (error) error->clear();
    return r->empty() ? std::vector<SqlRow>{} : r->back();
  }
  std::string One(const std::string& sql) {
    auto rows = Q(sql);
    if (rows.size() != 1 || rows[0].empty()) return "<" + std::to_string(rows.size()) + " rows>";
    auto v = rows[0].begin()->second;
    return v ? *v : "NULL";
  }
  // An order as the shop writes it: true when the server took it.
  bool Insert(const std::string& note) {
    std::string err;
    Q("INSERT INTO orders (note) VALUES ('" + note + "')", &err);
    return err.empty();
  }
  std::vector<std::string> Notes() {
    std::vector<std::string> out;
    for (const auto& row : Q("SELECT note FROM orders ORDER BY id")) {
      out.push_back(SqlColumn(row, {"note"}).value_or("NULL"));
    }
    return out;
  }

 private:
  PgTarget target_;
};

class PostgresPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = &testing::Stack::Get({"postgres"});
    std::string root = stack_->Env("PG_SOCKET_DIR");
    for (const auto& [id, var, dir] : {std::tuple<std::string, std::string, std::string>{
                                           "us-east-pg", "PG_PRIMARY_ADDR", "primary"},
                                       {"eu-west-pg", "PG_STANDBY_ADDR", "standby"}}) {
      std::string addr = stack_->Env(var);
      std::string conninfo = "host=127.0.0.1 port=" + addr.substr(addr.rfind(':') + 1) +
                             " user=failover dbname=postgres";
      std::string common = "conninfo: \"" + conninfo + "\", password_file: \"" +
                           stack_->Env("PG_FAILOVER_PASSWORD_FILE") + "\"";
      Add(id, common + ", data_directory: \"" + root + "/" + dir + "\", bin_dir: \"" + PgBinDir() +
                  "\"");
      // The same server without local access (a central actuator).
      Add(id + "-remote", common);
    }
    fctx_.databases = &databases_;
    WaitCaughtUp();
  }
  void Add(const std::string& id, const std::string& body) {
    auto node = YamlNode::LoadString("{" + id + ": {postgres: {" + body + "}}}", "actuator.yml");
    ASSERT_TRUE(node) << node.error().message;
    auto dbs = LoadDatabases(*node);
    ASSERT_TRUE(dbs) << dbs.error().message;
    databases_[id] = dbs->begin()->second;
  }
  std::string Primary() const { return stack_->Env("PG_PRIMARY_ADDR"); }
  std::string Standby() const { return stack_->Env("PG_STANDBY_ADDR"); }
  // The replication keys every rejoin/switchover test uses (trust on loopback).
  std::string ReplKeys() const { return "replication_user: postgres"; }
  // The standby replayed everything the primary has written.
  void WaitCaughtUp() {
    Pg primary(Primary(), "postgres");
    Pg standby(Standby(), "postgres");
    std::string want = primary.One("SELECT pg_current_wal_lsn()");
    ASSERT_TRUE(testing::WaitFor([&] {
      return standby.One("SELECT pg_last_wal_replay_lsn() >= '" + want + "'::pg_lsn") == "t";
    })) << "the standby did not replay up to "
        << want;
  }
  // The failover, by hand: the standby (eu-west) is promoted; the old primary (us-east)
  // stays writable, as in a partition before fencing.
  void FailOver() {
    Pg standby(Standby(), "postgres");
    ASSERT_EQ(standby.One("SELECT pg_promote(true, 60)"), "t");
  }
  StepOutcome Run(Step& step, const std::string& execution_id = "exec-1") {
    vars_.execution_id = execution_id;
    return testing::RunStep(step, SystemClock::Get(), &vars_);
  }

  testing::Stack* stack_ = nullptr;
  DatabaseMap databases_;
  StepFactoryContext fctx_;
  TemplateVars vars_;
};

}  // namespace failover::wayback_test
