#include "actuator/template.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

TemplateVars Vars() {
  TemplateVars v;
  v.labels = {{"region", "us-east"}, {"zone", "a b; rm -rf /"}};
  v.annotations = {{"summary", "us-east is down"}};
  v.runbook = "failover-us-east";
  v.execution_id = "20261121T000000Z-abc123";
  return v;
}

TEST(TemplateTest, RendersEveryVariableKind) {
  auto t = Template::Parse(
      "{{labels.region}}|{{ annotations.summary }}|{{runbook}}|{{execution_id}}|plain");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_TRUE(t->has_variables());
  EXPECT_EQ(*t->Render(Vars()),
            "us-east|us-east is down|failover-us-east|20261121T000000Z-abc123|plain");
}

TEST(TemplateTest, PlainTextAndValuesAreNotReinterpreted) {
  auto t = Template::Parse("no variables here");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->has_variables());
  EXPECT_EQ(*t->Render(Vars()), "no variables here");
  auto v = Template::Parse("{{labels.zone}}");
  EXPECT_EQ(*v->Render(Vars()), "a b; rm -rf /");
}

TEST(TemplateTest, SyntaxAndUnknownVariablesFailAtParse) {
  EXPECT_NE(Template::Parse("x {{labels.region").error().message.find("is not closed"),
            std::string::npos);
  EXPECT_NE(Template::Parse("{{}}").error().message.find("empty"), std::string::npos);
  auto unknown = Template::Parse("{{label.region}}");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown variable \"label.region\""), std::string::npos);
  EXPECT_FALSE(Template::Parse("{{labels.}}"));
}

TEST(TemplateTest, MissingLabelIsAnErrorNotAnEmptyString) {
  auto t = Template::Parse("http://x/?r={{labels.datacenter}}");
  ASSERT_TRUE(t);
  auto r = t->Render(Vars());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("the alert has no label \"datacenter\""), std::string::npos);
  auto a = Template::Parse("{{annotations.runbook_url}}")->Render(Vars());
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("no annotation \"runbook_url\""), std::string::npos);
}

}  // namespace
}  // namespace failover
