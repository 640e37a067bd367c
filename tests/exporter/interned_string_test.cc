#include "exporter/interned_string.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace failover {
namespace {

TEST(InternedStringTest, EqualValuesAreOneObject) {
  InternedString a("eu-west");
  InternedString b(std::string("eu-") + "west");
  InternedString c(std::string_view("eu-west-2").substr(0, 7));
  EXPECT_EQ(&a.str(), &b.str());
  EXPECT_EQ(&a.str(), &c.str());
  EXPECT_NE(&a.str(), &InternedString("us-east").str());
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == InternedString("us-east"));
}

TEST(InternedStringTest, ComparesAndPrintsAsItsText) {
  InternedString kind("http");
  EXPECT_EQ(kind, "http");
  EXPECT_EQ(kind, std::string("http"));
  EXPECT_EQ(kind, std::string_view("http"));
  EXPECT_FALSE(kind == "https");
  EXPECT_EQ(kind.size(), 4u);
  const std::string& text = kind;
  EXPECT_EQ(text, "http");
  std::ostringstream out;
  out << kind;
  EXPECT_EQ(out.str(), "http");
}

TEST(InternedStringTest, DefaultIsEmpty) {
  EXPECT_TRUE(InternedString().empty());
  EXPECT_EQ(InternedString(), "");
  EXPECT_EQ(InternedString(), InternedString(""));
}

TEST(InternedStringTest, ThreadsInterningTheSameValuesGetTheSameObjects) {
  std::vector<const std::string*> seen(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&seen, t] {
      for (int i = 0; i < 200; ++i) InternedString("region-" + std::to_string(i));
      seen[t] = &InternedString("region-7").str();
    });
  }
  for (auto& th : threads) th.join();
  for (const std::string* p : seen) EXPECT_EQ(p, seen[0]);
}

}  // namespace
}  // namespace failover
