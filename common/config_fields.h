// Config fields that several loaders read the same way, with the same errors.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/duration.h"
#include "common/result.h"
#include "common/yaml.h"

namespace failover {

// Optional `key` of a mapping: an http:// or https:// base URL without query or fragment,
// trailing slashes removed; nullopt when absent.
Result<std::optional<std::string>> ParseBaseUrl(const YamlNode& body, std::string_view key);

// Optional `key` of a mapping: a duration greater than zero and at most `max`; `fallback`
// when absent.
Result<Duration> ParsePositiveDuration(const YamlNode& body, std::string_view key, Duration max,
                                       Duration fallback);

}  // namespace failover
