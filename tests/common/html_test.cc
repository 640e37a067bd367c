#include "common/html.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

TEST(HtmlEscapeTest, EscapesMarkup) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">O'Neil & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;");
}

TEST(HtmlEscapeTest, NeverEmitsRawControlCharacters) {
  // ESC (a terminal escape), BEL, NUL, CR, DEL and a C1 control (U+009B, CSI) from, say,
  // a command's output in a step message.
  std::string hostile =
      std::string("ok\x1b[31mred\x07\r", 12) + std::string(1, '\0') + "\x7f" + "\xc2\x9b" + "2J";
  std::string out = HtmlEscape(hostile);
  for (size_t i = 0; i < out.size(); ++i) {
    auto c = static_cast<unsigned char>(out[i]);
    EXPECT_FALSE((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) << "byte " << i;
    if (c == 0xc2 && i + 1 < out.size()) {
      EXPECT_FALSE(static_cast<unsigned char>(out[i + 1]) <= 0x9f) << "C1 control at " << i;
    }
  }
  EXPECT_EQ(out,
            "ok\xEF\xBF\xBD[31mred\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "\xEF\xBF\xBD"
            "2J");
  // Text, tabs, newlines and other UTF-8 stay as they are.
  EXPECT_EQ(HtmlEscape("a\tb\nc \xc3\xa9 \xe2\x86\x92"), "a\tb\nc \xc3\xa9 \xe2\x86\x92");
}

}  // namespace
}  // namespace failover
