// MySQL GTID set arithmetic (actuator/db/mysql_gtid_set.h): what db_divergence and db_rejoin
// compute for MySQL 8, which Debian 12 has no server of (docs/actuator-steps.md says what is
// tested live and what only here).
#include "actuator/db/mysql_gtid_set.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

constexpr const char* A = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
constexpr const char* B = "8f0c6c2e-2a4b-11ef-8f6e-0242ac120002";

MysqlGtidSet Set(const std::string& text) {
  auto s = MysqlGtidSet::Parse(text);
  EXPECT_TRUE(s) << text << ": " << s.error().message;
  return s ? *s : MysqlGtidSet();
}

std::string Canon(const std::string& text) { return Set(text).ToString(); }

TEST(MysqlGtidSetTest, ParsesWhatTheServerPrintsAndCanonicalizes) {
  EXPECT_TRUE(Set("").empty());
  EXPECT_TRUE(Set("  \n").empty());
  EXPECT_EQ(Canon(std::string(A) + ":1-5"), std::string(A) + ":1-5");
  // gtid_executed as the server prints it: members on lines of their own, B before A here.
  EXPECT_EQ(Canon(std::string(B) + ":1-100,\n" + A + ":1-5:7-9"),
            std::string(A) + ":1-5:7-9," + B + ":1-100");
  // Upper case, unordered, overlapping and adjacent intervals, a repeated UUID.
  EXPECT_EQ(Canon("3E11FA47-71CA-11E1-9E33-C80AA9429562:7:1-3:4-5:2-4, " + std::string(A) + ":6"),
            std::string(A) + ":1-7");
  EXPECT_EQ(Canon(std::string(A) + ":9:1"), std::string(A) + ":1:9");
  EXPECT_EQ(Set(std::string(A) + ":1-5:7").Count(), 6u);
}

TEST(MysqlGtidSetTest, TaggedGtidsOfMysql83) {
  // A tag applies to the numbers after it (up to the next tag); untagged numbers come first.
  EXPECT_EQ(Canon(std::string(A) + ":b:3:A:1-2:5," + A + ":4-9"),
            std::string(A) + ":4-9:a:1-2:5:b:3");
  auto s = Set(std::string(A) + ":4-9:Deploy:1-2:5");
  EXPECT_EQ(s.ToString(), std::string(A) + ":4-9:deploy:1-2:5");
  EXPECT_TRUE(s.Contains({A, "deploy"}, 5));
  EXPECT_TRUE(s.Contains({A, ""}, 5));
  EXPECT_FALSE(s.Contains({A, "deploy"}, 4));
  EXPECT_EQ(s.Count(), 9u);
  auto g = ParseMysqlGtid(std::string(A) + ":deploy:12");
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->key.second, "deploy");
  EXPECT_EQ(g->gno, 12u);
  EXPECT_EQ(g->ToString(), std::string(A) + ":deploy:12");
}

TEST(MysqlGtidSetTest, BadSetsAreClearErrors) {
  struct Case {
    std::string text, says;
  } cases[] = {
      {std::string(A), "no transaction numbers"},
      {std::string(A) + ":", "empty part"},
      {std::string(A) + ":0", "not a transaction number"},
      {std::string(A) + ":5-3", "ends before it starts"},
      {std::string(A) + ":1-", "not a transaction number"},
      {std::string(A) + ":x-y", "neither a transaction number nor a tag"},
      {std::string(A) + ":9223372036854775807", "not a transaction number"},
      {std::string(A) + ":tag", "has no transaction numbers"},
      {std::string(A) + ":a:b:1", "has no transaction numbers"},
      {"3e11fa47-71ca-11e1-9e33:1", "is not a server UUID"},
      {"0-1-10", "is not a server UUID"},  // a MariaDB GTID
      {std::string(A) + ":1,,", "empty"},
  };
  for (const auto& c : cases) {
    auto s = MysqlGtidSet::Parse(c.text);
    ASSERT_FALSE(s) << c.text << " parsed as " << s->ToString();
    EXPECT_NE(s.error().message.find(c.says), std::string::npos)
        << c.text << ": " << s.error().message;
  }
  EXPECT_TRUE(MysqlGtidSet::Parse(std::string(A) + ":9223372036854775806"));  // the largest
  EXPECT_FALSE(ParseMysqlGtid(std::string(A) + ":1-2"));
  EXPECT_FALSE(ParseMysqlGtid(std::string(A) + ":1:3"));
  EXPECT_FALSE(ParseMysqlGtid(std::string(A) + ":1," + B + ":1"));
  EXPECT_FALSE(ParseMysqlGtid("0-1-10"));
}

