#include "common/sql.h"

#include <cstdlib>

namespace failover {

std::string BackslashQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::optional<double> SqlNumber(const std::optional<std::string>& value) {
  if (!value || value->empty()) return std::nullopt;
  const char* begin = value->c_str();
  char* end = nullptr;
  double d = std::strtod(begin, &end);
  if (end != begin + value->size()) return std::nullopt;
  return d;
}

std::optional<std::string> SqlColumn(const SqlRow& row, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    auto it = row.find(n);
    if (it != row.end()) return it->second;
  }
  return std::nullopt;
}

std::string SqlFirstLine(const char* message) {
  std::string s = message == nullptr ? "" : message;
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  for (const char* prefix : {"ERROR:  ", "FATAL:  "}) {
    if (s.rfind(prefix, 0) == 0) s.erase(0, std::char_traits<char>::length(prefix));
  }
  return s;
}

}  // namespace failover
