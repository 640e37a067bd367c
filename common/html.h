// Escaping for the HTML status pages of both daemons.
#pragma once

#include <string>

namespace failover {

// Escapes &, <, >, " and ' for use in HTML text and attribute values.
std::string HtmlEscape(const std::string& s);

}  // namespace failover
