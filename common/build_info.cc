#include "common/build_info.h"

namespace failover {

std::string VersionText(const std::string& program) {
  std::string out = program + ", version " + kVersion + " (branch: " + kBranch +
                    ", revision: " + kRevision + ")\n";
  out += std::string("  build user:       ") + kBuildUser + "\n";
  out += std::string("  build date:       ") + kBuildDate + "\n";
  out += std::string("  compiler:         ") + kCompiler + "\n";
  out += std::string("  platform:         ") + kPlatform + "\n";
  return out;
}

std::map<std::string, std::string> BuildInfoLabels() {
  return {{"version", kVersion},     {"revision", kRevision}, {"branch", kBranch},
          {"builddate", kBuildDate}, {"compiler", kCompiler}, {"platform", kPlatform}};
}

}  // namespace failover
