// Escaping for the HTML status pages of both daemons.
#pragma once

#include <string>

namespace failover {

// Escapes &, <, >, " and ' for use in HTML text and attribute values, and replaces
// control characters (but tab and newline) with U+FFFD.
std::string HtmlEscape(const std::string& s);

// A <script> that refreshes the element with id "live" from the same URL every
// `interval_ms`, in place (the scroll position stays; a hidden tab is not refreshed), and,
// with `stamp`, writes the time of the refresh (HH:MM:SSZ) into the element with id
// "refreshed".
std::string LiveRefreshScript(int interval_ms, bool stamp);

}  // namespace failover
