#include "actuator/template.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

Template With(const std::string& text, TemplateContext context) {
  auto t = Template::Parse(text);
  EXPECT_TRUE(t) << t.error().message;
  auto c = t->SetContext(context);
  EXPECT_TRUE(c) << text << ": " << c.error().message;
  return *t;
}

TemplateVars Hostile(const std::string& value) {
  TemplateVars v = Vars();
  v.labels["x"] = value;
  return v;
}

// Each URL component gets its own encoding: in the path a '/' stays inside the segment
// and ".." is refused; in the query '&', '=', '#' are encoded; the host takes host
// characters only.
TEST(TemplateEscapingTest, UrlComponents) {
  Template t = With("http://127.0.0.1:9/notify/{{labels.x}}/send?dc={{labels.x}}&a=1#{{labels.x}}",
                    TemplateContext::kUrl);
  EXPECT_EQ(
      *t.Render(Hostile("../../admin")),
      "http://127.0.0.1:9/notify/..%2F..%2Fadmin/send?dc=..%2F..%2Fadmin&a=1#..%2F..%2Fadmin");
  EXPECT_EQ(*t.Render(Hostile("a&admin=1#x y")),
            "http://127.0.0.1:9/notify/a%26admin%3D1%23x%20y/send?dc=a%26admin%3D1%23x%20y&a=1"
            "#a%26admin%3D1%23x%20y");
  EXPECT_EQ(*t.Render(Hostile("us-east_1.b~")),
            "http://127.0.0.1:9/notify/us-east_1.b~/send?dc=us-east_1.b~&a=1#us-east_1.b~");
  for (const char* dots : {"..", "."}) {
    auto r = t.Render(Hostile(dots));
    ASSERT_FALSE(r) << dots;
    EXPECT_NE(r.error().message.find("labels.x = \"" + std::string(dots) + "\""), std::string::npos)
        << r.error().message;
  }
  Template host = With("https://{{labels.x}}.example.test/x", TemplateContext::kUrl);
  EXPECT_EQ(*host.Render(Hostile("eu-west")), "https://eu-west.example.test/x");
  for (const char* bad : {"evil.test/", "a@evil.test", "a:1", "a?b", "a#", ""}) {
    auto r = host.Render(Hostile(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("labels.x"), std::string::npos) << r.error().message;
  }
  for (const char* refused : {"{{labels.x}}", "{{labels.x}}://h/", "http:{{labels.x}}"}) {
    auto p = Template::Parse(refused);
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->SetContext(TemplateContext::kUrl)) << refused;
  }
}

// JSON: a value is escaped inside its string literal and cannot add keys; a placeholder
// outside a string literal is refused at load, as is a body that is not JSON.
TEST(TemplateEscapingTest, JsonStringsOnly) {
  Template t = With(R"({"region": "{{labels.x}}", "n": 1})", TemplateContext::kJson);
  std::string evil = "x\", \"admin\": true, \"y\": \"\\\n\x01\xff";
  auto r = t.Render(Hostile(evil));
  ASSERT_TRUE(r) << r.error().message;
  auto doc = nlohmann::json::parse(*r);
  EXPECT_EQ(doc.size(), 2u) << *r;
  EXPECT_FALSE(doc.contains("admin")) << *r;
  EXPECT_EQ(doc["region"], "x\", \"admin\": true, \"y\": \"\\\n\x01\xef\xbf\xbd");

  for (const char* refused : {R"({"n": {{labels.x}}})", R"({"{{labels.x}}": 1, "a": {{runbook}}})",
                              R"(["a", {{labels.x}}])", R"({"a": "{{labels.x}}")",
                              R"({"a": "\"{{labels.x}}\""} {{labels.x}})"}) {
    auto p = Template::Parse(refused);
    ASSERT_TRUE(p);
    auto c = p->SetContext(TemplateContext::kJson);
    EXPECT_FALSE(c) << refused;
  }
  auto outside = Template::Parse(R"({"n": {{labels.x}}})");
  EXPECT_NE(outside->SetContext(TemplateContext::kJson)
                .error()
                .message.find("{{labels.x}} stands outside a JSON string"),
            std::string::npos);
  // An escaped quote does not end the string; a key may be a placeholder.
  Template k = With(R"({"{{labels.x}}": "say \"{{labels.region}}\""})", TemplateContext::kJson);
  EXPECT_EQ(nlohmann::json::parse(*k.Render(Hostile("k\"")))["k\""], "say \"us-east\"");
}

