#include "common/sql.h"

#include <gtest/gtest.h>

#include <utility>

namespace failover {
namespace {

// BackslashQuote builds the MySQL statements of db_rejoin (CHANGE MASTER TO ... with the
// replication password) and libpq conninfo values: a quote or backslash in a value must
// stay inside the literal.
TEST(BackslashQuoteTest, KeepsQuotesAndBackslashesInsideTheLiteral) {
  const std::pair<const char*, const char*> cases[] = {
      {"0-1-17", "'0-1-17'"},
      {"", "''"},
      {"it's", "'it\\'s'"},
      {"a\\b", "'a\\\\b'"},
      {"x' OR '1'='1", "'x\\' OR \\'1\\'=\\'1'"},
  };
  for (const auto& [value, literal] : cases) EXPECT_EQ(BackslashQuote(value), literal) << value;
}

TEST(SqlTextTest, NullIsEmpty) {
  EXPECT_EQ(SqlText(std::nullopt), "");
  EXPECT_EQ(SqlText(std::optional<std::string>("ON")), "ON");
}

}  // namespace
}  // namespace failover
