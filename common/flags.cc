#include "common/flags.h"

#include <algorithm>

namespace failover {

void Flags::String(std::string name, std::string* target, std::string help) {
  defs_.push_back({std::move(name), std::move(help), target, nullptr, nullptr, *target});
}

void Flags::Bool(std::string name, bool* target, std::string help) {
  defs_.push_back(
      {std::move(name), std::move(help), nullptr, target, nullptr, *target ? "true" : ""});
}

void Flags::Strings(std::string name, std::vector<std::string>* target, std::string help) {
  std::string defaults;
  for (const std::string& v : *target) defaults += (defaults.empty() ? "" : ", ") + v;
  Def d{std::move(name), std::move(help), nullptr, nullptr, target, defaults};
  defs_.push_back(std::move(d));
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
    if (def->list != nullptr) {
      if (!def->seen) def->list->clear();
      def->seen = true;
      def->list->push_back(value);
    } else {
      *def->str = value;
    }
  }
  return positional;
}

std::string Flags::Usage() const {
  // One column for every help text (the longest flag decides where), wrapped at 80
  // characters with continuation lines under the column, as kingpin's --help looks.
  struct Row {
    std::string left, help;
  };
  std::vector<Row> rows;
  for (const Def& d : defs_) {
    std::string help = d.help;
    if (d.list != nullptr) help += " Repeatable.";
    if (!d.default_value.empty()) help += " (default: " + d.default_value + ")";
    rows.push_back({"--" + d.name + (d.flag == nullptr ? "=VALUE" : ""), help});
  }
  rows.push_back({"--help", "Show this help and exit."});
  size_t column = 0;
  for (const Row& r : rows) column = std::max(column, r.left.size());
  column += 4;  // two spaces before the flag, two after the longest one
  const size_t width = std::max<size_t>(80, column + 30);
  std::string out = "usage: " + program_ + " [<flags>]\n\n" + summary_ + "\n\nFlags:\n";
  for (const Row& r : rows) {
    std::string line = "  " + r.left;
    line.resize(column, ' ');
    size_t pos = 0;
    while (pos < r.help.size()) {
      size_t room = width - column;
      size_t end = r.help.size();
      if (end - pos > room) {
        end = r.help.rfind(' ', pos + room);
        if (end == std::string::npos || end <= pos) end = std::min(r.help.size(), pos + room);
      }
      line += r.help.substr(pos, end - pos);
      out += line + "\n";
      pos = end;
      while (pos < r.help.size() && r.help[pos] == ' ') ++pos;
      line.assign(column, ' ');
    }
  }
  return out;
}

}  // namespace failover
