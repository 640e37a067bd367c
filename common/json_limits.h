// Bounds for parsing JSON that arrives in request bodies.
//
// nlohmann::json builds the whole tree before anyone looks at it: a 1 MiB body of "[[[[..."
// becomes a million nested arrays (tens of MB each; 16 at once drove the actuator to 1 GB).
// CheckJsonDepth is a cheap scan that refuses such a body before any node is allocated, and
// ReleaseHeapAfterBigBody gives the memory a big body did use back to the operating system
// (glibc keeps freed heap otherwise, and RSS stays at its high-water mark).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/result.h"

namespace failover {

// Nesting that no request body of ours needs (an Alertmanager webhook nests 4 deep, the
// actuator's API 3).
inline constexpr int kMaxRequestJsonDepth = 32;

// Bodies at least this big are followed by ReleaseHeapAfterBigBody's malloc_trim.
inline constexpr size_t kTrimAfterBodyBytes = 256 * 1024;

// Refuses `text` when its arrays/objects nest deeper than `max_depth` (brackets inside
// strings do not count): Error::Invalid "body nests JSON deeper than N levels (the limit)".
// Says nothing about whether the rest is valid JSON.
Status CheckJsonDepth(std::string_view text, int max_depth = kMaxRequestJsonDepth);

// CheckJsonDepth, then parse. Errors: the depth message above, or "body is not valid JSON".
Result<nlohmann::json> ParseJsonBounded(std::string_view text,
                                        int max_depth = kMaxRequestJsonDepth);

// Call after a request has been answered and its body freed: when `body_bytes` is at
// least kTrimAfterBodyBytes, returns free heap pages to the OS (malloc_trim). Cheap
// otherwise (does nothing).
void ReleaseHeapAfterBigBody(size_t body_bytes);

}  // namespace failover
