// Wall-clock times as text, for reports, JSON and pages.
#pragma once

#include <string>

namespace failover {

// A Unix time in UTC to the second: "2026-12-06T10:02:19Z" (RFC 3339, for reports and
// JSON), or with ' ' as the separator for pages ("2026-12-06 10:02:19Z").
std::string FormatUtc(double unix_seconds, char date_time_separator = 'T');

}  // namespace failover
