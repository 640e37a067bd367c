// A private temporary directory, removed with everything in it when the test ends.
#pragma once

#include <string>

namespace failover::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// Reads a whole file ("" if it cannot be read).
std::string ReadFile(const std::string& path);

}  // namespace failover::testing
