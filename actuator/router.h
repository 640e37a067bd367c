// Which runbooks an alert triggers: label matchers (equality, negation, RE2 regex with
// Alertmanager's fully-anchored semantics) and the alert's status.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actuator/alert.h"
#include "common/result.h"

namespace re2 {
class RE2;
}

namespace failover {

struct Matcher {
  enum class Op { kEqual, kNotEqual, kRegex, kNotRegex };
  std::string label;
  Op op = Op::kEqual;
  std::string value;
  std::shared_ptr<re2::RE2> re;

  // From a config value: "v" or "=v" (equal), "!=v", "=~re", "!~re". A missing label
  // counts as the empty string, as in Alertmanager.
  static Result<Matcher> Parse(const std::string& label, const std::string& spec);
  bool Matches(const LabelSet& labels) const;
  std::string ToString() const;  // region=~"us-.*"
};

bool MatchesAll(const std::vector<Matcher>& matchers, const LabelSet& labels);

}  // namespace failover
