#include "common/time_format.h"

#include <ctime>

namespace failover {

std::string FormatUtc(double unix_seconds, char date_time_separator) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::string format = std::string("%Y-%m-%d") + date_time_separator + "%H:%M:%SZ";
  std::strftime(buf, sizeof buf, format.c_str(), &tm);
  return buf;
}

}  // namespace failover
