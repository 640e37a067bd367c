#include "actuator/db/mysql_gtid_set.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace failover {
namespace {

using Interval = MysqlGtidSet::Interval;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// MySQL 8.3+ tags: a letter or '_', then up to 31 letters, digits or '_'.
bool IsTag(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  if (!std::isalpha(static_cast<unsigned char>(s[0])) && s[0] != '_') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool ParseGno(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v < 1 || v > MysqlGtidSet::kMaxGno) return false;
  out = v;
  return true;
}

std::string FormatInterval(const Interval& i) {
  return i.first == i.last ? std::to_string(i.first)
                           : std::to_string(i.first) + "-" + std::to_string(i.last);
}

void Normalize(std::vector<Interval>& v) {
  std::sort(v.begin(), v.end(),
            [](const Interval& a, const Interval& b) { return a.first < b.first; });
  std::vector<Interval> out;
  for (const auto& i : v) {
    if (!out.empty() && i.first <= out.back().last + 1) {
      out.back().last = std::max(out.back().last, i.last);
    } else {
      out.push_back(i);
    }
  }
  v = std::move(out);
}

std::vector<Interval> IntersectLists(const std::vector<Interval>& a,
                                     const std::vector<Interval>& b) {
  std::vector<Interval> out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    std::uint64_t lo = std::max(a[i].first, b[j].first);
    std::uint64_t hi = std::min(a[i].last, b[j].last);
    if (lo <= hi) out.push_back({lo, hi});
    if (a[i].last < b[j].last) {
      ++i;
    } else {
      ++j;
    }
  }
  return out;
}

std::vector<Interval> SubtractLists(const std::vector<Interval>& a,
                                    const std::vector<Interval>& b) {
  std::vector<Interval> out;
  size_t j = 0;
  for (const auto& x : a) {
    std::uint64_t from = x.first;
    bool left = true;
    while (j < b.size() && b[j].last < from) ++j;
    for (size_t k = j; k < b.size() && b[k].first <= x.last; ++k) {
      if (b[k].first > from) out.push_back({from, b[k].first - 1});
      if (b[k].last >= x.last) {
        left = false;
        break;
      }
      from = b[k].last + 1;
    }
    if (left) out.push_back({from, x.last});
  }
  return out;
}

}  // namespace

Result<MysqlGtidSet> MysqlGtidSet::Parse(std::string_view text) {
  MysqlGtidSet set;
  if (Trim(text).empty()) return set;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view member = Trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    auto bad = [&](const std::string& why) {
      return Error::Invalid("GTID set member \"" + std::string(member) + "\": " + why);
    };
    if (member.empty()) return bad("empty (two commas, or a comma at the end)");
    size_t colon = member.find(':');
    std::string_view uuid = Trim(member.substr(0, colon));
    if (!IsUuid(uuid)) return bad("\"" + std::string(uuid) + "\" is not a server UUID");
    if (colon == std::string_view::npos) return bad("no transaction numbers after the UUID");
    std::string tag;
    bool interval_since_tag = true;
    size_t at = colon + 1;
    while (at <= member.size()) {
      size_t next = member.find(':', at);
      if (next == std::string_view::npos) next = member.size();
      std::string_view part = Trim(member.substr(at, next - at));
      at = next + 1;
      if (part.empty()) return bad("an empty part between colons");
      if (std::isdigit(static_cast<unsigned char>(part[0]))) {
        size_t dash = part.find('-');
        std::uint64_t first = 0, last = 0;
        bool ok = ParseGno(part.substr(0, dash), first);
        if (ok) {
          ok = dash == std::string_view::npos ? (last = first, true)
                                              : ParseGno(part.substr(dash + 1), last);
        }
        if (!ok) {
          return bad("\"" + std::string(part) + "\" is not a transaction number or range (1 to " +
                     std::to_string(kMaxGno) + ")");
        }
        if (last < first) return bad("\"" + std::string(part) + "\" ends before it starts");
        set.Add({Lower(uuid), tag}, first, last);
        interval_since_tag = true;
      } else if (IsTag(part)) {
        if (!interval_since_tag) return bad("tag \"" + tag + "\" has no transaction numbers");
        tag = Lower(part);
        interval_since_tag = false;
      } else {
        return bad("\"" + std::string(part) + "\" is neither a transaction number nor a tag");
      }
    }
    if (!interval_since_tag) return bad("tag \"" + tag + "\" has no transaction numbers");
  }
  return set;
}

