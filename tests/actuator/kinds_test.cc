#include "actuator/kinds.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace failover {
namespace {

// `--list-kinds` names every family a config can use, so an operator finds the kind
// names for steps:, providers:, load_balancers: and databases: in one place.
TEST(ActuatorKindsTest, ListsEveryFamilyWithItsKinds) {
  std::string out = ListActuatorKinds();
  for (const char* want :
       {"steps (runbooks' steps:):", "DNS providers (providers:):",
        "load-balancer providers (load_balancers:):", "databases (databases:):"}) {
    EXPECT_NE(out.find(want), std::string::npos) << "missing family header " << want << "\n" << out;
  }
  auto in_family = [&](const std::string& header, const std::string& kind) {
    size_t at = out.find(header);
    if (at == std::string::npos) return false;
    size_t end = out.find("\n\n", at);
    size_t next = out.find(":\n", at + header.size());
    size_t k = out.find("\n  " + kind, at);
    return k != std::string::npos && k < std::min(end, next == std::string::npos ? end : next);
  };
  EXPECT_TRUE(in_family("steps (runbooks' steps:):", "lb_pool")) << out;
  EXPECT_TRUE(in_family("steps (runbooks' steps:):", "dns_weights")) << out;
  EXPECT_TRUE(in_family("DNS providers (providers:):", "route53")) << out;
  EXPECT_TRUE(in_family("load-balancer providers (load_balancers:):", "linode_nodebalancer"))
      << out;
  EXPECT_TRUE(in_family("load-balancer providers (load_balancers:):", "aws_alb")) << out;
  EXPECT_TRUE(in_family("databases (databases:):", "postgres")) << out;
  EXPECT_TRUE(in_family("databases (databases:):", "mysql")) << out;
}

}  // namespace
}  // namespace failover
