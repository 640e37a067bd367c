#include "common/xml.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

TEST(XmlTest, ParsesEnvelopes) {
  auto doc = ParseXml(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c -->"
      "<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">"
      "<Error><Type>Sender</Type><Code>InvalidInput</Code>"
      "<Message>a &lt;b&gt; &amp; &quot;c&quot; &#65;&#x42; <![CDATA[<raw>]]></Message></Error>"
      "<RequestId>r-1</RequestId><Empty/><x:Pre a='1' b=\"2\">p</x:Pre></ErrorResponse>");
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(doc->name, "ErrorResponse");
  EXPECT_EQ(doc->Text("Error/Code"), "InvalidInput");
  EXPECT_EQ(doc->Text("Error/Message"), "a <b> & \"c\" AB <raw>");
  EXPECT_EQ(doc->Text("Pre"), "p");
  EXPECT_EQ(doc->Text("Missing/Code"), "");
  ASSERT_NE(doc->Find("Type"), nullptr);
  EXPECT_EQ(doc->Find("Type")->text, "Sender");
  EXPECT_EQ(XmlEscape("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
}

TEST(XmlTest, RejectsMalformed) {
  for (const char* bad :
       {"", "<a>", "<a></b>", "<a>&bogus;</a>", "<a x=1></a>", "<a></a><b/>", "text"}) {
    EXPECT_FALSE(ParseXml(bad)) << bad;
  }
}

}  // namespace
}  // namespace failover