TEST(MysqlGtidSetTest, SubtractGivesWhatOnlyTheOldPrimaryHas) {
  // The old primary A wrote 1-100; the replica (promoted) had applied A:1-97, then wrote
  // B:1-20 as the new primary. Only the old primary has A:98-100.
  auto old_primary = Set(std::string(A) + ":1-100");
  auto new_primary = Set(std::string(A) + ":1-97," + B + ":1-20");
  auto errant = old_primary.Subtract(new_primary);
  EXPECT_EQ(errant.ToString(), std::string(A) + ":98-100");
  EXPECT_EQ(errant.List(10),
            (std::vector<std::string>{std::string(A) + ":98", std::string(A) + ":99",
                                      std::string(A) + ":100"}));
  EXPECT_EQ(errant.List(2).size(), 2u) << "bounded";
  // The other way round: the new primary's own writes, which a rejoin replicates.
  EXPECT_EQ(new_primary.Subtract(old_primary).ToString(), std::string(B) + ":1-20");
  // What both share: where they forked.
  EXPECT_EQ(old_primary.Intersect(new_primary).ToString(), std::string(A) + ":1-97");
  // Nothing errant: the new primary has everything (a clean handover).
  EXPECT_TRUE(Set(std::string(A) + ":1-97").Subtract(new_primary).empty());
}

TEST(MysqlGtidSetTest, SubtractWithHolesAndSeveralServers) {
  // Holes on either side (a transaction skipped with an empty one, purged ranges), and a
  // third server's GTIDs the new primary never saw.
  auto a = Set(std::string(A) + ":1-10:20-30:40," + B + ":5-9");
  auto b = Set(std::string(A) + ":3-4:8-22:25:30-50," + B + ":1-6:9");
  EXPECT_EQ(a.Subtract(b).ToString(), std::string(A) + ":1-2:5-7:23-24:26-29," + B + ":7-8");
  EXPECT_EQ(b.Subtract(a).ToString(), std::string(A) + ":11-19:31-39:41-50," + B + ":1-4");
  EXPECT_EQ(a.Intersect(b).ToString(), std::string(A) + ":3-4:8-10:20-22:25:30:40," + B + ":5-6:9");
  // Identities of set arithmetic, on these sets.
  EXPECT_EQ(a.Subtract(b).Union(a.Intersect(b)), a);
  EXPECT_TRUE(a.Subtract(b).Intersect(b).empty());
  EXPECT_EQ(a.Union(b).Subtract(b), a.Subtract(b));
  EXPECT_TRUE(a.Union(b).Contains(a));
  EXPECT_TRUE(a.Union(b).Contains(b));
  EXPECT_FALSE(a.Contains(b));
  EXPECT_TRUE(a.Contains(MysqlGtidSet()));
  EXPECT_TRUE(a.Subtract(a).empty());
  EXPECT_EQ(a.Subtract(MysqlGtidSet()), a);
  // Tags are separate GTIDs: A:tag:1 is not A:1.
  auto tagged = Set(std::string(A) + ":t:1-3");
  EXPECT_EQ(tagged.Subtract(Set(std::string(A) + ":1-3")), tagged);
  EXPECT_EQ(Set(std::string(A) + ":1-3:t:2").Subtract(tagged).ToString(), std::string(A) + ":1-3");
}

TEST(MysqlGtidSetTest, SubtractMatchesABruteForceModel) {
  // Every pair of small sets over numbers 1..12 (bit masks), against a per-number model.
  auto from_mask = [](unsigned mask) {
    MysqlGtidSet s;
    for (unsigned n = 1; n <= 12; ++n) {
      if (mask & (1u << (n - 1))) s.Add({A, ""}, n, n);
    }
    return s;
  };
  for (unsigned x = 0; x < (1u << 12); x += 37) {
    for (unsigned y = 0; y < (1u << 12); y += 53) {
      MysqlGtidSet a = from_mask(x), b = from_mask(y);
      ASSERT_EQ(a.Subtract(b), from_mask(x & ~y)) << x << " " << y;
      ASSERT_EQ(a.Intersect(b), from_mask(x & y)) << x << " " << y;
      ASSERT_EQ(a.Union(b), from_mask(x | y)) << x << " " << y;
      ASSERT_EQ(MysqlGtidSet::Parse(a.ToString())->ToString(), a.ToString());
    }
  }
}

}  // namespace
}  // namespace failover
