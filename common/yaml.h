// YAML access with errors that name file:line:column and the key path, e.g.
//   exporter.yml:14:9: probes[1].http.timeout: invalid duration "5" (...)
// Every config loader reads through this so that a bad config always points at the line.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.h"
#include "common/result.h"

namespace failover {

class YamlNode {
 public:
  // Reads and parses a file; syntax errors carry the file, line and column.
  static Result<YamlNode> LoadFile(const std::string& path);
  // Parses text; `source` names it in errors (a file name or "<inline>").
  static Result<YamlNode> LoadString(const std::string& text, const std::string& source);

  const YAML::Node& raw() const { return node_; }
  const std::string& path() const { return path_; }  // "probes[1].http"
  const std::string& source() const { return *source_; }
  int line() const { return node_.Mark().line + 1; }
  int column() const { return node_.Mark().column + 1; }

  bool IsMap() const { return node_.IsMap(); }
  bool IsSequence() const { return node_.IsSequence(); }
  bool IsScalar() const { return node_.IsScalar(); }
  bool IsNull() const { return !node_ || node_.IsNull(); }

  // An error located at this node: "<file>:<line>:<col>: <path>: <message>".
  Error Fail(std::string_view message) const;

  // Fails unless this is a mapping whose keys are all in `allowed` (and none repeats).
  Status ExpectKeys(const std::vector<std::string_view>& allowed) const;
  Status ExpectMap() const;

  // Child of a mapping; nullopt when absent or null.
  std::optional<YamlNode> Get(std::string_view key) const;
  Result<YamlNode> Require(std::string_view key) const;
  bool Has(std::string_view key) const { return Get(key).has_value(); }

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
  YamlNode(YAML::Node node, std::shared_ptr<const std::string> source, std::string path)
      : node_(std::move(node)), source_(std::move(source)), path_(std::move(path)) {}
  YamlNode Child(const YAML::Node& n, std::string_view key) const;

  YAML::Node node_;
  std::shared_ptr<const std::string> source_;
  std::string path_;
};

}  // namespace failover
