// A small XML reader for the AWS APIs' responses and requests (Route 53 REST-XML, the RDS
// Query API): elements, attributes (read and ignored), text, CDATA, comments, the XML
// declaration and the predefined and numeric character references. No DTDs, no
// namespaces beyond dropping an element name's prefix. Enough for API envelopes; not a
// general-purpose parser.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace failover {

struct XmlElement {
  std::string name;  // local name (a "prefix:" is dropped)
  std::string text;  // the element's own character data, concatenated
  std::vector<XmlElement> children;

  // The first child with that name, or nullptr.
  const XmlElement* Child(std::string_view child) const;
  // Every child with that name.
  std::vector<const XmlElement*> Children(std::string_view child) const;
  // Text of the element at a '/'-separated path of child names ("ChangeInfo/Status"), or
  // "" when there is none.
  std::string Text(std::string_view path) const;
  // The first element named `name` anywhere below (depth first), or nullptr.
  const XmlElement* Find(std::string_view name) const;
};

// Parses a whole document (one root element). Errors say what and at which byte offset.
Result<XmlElement> ParseXml(std::string_view doc);

// Escapes &, <, >, " and ' for text and attribute values.
std::string XmlEscape(std::string_view s);

}  // namespace failover
