#include "common/json_limits.h"

#include <malloc.h>

#include <string>

namespace failover {

Status CheckJsonDepth(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // whatever is escaped cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          return Error::Invalid("body nests JSON deeper than " + std::to_string(max_depth) +
                                " levels (the nesting limit), at byte " + std::to_string(i));
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return {};
}

Result<nlohmann::json> ParseJsonBounded(std::string_view text, int max_depth) {
  if (auto s = CheckJsonDepth(text, max_depth); !s) return s.error();
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error::Invalid("body is not valid JSON");
  return doc;
}

void ReleaseHeapAfterBigBody(size_t body_bytes) {
  if (body_bytes >= kTrimAfterBodyBytes) malloc_trim(0);
}

}  // namespace failover
