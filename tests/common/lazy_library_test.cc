// A library mapped on first use (common/lazy_library.h): a missing one is named in the
// error, a present one is mapped once and its functions are the library's own.
#include "common/lazy_library.h"

#include <gtest/gtest.h>
#include <zlib.h>

namespace failover {
namespace {

TEST(LazyLibraryTest, AMissingLibraryIsNamedWithWhatNeedsIt) {
  LazyLibrary lib("libfailover-no-such-library.so.7", "frobnicate probes");
  EXPECT_FALSE(lib.loaded());
  auto st = lib.Load();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("cannot load libfailover-no-such-library.so.7, which "
                                    "frobnicate probes need: "),
            std::string::npos)
      << st.error().message;
  EXPECT_FALSE(lib.loaded());
  EXPECT_FALSE(lib.Load());  // tried once; the failure stays
}

TEST(LazyLibraryTest, LoadsOnceAndFindsTheLibrarysFunctions) {
  LazyLibrary lib("libz.so.1", "tests");
  EXPECT_FALSE(lib.loaded());
  ASSERT_TRUE(lib.Load());
  EXPECT_TRUE(lib.loaded());
  EXPECT_TRUE(lib.Load());
  using Version = const char* (*)();
  auto version = reinterpret_cast<Version>(lib.Symbol("zlibVersion"));
  ASSERT_NE(version, nullptr);
  EXPECT_STREQ(version(), zlibVersion());
}

TEST(LazyLibraryDeathTest, AMissingFunctionEndsTheProcessNamingIt) {
  LazyLibrary lib("libz.so.1", "tests");
  EXPECT_DEATH(lib.Symbol("failover_no_such_function"),
               "a library lacks a function.*libz.so.1.*failover_no_such_function");
}

}  // namespace
}  // namespace failover