void MysqlGtidSet::Add(const Key& key, std::uint64_t first, std::uint64_t last) {
  if (first < 1 || last < first) return;
  auto& v = sets_[key];
  v.push_back({first, last});
  Normalize(v);
}

std::string MysqlGtidSet::ToString() const {
  std::string out;
  std::string uuid;
  for (const auto& [key, list] : sets_) {
    if (key.first != uuid) {
      out += (out.empty() ? "" : ",") + key.first;
      uuid = key.first;
    }
    if (!key.second.empty()) out += ":" + key.second;
    for (const auto& i : list) out += ":" + FormatInterval(i);
  }
  return out;
}

std::uint64_t MysqlGtidSet::Count() const {
  std::uint64_t n = 0;
  for (const auto& [key, list] : sets_) {
    for (const auto& i : list) {
      std::uint64_t k = i.last - i.first + 1;
      if (n > std::numeric_limits<std::uint64_t>::max() - k) {
        return std::numeric_limits<std::uint64_t>::max();
      }
      n += k;
    }
  }
  return n;
}

bool MysqlGtidSet::Contains(const Key& key, std::uint64_t gno) const {
  auto it = sets_.find(key);
  if (it == sets_.end()) return false;
  for (const auto& i : it->second) {
    if (gno >= i.first && gno <= i.last) return true;
  }
  return false;
}

bool MysqlGtidSet::Contains(const MysqlGtidSet& other) const {
  return other.Subtract(*this).empty();
}

MysqlGtidSet MysqlGtidSet::Union(const MysqlGtidSet& other) const {
  MysqlGtidSet out = *this;
  for (const auto& [key, list] : other.sets_) {
    auto& v = out.sets_[key];
    v.insert(v.end(), list.begin(), list.end());
    Normalize(v);
  }
  return out;
}

MysqlGtidSet MysqlGtidSet::Intersect(const MysqlGtidSet& other) const {
  MysqlGtidSet out;
  for (const auto& [key, list] : sets_) {
    auto it = other.sets_.find(key);
    if (it == other.sets_.end()) continue;
    auto v = IntersectLists(list, it->second);
    if (!v.empty()) out.sets_[key] = std::move(v);
  }
  return out;
}

MysqlGtidSet MysqlGtidSet::Subtract(const MysqlGtidSet& other) const {
  MysqlGtidSet out;
  for (const auto& [key, list] : sets_) {
    auto it = other.sets_.find(key);
    auto v = it == other.sets_.end() ? list : SubtractLists(list, it->second);
    if (!v.empty()) out.sets_[key] = std::move(v);
  }
  return out;
}

std::vector<std::string> MysqlGtidSet::List(std::size_t limit) const {
  std::vector<std::string> out;
  for (const auto& [key, list] : sets_) {
    std::string prefix = key.first + ":" + (key.second.empty() ? "" : key.second + ":");
    for (const auto& i : list) {
      for (std::uint64_t n = i.first;; ++n) {
        if (out.size() >= limit) return out;
        out.push_back(prefix + std::to_string(n));
        if (n == i.last) break;
      }
    }
  }
  return out;
}

std::string MysqlGtid::ToString() const {
  return key.first + ":" + (key.second.empty() ? "" : key.second + ":") + std::to_string(gno);
}

Result<MysqlGtid> ParseMysqlGtid(std::string_view text) {
  std::string_view t = Trim(text);
  auto set = MysqlGtidSet::Parse(t);
  auto bad = Error::Invalid("\"" + std::string(t) + "\" is not one GTID (uuid:number)");
  if (!set || set->sets().size() != 1 || set->Count() != 1 ||
      t.find(',') != std::string_view::npos || t.find('-', 37) != std::string_view::npos) {
    return bad;
  }
  const auto& [key, list] = *set->sets().begin();
  if (std::count(t.begin(), t.end(), ':') != (key.second.empty() ? 1 : 2)) return bad;
  return MysqlGtid{key, list[0].first};
}

}  // namespace failover
