#include "common/yaml.h"

#include <fstream>
#include <set>
#include <sstream>

namespace failover {
namespace {

std::string Join(const std::vector<std::string_view>& v) {
  std::string out;
  for (auto s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

const char* TypeName(const YAML::Node& n) {
  if (!n || n.IsNull()) return "nothing";
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  return "a scalar";
}

}  // namespace

Result<YamlNode> YamlNode::LoadString(const std::string& text, const std::string& source) {
  try {
    YAML::Node n = YAML::Load(text);
    return YamlNode(n, std::make_shared<const std::string>(source), "");
  } catch (const YAML::Exception& e) {
    return Error::Invalid(source + ":" + std::to_string(e.mark.line + 1) + ":" +
                          std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  }
}

Result<YamlNode> YamlNode::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::Invalid(path + ": cannot read config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadString(ss.str(), path);
}

Error YamlNode::Fail(std::string_view message) const {
  std::string where = *source_;
  if (node_) where += ":" + std::to_string(line()) + ":" + std::to_string(column());
  std::string p = path_.empty() ? std::string("(top level)") : path_;
  return Error::Invalid(where + ": " + p + ": " + std::string(message));
}

YamlNode YamlNode::Child(const YAML::Node& n, std::string_view key) const {
  std::string p = path_;
  if (!key.empty() && key.front() == '[') {
    p += key;
  } else {
    if (!p.empty()) p += '.';
    p += key;
  }
  return YamlNode(n, source_, std::move(p));
}

Status YamlNode::ExpectMap() const {
  if (!node_.IsMap()) return Fail(std::string("expected a mapping, found ") + TypeName(node_));
  return {};
}

Status YamlNode::ExpectKeys(const std::vector<std::string_view>& allowed) const {
  if (auto s = ExpectMap(); !s) return s;
  std::set<std::string> seen;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    YamlNode key = Child(it->first, it->first.Scalar());
    const std::string& k = it->first.Scalar();
    bool ok = false;
    for (auto a : allowed) ok = ok || a == k;
    if (!ok) return key.Fail("unknown key \"" + k + "\" (known keys: " + Join(allowed) + ")");
    if (!seen.insert(k).second) return key.Fail("key \"" + k + "\" appears twice");
  }
  return {};
}

std::optional<YamlNode> YamlNode::Get(std::string_view key) const {
  if (!node_.IsMap()) return std::nullopt;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (it->first.Scalar() == key) {
      if (!it->second || it->second.IsNull()) return std::nullopt;
      return Child(it->second, key);
    }
  }
  return std::nullopt;
}

Result<YamlNode> YamlNode::Require(std::string_view key) const {
  if (auto s = ExpectMap(); !s) return s.error();
  if (auto c = Get(key)) return *c;
  return Fail("missing required key \"" + std::string(key) + "\"");
}

Result<std::vector<YamlNode>> YamlNode::Items() const {
  if (!node_.IsSequence()) return Fail(std::string("expected a list, found ") + TypeName(node_));
  std::vector<YamlNode> out;
  for (size_t i = 0; i < node_.size(); ++i) {
    out.push_back(Child(node_[i], "[" + std::to_string(i) + "]"));
  }
  return out;
}

Result<std::vector<std::pair<std::string, YamlNode>>> YamlNode::Entries() const {
  if (auto s = ExpectMap(); !s) return s.error();
  std::vector<std::pair<std::string, YamlNode>> out;
  std::set<std::string> seen;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string& k = it->first.Scalar();
    if (!seen.insert(k).second) {
      return Child(it->first, k).Fail("key \"" + k + "\" appears twice");
    }
    YamlNode child = Child(it->second, k);
    out.emplace_back(k, child);
  }
  return out;
}

Result<std::string> YamlNode::AsString() const {
  if (!node_.IsScalar()) return Fail(std::string("expected a string, found ") + TypeName(node_));
  return node_.Scalar();
}

Result<long long> YamlNode::AsInt() const {
  if (!node_.IsScalar()) return Fail(std::string("expected an integer, found ") + TypeName(node_));
  const std::string& s = node_.Scalar();
  try {
    size_t pos = 0;
    long long v = std::stoll(s, &pos, 10);
    if (pos == s.size()) return v;
  } catch (const std::exception&) {
  }
  return Fail("expected an integer, found \"" + s + "\"");
}

Result<double> YamlNode::AsDouble() const {
  if (!node_.IsScalar()) return Fail(std::string("expected a number, found ") + TypeName(node_));
  const std::string& s = node_.Scalar();
  try {
    size_t pos = 0;
    double v = std::stod(s, &pos);
    if (pos == s.size()) return v;
  } catch (const std::exception&) {
  }
  return Fail("expected a number, found \"" + s + "\"");
}

Result<bool> YamlNode::AsBool() const {
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return Fail("expected true or false");
}

Result<Duration> YamlNode::AsDuration() const {
  auto s = AsString();
  if (!s) return s.error();
  auto d = ParseDuration(*s);
  if (!d) return Fail(d.error().message);
  return *d;
}

Result<std::vector<std::string>> YamlNode::AsStringList() const {
  auto items = Items();
  if (!items) return items.error();
  std::vector<std::string> out;
  for (const YamlNode& item : *items) {
    auto s = item.AsString();
    if (!s) return s.error();
    out.push_back(*s);
  }
  return out;
}

Result<std::map<std::string, std::string>> YamlNode::AsStringMap() const {
  auto entries = Entries();
  if (!entries) return entries.error();
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : *entries) {
    auto s = v.AsString();
    if (!s) return s.error();
    out[k] = *s;
  }
  return out;
}

std::string YamlNode::Fingerprint() const {
  YAML::Emitter e;
  e.SetMapFormat(YAML::Flow);
  e.SetSeqFormat(YAML::Flow);
  e << node_;
  return e.c_str();
}

}  // namespace failover
