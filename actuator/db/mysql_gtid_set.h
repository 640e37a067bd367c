// MySQL (not MariaDB) GTID sets, the arithmetic the way back needs for MySQL 8
// (actuator/db/mysql_wayback.cc): the transactions only the old primary has are its
// @@global.gtid_executed minus the new primary's. Pure: no server, no I/O.
//
// Text form (as the server prints @@gtid_executed; docs/contracts/databases.md):
//   3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,\n8f0c...:1-100
//   3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:mytag:1-3      (tagged GTIDs, MySQL 8.3+)
// A set is, per (source UUID, tag), a list of transaction-number intervals. Parsing accepts
// upper-case UUIDs and tags, whitespace and newlines between members, overlapping or
// unordered intervals and repeated UUIDs; ToString() prints the canonical form: UUIDs and
// tags lower-case, UUIDs sorted, untagged intervals first and then tags sorted, intervals
// sorted and merged (adjacent ones too: 1-3:4-5 is 1-5), members joined with ",".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace failover {

class MysqlGtidSet {
 public:
  struct Interval {
    std::uint64_t first = 0;  // inclusive, >= 1
    std::uint64_t last = 0;   // inclusive, >= first
    bool operator==(const Interval& o) const { return first == o.first && last == o.last; }
  };
  // (source UUID in lower case, tag in lower case or "" for untagged GTIDs)
  using Key = std::pair<std::string, std::string>;

  // The largest transaction number MySQL hands out (2^63 - 2; GNO_END is 2^63 - 1).
  static constexpr std::uint64_t kMaxGno = (std::uint64_t{1} << 63) - 2;

  // Parses a GTID set; "" (and whitespace) is the empty set. A bad UUID, tag or interval is
  // an error naming the member and what is wrong with it.
  static Result<MysqlGtidSet> Parse(std::string_view text);

  std::string ToString() const;
  bool empty() const { return sets_.empty(); }
  // The number of transactions (saturates at UINT64_MAX).
  std::uint64_t Count() const;
  bool Contains(const Key& key, std::uint64_t gno) const;
  // Whether every transaction of `other` is in this set.
  bool Contains(const MysqlGtidSet& other) const;

  MysqlGtidSet Union(const MysqlGtidSet& other) const;
  MysqlGtidSet Intersect(const MysqlGtidSet& other) const;
  // The transactions of this set that are not in `other`.
  MysqlGtidSet Subtract(const MysqlGtidSet& other) const;

  // Adds [first, last] (first >= 1, last >= first; ignored otherwise) for `key`.
  void Add(const Key& key, std::uint64_t first, std::uint64_t last);

  // The single GTIDs ("uuid:n", "uuid:tag:n") in canonical order, at most `limit`.
  std::vector<std::string> List(std::size_t limit) const;

  const std::map<Key, std::vector<Interval>>& sets() const { return sets_; }
  bool operator==(const MysqlGtidSet& o) const { return sets_ == o.sets_; }

 private:
  std::map<Key, std::vector<Interval>> sets_;  // no empty lists; intervals sorted, disjoint
                                               // and not adjacent
};

// One GTID as the server names a transaction ("uuid:23", or "uuid:tag:23"), e.g. in
// SET @@SESSION.GTID_NEXT= '...' of SHOW BINLOG EVENTS and mysqlbinlog output.
struct MysqlGtid {
  MysqlGtidSet::Key key;
  std::uint64_t gno = 0;
  std::string ToString() const;
};
Result<MysqlGtid> ParseMysqlGtid(std::string_view text);

}  // namespace failover
