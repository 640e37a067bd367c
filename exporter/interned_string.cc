#include "exporter/interned_string.h"

#include <mutex>
#include <unordered_set>

namespace failover {
namespace {

struct Table {
  std::mutex mu;
  std::unordered_set<std::string> values;  // node-based: a value's address never changes
};

// Never destroyed, so a value stays valid in any object destroyed at exit.
Table& TheTable() {
  static Table* table = new Table;
  return *table;
}

const std::string* Intern(std::string_view s) {
  Table& t = TheTable();
  std::lock_guard<std::mutex> lock(t.mu);
  return &*t.values.emplace(s).first;
}

}  // namespace

InternedString::InternedString() {
  static const std::string* const kEmpty = Intern({});
  s_ = kEmpty;
}
InternedString::InternedString(std::string_view s) : s_(Intern(s)) {}

}  // namespace failover
