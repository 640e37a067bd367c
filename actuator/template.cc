#include "actuator/template.h"

namespace failover {
namespace {

bool ValidPath(const std::string& path, std::string* why) {
  if (path == "runbook" || path == "execution_id") return true;
  for (const char* root : {"labels.", "annotations."}) {
    std::string r = root;
    if (path.rfind(r, 0) == 0) {
      if (path.size() == r.size()) {
        *why = "\"" + path + "\" needs a name after the dot";
        return false;
      }
      return true;
    }
  }
  *why = "unknown variable \"" + path +
         "\" (use labels.<name>, annotations.<name>, runbook or execution_id)";
  return false;
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string_view::npos ? "" : std::string(s.substr(b, e - b + 1));
}

}  // namespace

Result<Template> Template::Parse(std::string_view text) {
  Template t;
  t.source_ = std::string(text);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      t.parts_.push_back({false, std::string(text.substr(pos))});
      break;
    }
    if (open > pos) t.parts_.push_back({false, std::string(text.substr(pos, open - pos))});
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return Error::Invalid("template \"" + t.source_ + "\": \"{{\" at offset " +
                            std::to_string(open) + " is not closed by \"}}\"");
    }
    std::string path = Trim(text.substr(open + 2, close - open - 2));
    if (path.empty()) return Error::Invalid("template \"" + t.source_ + "\": empty \"{{ }}\"");
    std::string why;
    if (!ValidPath(path, &why)) return Error::Invalid("template \"" + t.source_ + "\": " + why);
    t.parts_.push_back({true, path});
    pos = close + 2;
  }
  return t;
}

bool Template::has_variables() const {
  for (const Part& p : parts_) {
    if (p.is_var) return true;
  }
  return false;
}

Result<std::string> Template::Render(const TemplateVars& vars) const {
  std::string out;
  for (const Part& p : parts_) {
    if (!p.is_var) {
      out += p.text;
      continue;
    }
    if (p.text == "runbook") {
      out += vars.runbook;
    } else if (p.text == "execution_id") {
      out += vars.execution_id;
    } else {
      bool is_label = p.text.rfind("labels.", 0) == 0;
      const LabelSet& set = is_label ? vars.labels : vars.annotations;
      std::string key = p.text.substr(is_label ? 7 : 12);
      auto it = set.find(key);
      if (it == set.end()) {
        return Error::Invalid("template \"" + source_ + "\": the alert has no " +
                              (is_label ? "label" : "annotation") + " \"" + key + "\"");
      }
      out += it->second;
    }
  }
  return out;
}

}  // namespace failover
