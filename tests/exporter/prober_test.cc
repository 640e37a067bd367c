#include "exporter/prober.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

using Pairs = SampleLabels::Pairs;

TEST(SampleLabelsTest, EmptyByDefaultAndFromAnEmptyList) {
  SampleLabels none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(none.begin(), none.end());
  EXPECT_TRUE(none == Pairs{});
  EXPECT_TRUE(SampleLabels(Pairs{}).empty());
  Sample s{nullptr, {}, 1.0};
  EXPECT_TRUE(s.labels.empty());
}

TEST(SampleLabelsTest, KeepsPairsInOrderAndComparesWithAPlainList) {
  SampleLabels l({{"standby", "db2"}, {"stage", "replay"}});
  ASSERT_EQ(l.size(), 2u);
  std::vector<std::string> seen;
  for (const auto& [k, v] : l) seen.push_back(k + "=" + v);
  EXPECT_EQ(seen, (std::vector<std::string>{"standby=db2", "stage=replay"}));
  EXPECT_TRUE(l == (Pairs{{"standby", "db2"}, {"stage", "replay"}}));
  EXPECT_FALSE(l == (Pairs{{"stage", "replay"}, {"standby", "db2"}}));
  EXPECT_FALSE(l == Pairs{});
  EXPECT_TRUE(l == SampleLabels(Pairs{{"standby", "db2"}, {"stage", "replay"}}));
}

TEST(SampleLabelsTest, CopiesShareOneImmutableSet) {
  Pairs source = {{"phase", "connect"}};
  SampleLabels a(source);
  source[0].second = "changed";  // the set took its own copy
  SampleLabels b = a;  // NOLINT(performance-unnecessary-copy-initialization): the copy is tested
  EXPECT_EQ(&a.pairs(), &b.pairs()) << "a copied Sample must not copy its labels";
  EXPECT_TRUE(b == (Pairs{{"phase", "connect"}}));
}

}  // namespace
}  // namespace failover
