// One registry pattern for every family of kinds a config names by a key: the exporter's
// probe kinds (exporter/prober_registry.cc), the actuator's step kinds
// (actuator/steps/registry.cc), DNS providers (actuator/dns/registry.cc), databases
// (actuator/db/registry.cc) and load-balancer providers (actuator/lb/registry.cc). Each
// registers its kinds explicitly, one Register line per kind; config loading finds a kind
// by its key through ParseKindKey, and --list-kinds prints Listing().
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/yaml.h"

namespace failover {

namespace kind_registry_detail {

// Stops the program: a kind was registered twice (a programming error in a registry .cc).
[[noreturn]] void DuplicateKind(const std::string& name);

// "  name       description\n" per kind, in the order given.
std::string Listing(const std::vector<std::pair<std::string, std::string>>& kinds,
                    std::string_view indent, size_t name_width);

// The key of `node` that names its kind, and the value under it. `kinds` are the family's
// names (sorted); keys listed in `other_keys` are skipped.
Result<std::pair<std::string, YamlNode>> ParseKindKey(
    const YamlNode& node, const std::vector<std::string>& kinds, std::string_view family,
    const std::vector<std::string_view>& other_keys);

}  // namespace kind_registry_detail

// The kinds of one family. `Factory` is the family's constructor signature (a
// std::function or a function pointer type); the registry never calls it.
template <typename Factory>
class KindRegistry {
 public:
  struct Kind {
    std::string name;         // the key in the config: "http", "dns_update", "powerdns", ...
    std::string description;  // one line for --list-kinds (may be empty: the name alone)
    Factory factory;
  };

  // Adds a kind. A name registered twice stops the program with a message naming it.
  void Register(Kind kind) {
    std::string name = kind.name;
    if (!kinds_.emplace(name, std::move(kind)).second) kind_registry_detail::DuplicateKind(name);
  }

  const Kind* Find(std::string_view name) const {
    auto it = kinds_.find(name);
    return it == kinds_.end() ? nullptr : &it->second;
  }

  // Every name, sorted.
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    out.reserve(kinds_.size());
    for (const auto& [name, kind] : kinds_) out.push_back(name);
    return out;
  }

  // What --list-kinds prints for this family: one line per kind, sorted by name, the name
  // after `indent`, padded to `name_width`, then a space and the description.
  std::string Listing(std::string_view indent, size_t name_width) const {
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto& [name, kind] : kinds_) rows.emplace_back(name, kind.description);
    return kind_registry_detail::Listing(rows, indent, name_width);
  }

 private:
  std::map<std::string, Kind, std::less<>> kinds_;
};

// The kind a config mapping names by its one kind key, and the body under that key:
//   databases:
//     eu-west-db: {mysql: {address: ...}}      -> (kind "mysql", the mapping under mysql:)
// `family` names the family in errors ("probe", "step", "DNS provider", "database", "load
// balancer"). `other_keys` are the keys the mapping may hold besides its kind (a probe's
// name:, region:, ...); the caller checks them. Errors are located (YamlNode::Fail):
//   <file>:<line>:<col>: <path>: a database is a mapping with exactly one key, its kind
//     (known: mysql, postgres); found "mysql" and "postgres"
//   <file>:<line>:<col>: <path>.oracle: unknown database kind "oracle" (known: mysql, postgres)
template <typename Factory>
Result<std::pair<const typename KindRegistry<Factory>::Kind*, YamlNode>> ParseKindKey(
    const YamlNode& node, const KindRegistry<Factory>& registry, std::string_view family,
    const std::vector<std::string_view>& other_keys = {}) {
  auto key = kind_registry_detail::ParseKindKey(node, registry.Names(), family, other_keys);
  if (!key) return key.error();
  return std::pair<const typename KindRegistry<Factory>::Kind*, YamlNode>(registry.Find(key->first),
                                                                          std::move(key->second));
}

}  // namespace failover
