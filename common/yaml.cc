#include "common/yaml.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <deque>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

namespace failover {
namespace yaml_detail {

struct Data {
  enum class Type : unsigned char { kNull, kScalar, kSequence, kMap };
  Type type = Type::kNull;
  int line = 0, column = 0;  // 1-based; 0 for an empty document
  std::string scalar;        // kScalar only
  // kSequence: the items; kMap: key, value, key, value, ... in file order.
  std::vector<const Data*> children;
};

struct Doc {
  std::string source;
  std::deque<Data> nodes;  // stable addresses
  const Data* root = nullptr;
  // The keys parsers asked of each mapping (YamlNode::Get, Require, HasKey), until
  // RejectUnreadKeys checks that mapping and forgets them.
  mutable std::mutex asked_mu;
  mutable std::unordered_map<const Data*, std::vector<std::string>> asked;
};

namespace {

// Builds the tree from yaml-cpp's parser events. An alias points at its anchored node
// (the tree becomes a DAG, which is fine: it is never changed).
class Builder : public YAML::EventHandler {
 public:
  explicit Builder(Doc& doc) : doc_(doc) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Add(New(Data::Type::kNull, mark), anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (anchor == 0 || anchor > anchors_.size() || anchors_[anchor - 1] == nullptr) {
      throw YAML::ParserException(mark, "unknown alias");
    }
    Add(anchors_[anchor - 1], 0);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    Data* d = New(Data::Type::kScalar, mark);
    d->scalar = value;
    Add(d, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(New(Data::Type::kSequence, mark), anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(New(Data::Type::kMap, mark), anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  Data* New(Data::Type type, const YAML::Mark& mark) {
    Data& d = doc_.nodes.emplace_back();
    d.type = type;
    d.line = mark.line + 1;
    d.column = mark.column + 1;
    return &d;
  }
  void Add(const Data* d, YAML::anchor_t anchor) {
    if (anchor != 0) {
      if (anchors_.size() < anchor) anchors_.resize(anchor, nullptr);
      anchors_[anchor - 1] = d;
    }
    if (open_.empty()) {
      if (doc_.root == nullptr) doc_.root = d;
    } else {
      open_.back()->children.push_back(d);
    }
  }
  void Open(Data* d, YAML::anchor_t anchor) {
    Add(d, anchor);
    open_.push_back(d);
  }
  void Close() {
    open_.back()->children.shrink_to_fit();
    open_.pop_back();
  }

  Doc& doc_;
  std::vector<Data*> open_;
  std::vector<const Data*> anchors_;
};

}  // namespace
}  // namespace yaml_detail

namespace {

using yaml_detail::Data;

std::string Join(const std::vector<std::string_view>& v) {
  std::string out;
  for (auto s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

const char* TypeName(const Data* n) {
  switch (n->type) {
    case Data::Type::kNull:
      return "nothing";
    case Data::Type::kMap:
      return "a mapping";
    case Data::Type::kSequence:
      return "a list";
    default:
      return "a scalar";
  }
}

// `seen` numbers the nodes already written: a node reached again (through an alias) is
// written as a back-reference, so that a document of nested aliases (a "billion laughs")
// costs its size, not its expansion.
void AppendFingerprint(std::string& out, const Data* n,
                       std::unordered_map<const Data*, size_t>& seen) {
  auto [it, first] = seen.emplace(n, seen.size());
  if (!first) {
    out += '*';
    out += std::to_string(it->second);
    return;
  }
  switch (n->type) {
    case Data::Type::kNull:
      out += '~';
      return;
    case Data::Type::kScalar:
      // Length-prefixed, so that no scalar can imitate structure.
      out += std::to_string(n->scalar.size());
      out += ':';
      out += n->scalar;
      return;
    case Data::Type::kSequence:
    case Data::Type::kMap:
      out += n->type == Data::Type::kMap ? '{' : '[';
      for (const Data* c : n->children) {
        AppendFingerprint(out, c, seen);
        out += ',';
      }
      out += n->type == Data::Type::kMap ? '}' : ']';
      return;
  }
}

}  // namespace

Result<YamlNode> YamlNode::Parse(std::istream& in, const std::string& source) {
  auto doc = std::make_shared<yaml_detail::Doc>();
  doc->source = source;
  try {
    YAML::Parser parser(in);
    yaml_detail::Builder builder(*doc);
    parser.HandleNextDocument(builder);  // the first document, like YAML::Load
  } catch (const YAML::Exception& e) {
    return Error::Invalid(source + ":" + std::to_string(e.mark.line + 1) + ":" +
                          std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  }
  if (doc->root == nullptr) doc->root = &doc->nodes.emplace_back();  // empty: null
  const Data* root = doc->root;
  return YamlNode(std::move(doc), root, "");
}

Result<YamlNode> YamlNode::LoadString(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  return Parse(in, source);
}

Result<YamlNode> YamlNode::LoadFile(const std::string& path) {
  // Parsed from the stream: a large file is never held in memory as text.
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::Invalid(path + ": cannot read config file");
  return Parse(in, path);
}

const std::string& YamlNode::source() const { return doc_->source; }
int YamlNode::line() const { return node_->line; }
int YamlNode::column() const { return node_->column; }
bool YamlNode::IsMap() const { return node_->type == Data::Type::kMap; }
bool YamlNode::IsSequence() const { return node_->type == Data::Type::kSequence; }
bool YamlNode::IsScalar() const { return node_->type == Data::Type::kScalar; }
bool YamlNode::IsNull() const { return node_->type == Data::Type::kNull; }

Error YamlNode::Fail(std::string_view message) const {
  std::string where = doc_->source;
  if (line() > 0) where += ":" + std::to_string(line()) + ":" + std::to_string(column());
  std::string p = path_.empty() ? std::string("(top level)") : path_;
  return Error::Invalid(where + ": " + p + ": " + std::string(message));
}

YamlNode YamlNode::Child(const Data* n, std::string_view key) const {
  std::string p = path_;
  if (!key.empty() && key.front() == '[') {
    p += key;
  } else {
    if (!p.empty()) p += '.';
    p += key;
  }
  return YamlNode(doc_, n, std::move(p));
}

Status YamlNode::ExpectMap() const {
  if (!IsMap()) return Fail(std::string("expected a mapping, found ") + TypeName(node_));
  return {};
}

Status YamlNode::ExpectKeys(const std::vector<std::string_view>& allowed) const {
  if (auto s = ExpectMap(); !s) return s;
  std::set<std::string_view> seen;
  const auto& c = node_->children;
  for (size_t i = 0; i + 1 < c.size(); i += 2) {
    const std::string& k = c[i]->scalar;
    bool ok = false;
    for (auto a : allowed) ok = ok || a == k;
    if (!ok) {
      return Child(c[i], k).Fail("unknown key \"" + k + "\" (" +
                                 (allowed.empty() ? std::string("this mapping takes no keys")
                                                  : "known keys: " + Join(allowed)) +
                                 ")");
    }
    if (!seen.insert(k).second) return Child(c[i], k).Fail("key \"" + k + "\" appears twice");
  }
  return {};
}

void YamlNode::Asked(std::string_view key) const {
  std::lock_guard<std::mutex> lock(doc_->asked_mu);
  auto& keys = doc_->asked[node_];
  for (const auto& k : keys) {
    if (k == key) return;
  }
  keys.emplace_back(key);
}

std::vector<std::string> YamlNode::AskedKeys() const {
  std::lock_guard<std::mutex> lock(doc_->asked_mu);
  auto it = doc_->asked.find(node_);
  return it == doc_->asked.end() ? std::vector<std::string>{} : it->second;
}

Status YamlNode::RejectUnreadKeys() const {
  if (auto s = ExpectMap(); !s) return s;
  std::vector<std::string> asked;
  {
    std::lock_guard<std::mutex> lock(doc_->asked_mu);
    auto it = doc_->asked.find(node_);
    if (it != doc_->asked.end()) {
      asked = std::move(it->second);
      doc_->asked.erase(it);
    }
  }
  std::vector<std::string_view> allowed(asked.begin(), asked.end());
  return ExpectKeys(allowed);
}

std::optional<YamlNode> YamlNode::Get(std::string_view key) const {
  if (!IsMap()) return std::nullopt;
  Asked(key);
  const auto& c = node_->children;
  for (size_t i = 0; i + 1 < c.size(); i += 2) {
    if (c[i]->scalar == key) {
      if (c[i + 1]->type == Data::Type::kNull) return std::nullopt;
      return Child(c[i + 1], key);
    }
  }
  return std::nullopt;
}

bool YamlNode::HasKey(std::string_view key) const {
  if (!IsMap()) return false;
  Asked(key);
  const auto& c = node_->children;
  for (size_t i = 0; i + 1 < c.size(); i += 2) {
    if (c[i]->scalar == key) return true;
  }
  return false;
}

Result<YamlNode> YamlNode::Require(std::string_view key) const {
  if (auto s = ExpectMap(); !s) return s.error();
  if (auto c = Get(key)) return *c;
  return Fail("missing required key \"" + std::string(key) + "\"");
}

Result<std::vector<YamlNode>> YamlNode::Items() const {
  if (!IsSequence()) return Fail(std::string("expected a list, found ") + TypeName(node_));
  std::vector<YamlNode> out;
  out.reserve(node_->children.size());
  for (size_t i = 0; i < node_->children.size(); ++i) {
    out.push_back(Child(node_->children[i], "[" + std::to_string(i) + "]"));
  }
  return out;
}

Result<std::vector<std::pair<std::string, YamlNode>>> YamlNode::Entries() const {
  if (auto s = ExpectMap(); !s) return s.error();
  std::vector<std::pair<std::string, YamlNode>> out;
  std::set<std::string_view> seen;
  const auto& c = node_->children;
  for (size_t i = 0; i + 1 < c.size(); i += 2) {
    const std::string& k = c[i]->scalar;
    if (!seen.insert(k).second) {
      return Child(c[i], k).Fail("key \"" + k + "\" appears twice");
    }
    out.emplace_back(k, Child(c[i + 1], k));
  }
  return out;
}

Result<std::string> YamlNode::AsString() const {
  if (!IsScalar()) return Fail(std::string("expected a string, found ") + TypeName(node_));
  return node_->scalar;
}

Result<long long> YamlNode::AsInt() const {
  if (!IsScalar()) return Fail(std::string("expected an integer, found ") + TypeName(node_));
  const std::string& s = node_->scalar;
  try {
    size_t pos = 0;
    long long v = std::stoll(s, &pos, 10);
    if (pos == s.size()) return v;
  } catch (const std::exception&) {
  }
  return Fail("expected an integer, found \"" + s + "\"");
}

Result<double> YamlNode::AsDouble() const {
  if (!IsScalar()) return Fail(std::string("expected a number, found ") + TypeName(node_));
  const std::string& s = node_->scalar;
  try {
    size_t pos = 0;
    double v = std::stod(s, &pos);
    if (pos == s.size()) return v;
  } catch (const std::exception&) {
  }
  return Fail("expected a number, found \"" + s + "\"");
}

Result<bool> YamlNode::AsBool() const {
  if (IsScalar()) {
    const std::string& s = node_->scalar;
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
  std::string out;
  std::unordered_map<const Data*, size_t> seen;
  AppendFingerprint(out, node_, seen);
  return out;
}

}  // namespace failover
