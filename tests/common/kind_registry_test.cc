#include "common/kind_registry.h"

#include <gtest/gtest.h>

#include <functional>

namespace failover {
namespace {

using TestRegistry = KindRegistry<std::function<int()>>;

TestRegistry Databases() {
  TestRegistry r;
  r.Register({"postgres", "PostgreSQL", [] { return 2; }});
  r.Register({"mysql", "MySQL and MariaDB", [] { return 1; }});
  return r;
}

YamlNode Load(const std::string& text) {
  auto node = YamlNode::LoadString(text, "actuator.yml");
  EXPECT_TRUE(node) << node.error().message;
  return *node;
}

TEST(KindRegistryTest, FindsAKindByNameAndNothingElse) {
  TestRegistry r = Databases();
  const TestRegistry::Kind* mysql = r.Find("mysql");
  ASSERT_NE(mysql, nullptr);
  EXPECT_EQ(mysql->name, "mysql");
  EXPECT_EQ(mysql->description, "MySQL and MariaDB");
  EXPECT_EQ(mysql->factory(), 1);
  EXPECT_EQ(r.Find("oracle"), nullptr);
  EXPECT_EQ(r.Find("MySQL"), nullptr);
}

TEST(KindRegistryTest, NamesAreSortedWhateverTheRegistrationOrder) {
  EXPECT_EQ(Databases().Names(), (std::vector<std::string>{"mysql", "postgres"}));
  EXPECT_TRUE(TestRegistry().Names().empty());
}

TEST(KindRegistryTest, ListingPadsNamesAndLeavesEmptyDescriptionsOut) {
  TestRegistry r = Databases();
  r.Register({"a_very_long_kind_name", "long", [] { return 3; }});
  r.Register({"bare", "", [] { return 4; }});
  EXPECT_EQ(r.Listing("  ", 8),
            "  a_very_long_kind_name long\n"
            "  bare\n"
            "  mysql    MySQL and MariaDB\n"
            "  postgres PostgreSQL\n");
}

TEST(KindRegistryDeathTest, ADuplicateNameIsRefused) {
  TestRegistry r = Databases();
  EXPECT_DEATH(r.Register({"mysql", "again", [] { return 9; }}), "kind \"mysql\" registered twice");
}

TEST(KindRegistryTest, PicksTheKindAndItsBody) {
  TestRegistry r = Databases();
  YamlNode root = Load("databases:\n  eu: {mysql: {address: 127.0.0.1:3306}}\n");
  auto kind = ParseKindKey(*root.Get("databases")->Get("eu"), r, "database");
  ASSERT_TRUE(kind) << kind.error().message;
  EXPECT_EQ(kind->first, r.Find("mysql"));
  EXPECT_EQ(kind->second.path(), "databases.eu.mysql");
  EXPECT_EQ(*kind->second.Get("address")->AsString(), "127.0.0.1:3306");
}

// Every way of getting the kind key wrong gives the same sentence, located at the entry
// (file:line:column and key path) and naming the known kinds.
TEST(KindRegistryTest, NotExactlyOneKeyIsOneMessage) {
  TestRegistry r = Databases();
  const std::string want =
      "a database is a mapping with exactly one key, its kind (known: mysql, postgres)";
  struct Case {
    std::string yaml, where, found;
  };
  for (const Case& c : std::vector<Case>{
           {"databases:\n  eu: {}\n", "actuator.yml:2:7: databases.eu: ", ""},
           {"databases:\n  eu: mysql\n", "actuator.yml:2:7: databases.eu: ", ""},
           {"databases:\n  eu:\n", "databases.eu: ", ""},
           {"databases:\n  eu: [mysql]\n", "actuator.yml:2:7: databases.eu: ", ""},
           {"databases:\n  eu: {mysql: {}, postgres: {}}\n",
            "actuator.yml:2:7: databases.eu: ", "; found \"mysql\" and \"postgres\""},
           {"databases:\n  eu: {mysql: {}, postgres: {}, oracle: {}}\n",
            "actuator.yml:2:7: databases.eu: ", "; found \"mysql\", \"postgres\" and \"oracle\""},
       }) {
    YamlNode root = Load(c.yaml);
    YamlNode entry = root.Get("databases")->Entries()->at(0).second;  // eu: may be null
    auto kind = ParseKindKey(entry, r, "database");
    ASSERT_FALSE(kind) << c.yaml;
    EXPECT_NE(kind.error().message.find(c.where + want + c.found), std::string::npos)
        << c.yaml << "\n"
        << kind.error().message;
  }
}

TEST(KindRegistryTest, AnUnknownKindIsNamedWithTheKnownOnes) {
  TestRegistry r = Databases();
  YamlNode root = Load("databases:\n  eu:\n    oracle: {address: x}\n");
  auto kind = ParseKindKey(*root.Get("databases")->Get("eu"), r, "database");
  ASSERT_FALSE(kind);
  EXPECT_EQ(kind.error().message,
            "actuator.yml:3:13: databases.eu.oracle: unknown database kind \"oracle\" (known: "
            "mysql, postgres)");
}

// A probe's mapping holds name:, region:, ... besides its kind: those keys are not kinds.
TEST(KindRegistryTest, OtherKeysAreNotCountedAsKinds) {
  TestRegistry r = Databases();
  YamlNode root = Load("probes:\n  - {name: a, region: eu, postgres: {conninfo: x}}\n");
  YamlNode probe = root.Get("probes")->Items()->at(0);
  auto kind = ParseKindKey(probe, r, "probe", {"name", "region"});
  ASSERT_TRUE(kind) << kind.error().message;
  EXPECT_EQ(kind->first->name, "postgres");

  YamlNode none = Load("probes:\n  - {name: a, region: eu}\n").Get("probes")->Items()->at(0);
  auto missing = ParseKindKey(none, r, "probe", {"name", "region"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find(
                "probes[0]: a probe is a mapping with exactly one key, its kind, besides name, "
                "region (known: mysql, postgres)"),
            std::string::npos)
      << missing.error().message;
}

}  // namespace
}  // namespace failover
