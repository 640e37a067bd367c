// "{{labels.region}}"-style templates for runbook steps. Variables:
//   labels.<name>, annotations.<name>  — of the alert that triggered the execution
//   runbook, execution_id
// A variable that does not exist is an error (at config time for unknown roots, at render
// time for a missing label), never an empty string.
//
// Values are escaped for where they land (docs/actuator-steps.md, "Templates and
// escaping"): each step tells its templates their context with SetContext() when it loads
// its config, which looks at the literal text around every placeholder and refuses a
// placeholder that stands where no value can be made safe (outside a JSON or PromQL string
// literal, in a URL's scheme). Render() then encodes each value for its spot, or fails
// naming the variable when the value cannot be made safe there (".." as a URL path
// segment, "ns1.example.test" where one DNS label belongs, a line break in a header).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "actuator/alert.h"
#include "common/result.h"

namespace failover {

class YamlNode;

struct TemplateVars {
  LabelSet labels;
  LabelSet annotations;
  std::string runbook;
  std::string execution_id;
};

enum class TemplateContext {
  kText,     // values as they are: exec argv elements, PagerDuty fields (sent as JSON)
  kUrl,      // an http(s) URL: host restricted, path/query/fragment percent-encoded
  kJson,     // a JSON document: placeholders only inside string literals, JSON-escaped
  kForm,     // an application/x-www-form-urlencoded body: percent-encoded
  kHeader,   // an HTTP header value: any control character (CR, LF, NUL, ...) is refused
  kPromql,   // PromQL: placeholders only inside "..." or '...', escaped for the literal
  kDnsName,  // a DNS name: every value must be one valid label (no '.')
};

class Template {
 public:
  Template() = default;
  // Parses `text`; errors (unclosed "{{", empty or unknown variable) say what and where.
  static Result<Template> Parse(std::string_view text);
  // Parse() of the string at `node`; an error names the node's file:line:key.
  static Result<Template> FromYaml(const YamlNode& node);
  // Decides how each placeholder's value is escaped; call once after Parse. Refuses (at
  // config load) a template where a placeholder stands where no escaping is possible.
  Status SetContext(TemplateContext context);
  Result<std::string> Render(const TemplateVars& vars) const;
  const std::string& source() const { return source_; }
  bool has_variables() const;
  TemplateContext context() const { return context_; }

 private:
  // Turns a value into the text inserted at one placeholder, or says why it cannot be.
  using Escaper = std::function<Result<std::string>(std::string_view value)>;
  struct Part {
    bool is_var;
    std::string text;  // literal text, or the variable path ("labels.region")
    Escaper escape;    // variables only; empty: the value as it is
  };
  std::string source_;
  std::vector<Part> parts_;
  TemplateContext context_ = TemplateContext::kText;
};

// The encoders, exposed for tests and for steps that build text themselves.
// Percent-encodes every byte but the RFC 3986 unreserved ones (A-Z a-z 0-9 - . _ ~).
std::string PercentEncode(std::string_view value);
// The inside of a JSON string literal: `"`, `\` and control characters escaped; bytes that
// are not UTF-8 become U+FFFD.
std::string JsonStringEscape(std::string_view value);
// The inside of a PromQL string literal opened with `quote` (" or '): `\`, the quote,
// line breaks and every other control character escaped.
std::string PromqlStringEscape(std::string_view value, char quote);
// Backslash before every RE2 metacharacter, so the value matches only itself.
std::string RegexQuote(std::string_view value);
// OK when `value` is one DNS label: 1 to 63 letters, digits, '-' or '_', not starting or
// ending with '-'.
Status CheckDnsLabel(std::string_view value);

}  // namespace failover
