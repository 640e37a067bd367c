// YAML access with errors that name file:line:column and the key path, e.g.
//   exporter.yml:14:9: probes[1].http.timeout: invalid duration "5" (...)
// Every config loader reads through this so that a bad config always points at the line.
#pragma once

#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.h"
#include "common/result.h"

namespace failover {

namespace yaml_detail {
struct Doc;
struct Data;
}  // namespace yaml_detail

// A parsed document is a compact immutable tree (about 80 bytes per node), built from
// yaml-cpp's parser events rather than yaml-cpp's own node graph, which costs several
// times that per node: a 10,000-probe exporter config peaked at ~24 MiB of yaml-cpp
// nodes. YamlNode values share the document and are cheap to copy.
class YamlNode {
 public:
  // Reads and parses a file; syntax errors carry the file, line and column.
  static Result<YamlNode> LoadFile(const std::string& path);
  // Parses text; `source` names it in errors (a file name or "<inline>").
  static Result<YamlNode> LoadString(const std::string& text, const std::string& source);

  const std::string& path() const { return path_; }  // "probes[1].http"
  const std::string& source() const;
  int line() const;    // 1-based
  int column() const;  // 1-based

  bool IsMap() const;
  bool IsSequence() const;
  bool IsScalar() const;
  bool IsNull() const;

  // An error located at this node: "<file>:<line>:<col>: <path>: <message>".
  Error Fail(std::string_view message) const;

  // Fails unless this is a mapping whose keys are all in `allowed` (and none repeats).
  Status ExpectKeys(const std::vector<std::string_view>& allowed) const;
  Status ExpectMap() const;
  // Fails unless every key of this mapping was asked for, since the mapping was parsed,
  // through Get, Require, Has or HasKey on any copy of this node (and none repeats). The
  // message is ExpectKeys' with the asked-for keys as the known ones. A parser reads its
  // keys and then calls this, so the keys a kind accepts are exactly the keys its parser
  // reads: there is no second list to drift. It forgets what was asked of this mapping.
  Status RejectUnreadKeys() const;
  // Records `key` as asked for, for a key read by other means (e.g. through Entries()).
  void Asked(std::string_view key) const;
  // The keys asked of this mapping so far, in the order first asked.
  std::vector<std::string> AskedKeys() const;

  // Child of a mapping; nullopt when absent or null.
  std::optional<YamlNode> Get(std::string_view key) const;
  Result<YamlNode> Require(std::string_view key) const;
  bool Has(std::string_view key) const { return Get(key).has_value(); }
  // Whether a mapping has the key at all, even with a null value.
  bool HasKey(std::string_view key) const;

  // Items of a sequence (fails on anything else).
  Result<std::vector<YamlNode>> Items() const;
  // Key/value pairs of a mapping, in file order; keys are scalars.
  Result<std::vector<std::pair<std::string, YamlNode>>> Entries() const;

  Result<std::string> AsString() const;
  Result<long long> AsInt() const;
  Result<double> AsDouble() const;
  Result<bool> AsBool() const;
  Result<Duration> AsDuration() const;
  Result<std::vector<std::string>> AsStringList() const;
  Result<std::map<std::string, std::string>> AsStringMap() const;

  // A stable text rendering of the node, for "did this part of the config change?".
  std::string Fingerprint() const;

 private:
  static Result<YamlNode> Parse(std::istream& in, const std::string& source);

  YamlNode(std::shared_ptr<const yaml_detail::Doc> doc, const yaml_detail::Data* node,
           std::string path)
      : doc_(std::move(doc)), node_(node), path_(std::move(path)) {}
  YamlNode Child(const yaml_detail::Data* n, std::string_view key) const;

  std::shared_ptr<const yaml_detail::Doc> doc_;  // owns every node and the source name
  const yaml_detail::Data* node_;
  std::string path_;
};

}  // namespace failover