// PromQL: the value cannot close its string literal (the always-true attack), regex
// matchers get the value as a literal, and a placeholder outside a string is refused.
TEST(TemplateEscapingTest, PromqlStringLiterals) {
  Template t =
      With(R"(up{region="{{labels.x}}", job='{{labels.x}}'} == 1)", TemplateContext::kPromql);
  auto r = t.Render(Hostile("x\"} or vector(1) or up{a='b\\\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(
      *r,
      R"(up{region="x\"} or vector(1) or up{a='b\\\n", job='x"} or vector(1) or up{a=\'b\\\n'} == 1)");
  Template re = With(R"(up{region=~ "{{labels.x}}", job!~'{{labels.x}}', i="{{labels.x}}"})",
                     TemplateContext::kPromql);
  EXPECT_EQ(*re.Render(Hostile(".*")), R"(up{region=~ "\\.\\*", job!~'\\.\\*', i=".*"})");

  for (const char* refused : {"up > {{labels.x}}", "{{labels.x}}", "up{a=\"b\"} # {{labels.x}}",
                              "up{a=`{{labels.x}}`}", R"(up{a="\"", b={{labels.x}}})"}) {
    auto p = Template::Parse(refused);
    ASSERT_TRUE(p);
    auto c = p->SetContext(TemplateContext::kPromql);
    EXPECT_FALSE(c) << refused;
  }
  auto p = Template::Parse("up > {{labels.x}}");
  EXPECT_NE(p->SetContext(TemplateContext::kPromql)
                .error()
                .message.find("{{labels.x}} stands outside a PromQL string literal"),
            std::string::npos);
  // A quote inside a comment opens nothing.
  With("up # it's \"fine\"\n== on(region) x{region=\"{{labels.x}}\"}", TemplateContext::kPromql);
}

// DNS names: each value is exactly one label.
TEST(TemplateEscapingTest, DnsNameLabels) {
  Template t = With("{{labels.x}}.example.test.", TemplateContext::kDnsName);
  EXPECT_EQ(*t.Render(Hostile("eu-west_2")), "eu-west_2.example.test.");
  for (const char* bad :
       {"ns1.example.test.", "a.b", "", "-a", "a-", "a b", "a\nb", "*",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}) {
    auto r = t.Render(Hostile(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("labels.x = "), std::string::npos) << r.error().message;
  }
}

// Headers: no control character gets through; form bodies are percent-encoded; text is
// as it is (exec argv, PagerDuty fields).
TEST(TemplateEscapingTest, HeaderFormAndText) {
  Template h = With("run {{labels.x}}", TemplateContext::kHeader);
  EXPECT_EQ(*h.Render(Hostile("a\tb")), "run a\tb");
  for (std::string bad : {std::string("a\r\nX-Admin: 1"), std::string("a\nb"),
                          std::string("a\0b", 3), std::string("a\x1b[2Jb"), std::string("a\x7f")}) {
    auto r = h.Render(Hostile(bad));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("labels.x"), std::string::npos) << r.error().message;
  }
  Template f = With("region={{labels.x}}&a=1", TemplateContext::kForm);
  EXPECT_EQ(*f.Render(Hostile("x&admin=1")), "region=x%26admin%3D1&a=1");
  Template text = With("{{labels.x}}", TemplateContext::kText);
  EXPECT_EQ(*text.Render(Hostile("a b; rm -rf /")), "a b; rm -rf /");
}

}  // namespace
}  // namespace failover
