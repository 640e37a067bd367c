// "{{labels.region}}"-style templates for runbook steps. Variables:
//   labels.<name>, annotations.<name>  — of the alert that triggered the execution
//   runbook, execution_id
// A variable that does not exist is an error (at config time for unknown roots, at render
// time for a missing label), never an empty string.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "actuator/alert.h"
#include "common/result.h"

namespace failover {

struct TemplateVars {
  LabelSet labels;
  LabelSet annotations;
  std::string runbook;
  std::string execution_id;
};

class Template {
 public:
  Template() = default;
  // Parses `text`; errors (unclosed "{{", empty or unknown variable) say what and where.
  static Result<Template> Parse(std::string_view text);
  Result<std::string> Render(const TemplateVars& vars) const;
  const std::string& source() const { return source_; }
  bool has_variables() const;

 private:
  struct Part {
    bool is_var;
    std::string text;  // literal text, or the variable path ("labels.region")
  };
  std::string source_;
  std::vector<Part> parts_;
};

}  // namespace failover
