// Small codecs shared by both daemons: URL percent-encoding, base64, text made
// safe for JSON, markup escaping. One implementation each, so the providers, the signer and the
// auth checks cannot drift apart.
#pragma once

#include <string>
#include <string_view>

namespace failover {

// RFC 3986 percent-encoding: unreserved characters (A-Z a-z 0-9 - . _ ~) and those in
// `keep` stay as they are, every other byte becomes %XX with upper-case hex.
std::string UrlEncode(std::string_view s, std::string_view keep = {});

// Standard base64 with padding (RFC 4648 section 4).
std::string Base64Encode(std::string_view in);

// Standard base64 (with padding) as an HTTP Basic credential carries it; "" when the
// input is empty, malformed or longer than 4096 characters.
std::string Base64Decode(std::string_view in);

// Text from a program or a server, made safe to keep in JSON and to show on one screen:
// valid UTF-8 stays, as do newline and tab; a carriage return becomes a newline ("\r\n"
// one newline), so no CR reaches a terminal or a log line to rewrite what is shown; any
// other control character and every byte that is not part of valid UTF-8 becomes '?'.
std::string SanitizeUtf8(std::string_view in);

// Escapes & < > " and ' (as `apostrophe`, e.g. "&#39;" for HTML, "&apos;" for XML).
std::string EscapeMarkup(std::string_view s, std::string_view apostrophe);

}  // namespace failover
