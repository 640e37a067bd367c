#include "actuator/router.h"

#include <re2/re2.h>

namespace failover {

Result<Matcher> Matcher::Parse(const std::string& label, const std::string& spec) {
  Matcher m;
  m.label = label;
  if (spec.rfind("=~", 0) == 0 || spec.rfind("!~", 0) == 0) {
    m.op = spec[0] == '=' ? Op::kRegex : Op::kNotRegex;
    m.value = spec.substr(2);
    RE2::Options opts;
    opts.set_log_errors(false);
    m.re = std::make_shared<RE2>("^(?:" + m.value + ")$", opts);
    if (!m.re->ok()) {
      return Error::Invalid("invalid regular expression \"" + m.value + "\": " + m.re->error());
    }
  } else if (spec.rfind("!=", 0) == 0) {
    m.op = Op::kNotEqual;
    m.value = spec.substr(2);
  } else if (spec.rfind("=", 0) == 0) {
    m.value = spec.substr(1);
  } else {
    m.value = spec;
  }
  return m;
}

bool Matcher::Matches(const LabelSet& labels) const {
  auto it = labels.find(label);
  const std::string empty;
  const std::string& v = it == labels.end() ? empty : it->second;
  switch (op) {
    case Op::kEqual:
      return v == value;
    case Op::kNotEqual:
      return v != value;
    case Op::kRegex:
      return RE2::FullMatch(v, *re);
    case Op::kNotRegex:
      return !RE2::FullMatch(v, *re);
  }
  return false;
}

std::string Matcher::ToString() const {
  const char* ops[] = {"=", "!=", "=~", "!~"};
  return label + ops[static_cast<int>(op)] + "\"" + value + "\"";
}

bool MatchesAll(const std::vector<Matcher>& matchers, const LabelSet& labels) {
  for (const Matcher& m : matchers) {
    if (!m.Matches(labels)) return false;
  }
  return true;
}

}  // namespace failover
