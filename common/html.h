// Escaping for the HTML status pages of both daemons.
#pragma once

#include <string>

namespace failover {

// Escapes &, <, >, " and ' for use in HTML text and attribute values, and replaces
// control characters (but tab and newline) with U+FFFD.
std::string HtmlEscape(const std::string& s);

}  // namespace failover
