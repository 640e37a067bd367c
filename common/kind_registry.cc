#include "common/kind_registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace failover::kind_registry_detail {
namespace {

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

void DuplicateKind(const std::string& name) {
  std::fprintf(stderr, "kind \"%s\" registered twice\n", name.c_str());
  std::abort();
}

std::string Listing(const std::vector<std::pair<std::string, std::string>>& kinds,
                    std::string_view indent, size_t name_width) {
  std::string out;
  for (const auto& [name, description] : kinds) {
    out += indent;
    out += name;
    if (!description.empty()) {
      if (name.size() < name_width) out.append(name_width - name.size(), ' ');
      out += " " + description;
    }
    out += "\n";
  }
  return out;
}

Result<std::pair<std::string, YamlNode>> ParseKindKey(
    const YamlNode& node, const std::vector<std::string>& kinds, std::string_view family,
    const std::vector<std::string_view>& other_keys) {
  std::vector<std::pair<std::string, YamlNode>> found;
  if (node.IsMap()) {
    auto entries = node.Entries();
    if (!entries) return entries.error();
    for (auto& [key, value] : *entries) {
      if (std::find(other_keys.begin(), other_keys.end(), key) == other_keys.end()) {
        found.emplace_back(key, value);
      }
    }
  }
  const std::string known = " (known: " + Join(kinds) + ")";
  if (found.size() != 1) {
    std::string message =
        "a " + std::string(family) + " is a mapping with exactly one key, its kind";
    if (!other_keys.empty()) {
      std::string others;
      for (std::string_view k : other_keys) others += (others.empty() ? "" : ", ") + std::string(k);
      message += ", besides " + others;
    }
    message += known;
    if (found.size() > 1) {
      message += "; found";
      for (size_t i = 0; i < found.size(); ++i) {
        message += i == 0 ? " " : i + 1 == found.size() ? " and " : ", ";
        message += "\"" + found[i].first + "\"";
      }
    }
    return node.Fail(message);
  }
  auto& [name, body] = found[0];
  if (std::find(kinds.begin(), kinds.end(), name) == kinds.end()) {
    return body.Fail("unknown " + std::string(family) + " kind \"" + name + "\"" + known);
  }
  return std::move(found[0]);
}

}  // namespace failover::kind_registry_detail
