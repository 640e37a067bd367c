// Command-line flags in the Prometheus style: --name=value or --name value, boolean
// flags as --name / --name=false, repeatable flags, --help generated from the definitions.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace failover {

class Flags {
 public:
  Flags(std::string program, std::string summary)
      : program_(std::move(program)), summary_(std::move(summary)) {}

  void String(std::string name, std::string* target, std::string help);
  void Bool(std::string name, bool* target, std::string help);
  // Repeatable (--web.listen-address=a --web.listen-address=b): the first value given
  // replaces the defaults in *target, later ones are added.
  void Strings(std::string name, std::vector<std::string>* target, std::string help);

  // Parses argv; positional (non-flag) arguments are returned. An unknown flag or a
  // missing value is an error naming the flag. `--help` sets help_requested().
  Result<std::vector<std::string>> Parse(int argc, const char* const* argv);
  bool help_requested() const { return help_; }
  std::string Usage() const;

 private:
  struct Def {
    std::string name;
    std::string help;
    std::string* str = nullptr;
    bool* flag = nullptr;
    std::vector<std::string>* list = nullptr;
    std::string default_value;
    bool seen = false;
  };
  std::string program_;
  std::string summary_;
  std::vector<Def> defs_;
  bool help_ = false;
};

}  // namespace failover
