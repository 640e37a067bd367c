// The console's pure parts: what a confirmation says running a plan does, and who a
// request's credentials make its sender (actuator/auth.h: Identify).
#include "actuator/console.h"

#include <gtest/gtest.h>

#include "actuator/auth.h"
#include "actuator/etcd_client.h"

namespace failover {
namespace {

TEST(ConsoleTest, TheConfirmationNamesWhatThePlanDoes) {
  nlohmann::json plan = nlohmann::json::parse(R"([
    {"step": 1, "phase": "main", "kind": "db_fence",
     "inputs": {"database": "us-east-db", "kind": "mysql", "user": "failover"}},
    {"step": 2, "phase": "main", "kind": "db_promote",
     "inputs": {"database": "eu-west-db", "max_lag": "5s"}},
    {"step": 3, "phase": "main", "kind": "dns_update",
     "inputs": {"provider": "pdns", "name": "www.example.com.", "type": "A",
                "records": ["192.0.2.20"]}},
    {"step": 4, "phase": "main", "kind": "pagerduty", "inputs": {}},
    {"step": 1, "phase": "on_failure", "kind": "exec", "inputs": {}}
  ])");
  EXPECT_EQ(DescribeConsequences(plan),
            "fences us-east-db, promotes eu-west-db, points www.example.com. at 192.0.2.20, "
            "pages PagerDuty");
  EXPECT_EQ(DescribeConsequences(nlohmann::json::array()), "runs no step");
}

std::string Basic(const std::string& user, const std::string& pw) {
  return "Basic " + Base64Encode(user + ":" + pw);
}

TEST(ConsoleTest, RolesFromTheApiCredentialsAndTheConsoleUsers) {
  ActuatorConfig cfg;
  // Nothing configured: anyone is an anonymous operator, as the API always was.
  EXPECT_EQ(Identify(cfg, false, "").role, Role::kOperator);

  cfg.console_roles = {{"alice", "operator"}, {"victor", "viewer"}};
  // basic_auth_users guard the listener (it checked the passwords already).
  EXPECT_EQ(Identify(cfg, true, "").role, Role::kNone) << "anonymous sees nothing";
  Identity alice = Identify(cfg, true, Basic("alice", "x"));
  EXPECT_EQ(alice.role, Role::kOperator);
  EXPECT_EQ(alice.user, "alice");
  EXPECT_EQ(Identify(cfg, true, Basic("victor", "x")).role, Role::kViewer);
  EXPECT_EQ(Identify(cfg, true, Basic("prometheus", "x")).role, Role::kNone)
      << "a user not in console.users (the scraper) gets no console";

  // The api credentials stay an operator, whoever the web config lists.
  cfg.api_auth.basic_auth = BasicAuthConfig{"ops", SecretRef::Inline("s3cret")};
  Identity ops = Identify(cfg, true, Basic("ops", "s3cret"));
  EXPECT_EQ(ops.role, Role::kOperator);
  EXPECT_EQ(ops.user, "ops");
  EXPECT_EQ(Identify(cfg, false, Basic("ops", "wrong")).role, Role::kNone);
  EXPECT_EQ(Identify(cfg, false, "").role, Role::kNone) << "credentials configured: 401";
}

}  // namespace
}  // namespace failover
