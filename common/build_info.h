// What a binary was built from: version, git revision and branch, who built it when, with
// which compiler, for which platform. The values are written at build time by
// cmake/build_info.cmake; --version prints them and *_build_info carries them as labels,
// as the Prometheus ecosystem's `version` package does.
#pragma once

#include <map>
#include <string>

namespace failover {

extern const char* const kVersion;    // "0.2.0", "0.2.0-3-g1234567abcde" (see the script)
extern const char* const kRevision;   // git commit, 12 hex digits, or "unknown"
extern const char* const kBranch;     // git branch, or "unknown"
extern const char* const kBuildUser;  // user@host
extern const char* const kBuildDate;  // "20261206-10:20:00" (UTC)
extern const char* const kCompiler;   // "GNU 12.2.0"
extern const char* const kPlatform;   // "linux/x86_64"

// The --version text, e.g. "failover_exporter, version 0.2.0 (branch: main, revision:
// 1234567abcde)\n  build user: ...\n" (one line per field).
std::string VersionText(const std::string& program);

// The labels of failover_exporter_build_info and failover_actuator_build_info.
std::map<std::string, std::string> BuildInfoLabels();

}  // namespace failover
