// The single list of probe kinds: config validation, --list-kinds, and the metric
// families that get pre-initialised all come from it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "exporter/prober.h"

namespace failover {

struct ProberKind {
  std::string name;         // the key in the probe's YAML block: "http", "tcp", ...
  std::string description;  // one line for --list-kinds
  ProberFactory factory;
};

class ProberRegistry {
 public:
  void Register(ProberKind kind);
  const ProberKind* Find(const std::string& name) const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, ProberKind> kinds_;
};

// Registers every built-in kind. A new kind: probers/<kind>.{h,cc}, a Register line in
// prober_registry.cc, its .cc in exporter/CMakeLists.txt (docs/development.md lists the rest).
void RegisterBuiltinProbers(ProberRegistry& registry);

}  // namespace failover
