// libFuzzer target: "{{labels.region}}" templates (actuator/template.cc). The first line of
// the input is the template; the lines after it are label values ("name=value"). Parsing
// and rendering must never crash; a template without variables renders as itself, in every
// escaping context that accepts it (escaping touches values only).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "actuator/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view text = in.substr(0, nl);
  failover::TemplateVars vars;
  vars.labels = {{"alertname", "RegionDown"}, {"region", "us-east"}};
  vars.annotations = {{"summary", "us-east is down"}};
  vars.runbook = "failover-us-east";
  vars.execution_id = "20261122T013610Z-8c12e8";
  while (nl != std::string_view::npos) {
    in.remove_prefix(nl + 1);
    nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    vars.labels[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  auto t = failover::Template::Parse(text);
  if (!t) return 0;
  if (t->source() != text) std::abort();
  auto out = t->Render(vars);
  if (!t->has_variables() && (!out || *out != text)) std::abort();
  using failover::TemplateContext;
  for (TemplateContext c : {TemplateContext::kText, TemplateContext::kUrl, TemplateContext::kJson,
                            TemplateContext::kForm, TemplateContext::kHeader,
                            TemplateContext::kPromql, TemplateContext::kDnsName}) {
    failover::Template copy = *t;
    if (!copy.SetContext(c)) continue;
    auto escaped = copy.Render(vars);
    if (!t->has_variables() && (!escaped || *escaped != text)) std::abort();
  }
  return 0;
}
