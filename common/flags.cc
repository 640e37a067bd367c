#include "common/flags.h"

namespace failover {

void Flags::String(std::string name, std::string* target, std::string help) {
  defs_.push_back({std::move(name), std::move(help), target, nullptr, *target});
}

void Flags::Bool(std::string name, bool* target, std::string help) {
  defs_.push_back({std::move(name), std::move(help), nullptr, target, *target ? "true" : ""});
}

Result<std::vector<std::string>> Flags::Parse(int argc, const char* const* argv) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    Def* def = nullptr;
    for (Def& d : defs_) {
      if (d.name == name) def = &d;
    }
    if (def == nullptr && !has_value && name.rfind("no-", 0) == 0) {
      for (Def& d : defs_) {
        if (d.flag != nullptr && d.name == name.substr(3)) {
          *d.flag = false;
          def = &d;
        }
      }
      if (def != nullptr) continue;
    }
    if (def == nullptr) {
      return Error::Invalid("unknown flag --" + name + " (see --help)");
    }
    if (def->flag != nullptr) {
      if (!has_value || value == "true") {
        *def->flag = true;
      } else if (value == "false") {
        *def->flag = false;
      } else {
        return Error::Invalid("flag --" + name + " takes true or false, not \"" + value + "\"");
      }
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) return Error::Invalid("flag --" + name + " needs a value");
      value = argv[++i];
    }
    *def->str = value;
  }
  return positional;
}

std::string Flags::Usage() const {
  std::string out = "usage: " + program_ + " [<flags>]\n\n" + summary_ + "\n\nFlags:\n";
  for (const Def& d : defs_) {
    std::string left = "  --" + d.name + (d.str != nullptr ? "=VALUE" : "");
    if (left.size() < 34) left.resize(34, ' ');
    out += left + " " + d.help;
    if (!d.default_value.empty()) out += " (default: " + d.default_value + ")";
    out += "\n";
  }
  out += "  --help                             Show this help and exit.\n";
  return out;
}

}  // namespace failover
