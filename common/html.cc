#include "common/html.h"

#include "common/encoding.h"

namespace failover {

std::string HtmlEscape(const std::string& s) { return EscapeMarkup(s, "&#39;"); }

}  // namespace failover
