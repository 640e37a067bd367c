#include "actuator/db/pg_wayback.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "actuator/db/program.h"
#include "common/time_format.h"

namespace failover {
namespace {

using nlohmann::json;

constexpr size_t kMaxReportedRows = 10000;  // rows in one divergence report
const char kAppName[] = "failover_actuator";

// ---- LSNs, connections, small queries ---------------------------------------------------

std::optional<uint64_t> ParseLsn(const std::string& s) {
  unsigned hi = 0, lo = 0;
  char extra = 0;
  if (std::sscanf(s.c_str(), "%X/%X%c", &hi, &lo, &extra) != 2) return std::nullopt;
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

std::string FormatLsn(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(v >> 32),
                static_cast<unsigned>(v & 0xffffffffu));
  return buf;
}

SqlOutcome<bool> Connect(PgConn& conn, const PgTarget& t, MonoTime deadline) {
  double left = SecondsLeft(deadline);
  if (left <= 0) return SqlFailure{"timeout", t.where + ": the step's deadline has passed"};
  return conn.Connect(t, kAppName, deadline,
                      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(left)));
}

// The rows of the last statement of `sql`.
SqlOutcome<std::vector<SqlRow>> Rows(PgConn& conn, const std::string& sql, MonoTime deadline) {
  auto r = conn.Exec(sql, deadline);
  if (!r) return r.error();
  if (r->empty()) return std::vector<SqlRow>{};
  return r->back();
}

// The first row of `sql` (an error when there is none).
SqlOutcome<SqlRow> Row(PgConn& conn, const std::string& sql, MonoTime deadline) {
  auto r = Rows(conn, sql, deadline);
  if (!r) return r.error();
  if (r->empty()) return SqlFailure{"error", "no row from: " + sql, false};
  return r->front();
}

std::string Ident(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// The same server with another database: the conninfo with dbname replaced (libpq takes the
// last of a repeated keyword; a URI gets a dbname parameter).
PgTarget WithDatabase(const PgTarget& t, const std::string& dbname) {
  PgTarget out = t;
  if (t.conninfo.rfind("postgres://", 0) == 0 || t.conninfo.rfind("postgresql://", 0) == 0) {
    std::string enc;
    for (unsigned char c : dbname) {
      if (std::isalnum(c) || c == '_' || c == '-' || c == '.') {
        enc += static_cast<char>(c);
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        enc += buf;
      }
    }
    out.conninfo += (t.conninfo.find('?') == std::string::npos ? "?" : "&") + ("dbname=" + enc);
  } else {
    std::string v = "'";
    for (char c : dbname) {
      if (c == '\'' || c == '\\') v += '\\';
      v += c;
    }
    out.conninfo += " dbname=" + v + "'";
  }
  return out;
}

// Where a server is in its WAL: a primary's insert position on its timeline, a standby's
// replay position on the timeline it receives.
struct PgPosition {
  bool in_recovery = false;
  unsigned timeline = 0;
  uint64_t lsn = 0;
  std::string receiver_status;
  std::string sender_host, sender_port;
  bool replay_paused = false;
};

const char kPositionSql[] =
    "SELECT pg_is_in_recovery() AS r,"
    " (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
    "  ELSE pg_current_wal_insert_lsn() END)::text AS lsn,"
    " (CASE WHEN pg_is_in_recovery() THEN COALESCE((SELECT received_tli FROM pg_stat_wal_receiver"
    "   LIMIT 1), (SELECT timeline_id FROM pg_control_checkpoint()))"
    "  ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END)::text"
    "  AS tli,"
    " (SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS receiver,"
    " (SELECT sender_host FROM pg_stat_wal_receiver LIMIT 1) AS sender_host,"
    " (SELECT sender_port::text FROM pg_stat_wal_receiver LIMIT 1) AS sender_port,"
    " CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS paused,"
    " current_setting('wal_block_size') AS blk,"
    " pg_size_bytes(current_setting('wal_segment_size'))::text AS seg";

SqlOutcome<PgPosition> ReadPosition(PgConn& conn, MonoTime deadline) {
  auto row = Row(conn, kPositionSql, deadline);
  if (!row) return row.error();
  PgPosition p;
  p.in_recovery = SqlText(SqlColumn(*row, {"r"})) == "t";
  p.lsn = ParseLsn(SqlText(SqlColumn(*row, {"lsn"}))).value_or(0);
  p.timeline = static_cast<unsigned>(SqlNumber(SqlColumn(*row, {"tli"})).value_or(0));
  p.receiver_status = SqlText(SqlColumn(*row, {"receiver"}));
  p.sender_host = SqlText(SqlColumn(*row, {"sender_host"}));
  p.sender_port = SqlText(SqlColumn(*row, {"sender_port"}));
  p.replay_paused = SqlText(SqlColumn(*row, {"paused"})) == "t";
  if (!p.in_recovery) {
    // A primary's insert position right after a page header (where its next record will
    // start) is past the end of its last record, which is what a standby reports as
    // replayed: step back over the header (24 bytes, 40 on a segment's first page).
    auto blk = static_cast<uint64_t>(SqlNumber(SqlColumn(*row, {"blk"})).value_or(8192));
    auto seg = static_cast<uint64_t>(SqlNumber(SqlColumn(*row, {"seg"})).value_or(16 << 20));
    if (seg > 0 && p.lsn % seg == 40) {
      p.lsn -= 40;
    } else if (blk > 0 && p.lsn % blk == 24) {
      p.lsn -= 24;
    }
  }
  return p;
}

// A stopped server's position: not known until its WAL is read to the end.
constexpr uint64_t kUnknownEnd = ~uint64_t{0};

json PositionJson(const PgPosition& p) {
  if (p.lsn == kUnknownEnd) return {{"running", false}, {"timeline", p.timeline}};
  return {{"in_recovery", p.in_recovery},
          {"timeline", p.timeline},
          {p.in_recovery ? "replay_lsn" : "insert_lsn", FormatLsn(p.lsn)}};
}

// Where the new primary's history left the old primary's timeline.
struct Fork {
  uint64_t lsn = 0;
  std::string how;
};

// old timeline == new timeline: the new server has that timeline up to its position (it
// was not promoted, or both are the same server's history): that position is the fork.
// Otherwise the new primary's timeline history file names the LSN where it left the old
// primary's timeline (pg_read_file: superuser or pg_read_server_files).
Result<Fork> FindFork(PgConn& new_conn, const PgPosition& oldp, const PgPosition& newp,
                      const std::string& new_where, MonoTime deadline) {
  Fork f;
  if (oldp.timeline == newp.timeline) {
    f.lsn = newp.lsn;
    f.how = "same timeline " + std::to_string(newp.timeline) + ": the new primary's position";
    return f;
  }
  if (newp.timeline < oldp.timeline) {
    return Error::Invalid("the old primary is on timeline " + std::to_string(oldp.timeline) +
                          ", newer than the new primary's " + std::to_string(newp.timeline) + " (" +
                          new_where + "): are old and new swapped?");
  }
  char name[32];
  std::snprintf(name, sizeof name, "%08X.history", newp.timeline);
  auto row =
      Row(new_conn, std::string("SELECT pg_read_file('pg_wal/") + name + "') AS h", deadline);
  if (!row) {
    return Error::Unavailable("reading the timeline history " + std::string(name) + " on " +
                              new_where + ": " + row.error().detail);
  }
  std::istringstream in(SqlText(SqlColumn(*row, {"h"})));
  std::string line;
  while (std::getline(in, line)) {
    unsigned tli = 0, hi = 0, lo = 0;
    if (std::sscanf(line.c_str(), "%u %X/%X", &tli, &hi, &lo) != 3) continue;
    if (tli == oldp.timeline) {
      f.lsn = (static_cast<uint64_t>(hi) << 32) | lo;
      f.how = std::string("pg_wal/") + name + " on the new primary: timeline " +
              std::to_string(tli) + " ends at " + FormatLsn(f.lsn);
      return f;
    }
  }
  return Error::Invalid("timeline " + std::to_string(oldp.timeline) +
                        " of the old primary is not in the history of timeline " +
                        std::to_string(newp.timeline) + " (" + name + " on " + new_where +
                        "): the servers share no history");
}

// ---- Local programs ----------------------------------------------------------------------

// pg_ctl and pg_rewind refuse to run as root: when the actuator is root, they run as the
// owner of the data directory (runuser -u).
std::vector<std::string> AsOwner(const std::string& dir, std::vector<std::string> argv,
                                 uid_t* owner_uid = nullptr, gid_t* owner_gid = nullptr) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return argv;
  if (owner_uid) *owner_uid = st.st_uid;
  if (owner_gid) *owner_gid = st.st_gid;
  if (geteuid() != 0 || st.st_uid == 0) return argv;
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(st.st_uid, &pw, buf, sizeof buf, &found) != 0 || found == nullptr) return argv;
  argv.insert(argv.begin(), {"runuser", "-u", pw.pw_name, "--"});
  return argv;
}

std::string LastLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (auto nl = s.rfind('\n'); nl != std::string::npos) s = s.substr(nl + 1);
  return s;
}

std::string ProgramName(const std::vector<std::string>& argv) {
  size_t i = argv.size() > 4 && argv[0] == "runuser" ? 4 : 0;
  std::string p = argv[i];
  if (auto slash = p.rfind('/'); slash != std::string::npos) p = p.substr(slash + 1);
  return p;
}

// Runs a program; an error with its last stderr line unless it exits 0.
Result<ProgramResult> Run(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env, MonoTime deadline) {
  ProgramResult r = RunProgram(argv, env, deadline);
  std::string name = ProgramName(argv);
  if (!r.started) return Error::Unavailable("cannot run " + name + ": " + r.error);
  if (r.timed_out) return Error::Unavailable(name + " did not finish before the step's deadline");
  if (r.exit_code != 0) {
    return Error::Unavailable(name + " exited " + std::to_string(r.exit_code) + ": " +
                              LastLine(r.err.empty() ? r.out : r.err));
  }
  return r;
}

// ---- Reading the old primary's WAL ---------------------------------------------------------

// One heap change of a transaction, as pg_waldump shows it: the relation's file node and
// the tuple's position.
struct HeapChange {
  std::string op;  // insert | update | delete
  unsigned tablespace = 0, database = 0, filenode = 0;
  unsigned block = 0, offset = 0;          // the new tuple (insert, update), the deleted one
  unsigned old_block = 0, old_offset = 0;  // update: the old version
  int tuples = 0;                          // multi-insert: how many (offsets not shown)
  uint64_t lsn = 0;
};

struct PgTx {
  unsigned xid = 0;
  uint64_t lsn = 0;  // the commit record
  std::string time;  // "2026-12-06 10:06:13.345149 UTC" as pg_waldump prints it (TZ=UTC)
  std::vector<HeapChange> changes;
};

struct WalScan {
  std::vector<PgTx> committed;  // in commit order
  uint64_t end = 0;             // the last record read
  bool truncated = false;       // pg_waldump's output hit the size limit
};

struct BlockRef {
  unsigned tablespace = 0, database = 0, filenode = 0, block = 0;
  bool main_fork = true;
};

// "blkref #1: rel 1663/16386/16388 blk 0" (or "... fork fsm blk 2").
std::optional<BlockRef> FindBlockRef(const std::string& line, int n) {
  std::string key = "blkref #" + std::to_string(n) + ": rel ";
  auto at = line.find(key);
  if (at == std::string::npos) return std::nullopt;
  BlockRef b;
  if (std::sscanf(line.c_str() + at + key.size(), "%u/%u/%u", &b.tablespace, &b.database,
                  &b.filenode) != 3) {
    return std::nullopt;
  }
  auto end = line.find(", blkref #", at + key.size());
  std::string rest =
      line.substr(at + key.size(), end == std::string::npos ? end : end - at - key.size());
  if (auto fork = rest.find(" fork "); fork != std::string::npos) {
    b.main_fork = rest.compare(fork + 6, 5, "main ") == 0;
  }
  auto blk = rest.find(" blk ");
  if (blk == std::string::npos) return std::nullopt;
  b.block = static_cast<unsigned>(std::strtoul(rest.c_str() + blk + 5, nullptr, 10));
  return b;
}

unsigned NumberAfter(const std::string& s, const std::string& key, size_t from = 0) {
  auto at = s.find(key, from);
  if (at == std::string::npos) return 0;
  return static_cast<unsigned>(std::strtoul(s.c_str() + at + key.size(), nullptr, 10));
}

// Parses `pg_waldump` output: heap changes per transaction id, commits (with their
// subtransactions) and aborts. Only committed transactions are kept.
WalScan ParseWaldump(const std::string& text) {
  WalScan scan;
  std::map<unsigned, std::vector<HeapChange>> open;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("rmgr: ", 0) != 0) continue;
    std::string rmgr;
    {
      std::istringstream w(line.substr(6));
      w >> rmgr;
    }
    unsigned xid = NumberAfter(line, "tx: ");
    auto lsn_at = line.find("lsn: ");
    auto desc_at = line.find("desc: ");
    if (lsn_at == std::string::npos || desc_at == std::string::npos) continue;
    uint64_t lsn =
        ParseLsn(line.substr(lsn_at + 5, line.find(',', lsn_at) - lsn_at - 5)).value_or(0);
    scan.end = std::max(scan.end, lsn);
    std::string desc = line.substr(desc_at + 6);
    if (rmgr == "Transaction") {
      auto subxacts = [&] {
        std::vector<unsigned> out = {xid};
        auto at = desc.find("subxacts:");
        if (at == std::string::npos) return out;
        std::istringstream s(desc.substr(at + 9, desc.find(';', at) - at - 9));
        unsigned x;
        while (s >> x) out.push_back(x);
        return out;
      };
      if (desc.rfind("COMMIT ", 0) == 0) {
        PgTx tx;
        tx.xid = xid;
        tx.lsn = lsn;
        tx.time = desc.substr(
            7, desc.find(';') == std::string::npos ? std::string::npos : desc.find(';') - 7);
        for (unsigned x : subxacts()) {
          auto it = open.find(x);
          if (it == open.end()) continue;
          tx.changes.insert(tx.changes.end(), it->second.begin(), it->second.end());
          open.erase(it);
        }
        std::sort(tx.changes.begin(), tx.changes.end(),
                  [](const HeapChange& a, const HeapChange& b) { return a.lsn < b.lsn; });
        scan.committed.push_back(std::move(tx));
      } else if (desc.rfind("ABORT ", 0) == 0) {
        for (unsigned x : subxacts()) open.erase(x);
      }
      continue;
    }
    if (xid == 0 || (rmgr != "Heap" && rmgr != "Heap2")) continue;
    auto b0 = FindBlockRef(line, 0);
    if (!b0 || !b0->main_fork) continue;
    HeapChange c;
    c.tablespace = b0->tablespace;
    c.database = b0->database;
    c.filenode = b0->filenode;
    c.block = b0->block;
    c.lsn = lsn;
    if (rmgr == "Heap" && desc.rfind("INSERT", 0) == 0) {
      c.op = "insert";
      c.offset = NumberAfter(desc, "off ");
    } else if (rmgr == "Heap" &&
               (desc.rfind("UPDATE", 0) == 0 || desc.rfind("HOT_UPDATE", 0) == 0)) {
      c.op = "update";
      c.old_offset = NumberAfter(desc, "off ");
      c.offset = NumberAfter(desc, "new off ");
      auto b1 = FindBlockRef(line, 1);
      c.old_block = b1 ? b1->block : b0->block;
    } else if (rmgr == "Heap" && desc.rfind("DELETE", 0) == 0) {
      c.op = "delete";
      c.offset = NumberAfter(desc, "off ");
    } else if (rmgr == "Heap2" && desc.rfind("MULTI_INSERT", 0) == 0) {
      c.op = "insert";
      c.tuples = static_cast<int>(NumberAfter(
          desc, desc.rfind("MULTI_INSERT+INIT", 0) == 0 ? "MULTI_INSERT+INIT " : "MULTI_INSERT "));
    } else {
      continue;
    }
    open[xid].push_back(c);
  }
  return scan;
}

// Reads the WAL of `tli` in <data_directory>/pg_wal from `from` to its end (pg_waldump,
// which reads the files only: the server may run or not).
Result<WalScan> ScanWal(const PgLocal& local, unsigned tli, uint64_t from, MonoTime deadline) {
  std::vector<std::string> argv = {
      local.Program("pg_waldump"), "--path=" + local.data_directory + "/pg_wal",
      "--timeline=" + std::to_string(tli), "--start=" + FormatLsn(from)};
  ProgramResult r = RunProgram(argv, {{"TZ", "UTC"}}, deadline);
  if (!r.started) return Error::Unavailable("cannot run pg_waldump: " + r.error);
  if (r.timed_out)
    return Error::Unavailable("pg_waldump did not finish before the step's deadline");
  std::string err = LastLine(r.err);
  // It ends with an error at the end of the WAL ("invalid record length at ...: wanted 24,
  // got 0", or "could not find a valid record after ..." when nothing follows `from`);
  // other errors before the first record are real failures (WAL no longer there).
  if (r.exit_code != 0 && r.out.find("rmgr: ") == std::string::npos &&
      err.find("invalid record length") == std::string::npos &&
      err.find("invalid magic number") == std::string::npos &&
      err.find("could not find a valid record") == std::string::npos) {
    return Error::Unavailable("pg_waldump from " + FormatLsn(from) + " on timeline " +
                              std::to_string(tli) + " in " + local.data_directory +
                              "/pg_wal exited " + std::to_string(r.exit_code) + ": " + err);
  }
  WalScan scan = ParseWaldump(r.out);
  scan.truncated = r.truncated;
  return scan;
}

// "2026-12-06 10:06:13.345149 UTC" → seconds since the epoch.
std::optional<double> ParseCommitTime(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  double sec = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%d %d:%d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return static_cast<double>(timegm(&tm)) + sec;
}

std::string Rfc3339(double ts) { return FormatUtc(ts); }

// ---- The rows: looked up on the old primary by tuple position ---------------------------

// Turns (database oid, file node, block, offset) into a table name and the row's values
// as the old primary has them now. One connection per database.
class RowReader {
 public:
  RowReader(const PgTarget& target, PgConn& main, MonoTime deadline)
      : target_(target), main_(main), deadline_(deadline) {}

  // "shop.public.orders"; nullopt: not a user table (catalog, TOAST) or not found.
  std::optional<std::string> Table(const HeapChange& c) {
    auto key = std::make_pair(c.database, c.filenode);
    if (auto it = tables_.find(key); it != tables_.end()) return it->second;
    std::optional<std::string> name;
    if (PgConn* conn = ConnFor(c.database)) {
      auto r = Rows(*conn,
                    "SELECT current_database() AS d, n.nspname AS s, c.relname AS t FROM pg_class "
                    "c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = "
                    "pg_filenode_relation(" +
                        std::to_string(c.tablespace) + ", " + std::to_string(c.filenode) +
                        ") AND c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', "
                        "'information_schema', 'pg_toast')",
                    deadline_);
      if (r && r->size() == 1) {
        const SqlRow& row = r->front();
        name = SqlText(SqlColumn(row, {"d"})) + "." + SqlText(SqlColumn(row, {"s"})) + "." +
               SqlText(SqlColumn(row, {"t"}));
        idents_[key] =
            Ident(SqlText(SqlColumn(row, {"s"}))) + "." + Ident(SqlText(SqlColumn(row, {"t"})));
      }
    }
    tables_[key] = name;
    return name;
  }

  // The visible rows at `where` (a ctid condition) of the table of `c`, as column → text.
  std::vector<json> Values(const HeapChange& c, const std::string& where) {
    std::vector<json> out;
    auto it = idents_.find({c.database, c.filenode});
    PgConn* conn = ConnFor(c.database);
    if (it == idents_.end() || conn == nullptr) return out;
    auto r = Rows(*conn,
                  "SELECT (SELECT json_object_agg(e.key, e.value) FROM "
                  "json_each_text(row_to_json(t)) e)::text AS v FROM " +
                      it->second + " t WHERE " + where,
                  deadline_);
    if (!r) return out;
    for (const auto& row : *r) {
      auto v = json::parse(SqlText(SqlColumn(row, {"v"})), nullptr, false);
      if (v.is_object()) out.push_back(std::move(v));
    }
    return out;
  }

 private:
  PgConn* ConnFor(unsigned db) {
    if (auto it = conns_.find(db); it != conns_.end()) return it->second.get();
    conns_[db] = nullptr;
    auto name = Row(main_, "SELECT datname AS n FROM pg_database WHERE oid = " + std::to_string(db),
                    deadline_);
    if (!name) return nullptr;
    auto conn = std::make_unique<PgConn>();
    if (!Connect(*conn, WithDatabase(target_, SqlText(SqlColumn(*name, {"n"}))), deadline_)) {
      return nullptr;
    }
    conns_[db] = std::move(conn);
    return conns_[db].get();
  }

  const PgTarget& target_;
  PgConn& main_;
  MonoTime deadline_;
  std::map<unsigned, std::unique_ptr<PgConn>> conns_;
  std::map<std::pair<unsigned, unsigned>, std::optional<std::string>> tables_;
  std::map<std::pair<unsigned, unsigned>, std::string> idents_;
};

std::string Tid(unsigned block, unsigned offset) {
  return "'(" + std::to_string(block) + "," + std::to_string(offset) + ")'::tid";
}

// The report's rows of one transaction (at most `budget` more).
json TxRows(const PgTx& tx, RowReader& reader, size_t& budget, bool& truncated) {
  json rows = json::array();
  for (const auto& c : tx.changes) {
    auto table = reader.Table(c);
    if (!table) continue;  // catalog or TOAST: the table's own change is listed
    if (budget == 0) {
      truncated = true;
      break;
    }
    --budget;
    json row = {{"table", *table}, {"operation", c.op}, {"lsn", FormatLsn(c.lsn)}};
    if (c.tuples > 0) {
      // A multi-insert (COPY) does not show its offsets: the block's rows this transaction
      // inserted.
      row["tuples"] = c.tuples;
      auto vals =
          reader.Values(c, "ctid >= " + Tid(c.block, 0) + " AND ctid < " + Tid(c.block + 1, 0) +
                               " AND xmin::text = '" + std::to_string(tx.xid) + "'");
      row["values_list"] = vals;
      if (vals.empty()) row["note"] = "the rows are no longer in the table on the old primary";
    } else if (c.op == "delete") {
      row["ctid"] = "(" + std::to_string(c.block) + "," + std::to_string(c.offset) + ")";
      row["note"] = "deleted: the row's values are not in the WAL";
    } else {
      row["ctid"] = "(" + std::to_string(c.block) + "," + std::to_string(c.offset) + ")";
      auto vals = reader.Values(c, "ctid = " + Tid(c.block, c.offset));
      std::string key = c.op == "update" ? "after" : "values";
      if (!vals.empty()) {
        row[key] = vals.front();
      } else {
        row["note"] = "changed or deleted again later: the row is no longer at " +
                      row["ctid"].get<std::string>() + " on the old primary";
      }
      if (c.op == "update") {
        row["before_ctid"] =
            "(" + std::to_string(c.old_block) + "," + std::to_string(c.old_offset) + ")";
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// Everything db_divergence and db_rejoin learn about a pair.
struct Divergence {
  PgPosition old_pos, new_pos;
  Fork fork;
  std::vector<PgTx> errant;
  uint64_t wal_end = 0;
  bool wal_truncated = false;
  json Json() const {
    json j = {{"old", PositionJson(old_pos)},
              {"new", PositionJson(new_pos)},
              {"old_timeline", old_pos.timeline},
              {"new_timeline", new_pos.timeline},
              {"divergence_lsn", FormatLsn(fork.lsn)},
              {"divergence_from", fork.how},
              {"old_end_lsn",
               FormatLsn(old_pos.lsn == kUnknownEnd ? wal_end : std::max(old_pos.lsn, wal_end))}};
    if (wal_truncated) j["wal_truncated"] = true;
    return j;
  }
  std::vector<std::string> Ids() const {
    std::vector<std::string> out;
    for (const auto& t : errant) out.push_back(FormatLsn(t.lsn));
    return out;
  }
};

// Finds the transactions only the old server has: its WAL after the fork point, read from
// its data directory. `old_pos` is what the old server says of itself.
Result<Divergence> FindDivergence(const PgPosition& old_pos, PgConn& new_conn,
                                  const PgTarget& new_t, const PgLocal& old_local,
                                  const std::string& old_where, MonoTime deadline) {
  Divergence d;
  d.old_pos = old_pos;
  auto np = ReadPosition(new_conn, deadline);
  if (!np) return Error::Unavailable(np.error().detail);
  d.new_pos = *np;
  auto fork = FindFork(new_conn, d.old_pos, d.new_pos, new_t.where, deadline);
  if (!fork) return fork.error();
  d.fork = *fork;
  if (d.old_pos.lsn <= d.fork.lsn) return d;  // nothing written after the fork
  if (old_local.data_directory.empty()) {
    return Error::Invalid(
        old_where + " has WAL after the divergence point " + FormatLsn(d.fork.lsn) + " (up to " +
        FormatLsn(d.old_pos.lsn) +
        "): listing its transactions needs local access to its pg_wal: set data_directory "
        "(and bin_dir) in its postgres: config and run the step on its host");
  }
  auto scan = ScanWal(old_local, d.old_pos.timeline, d.fork.lsn, deadline);
  if (!scan) return scan.error();
  d.errant = std::move(scan->committed);
  d.wal_end = scan->end;
  d.wal_truncated = scan->truncated;
  return d;
}

// ---- Rejoin helpers ----------------------------------------------------------------------

// A value in postgresql.auto.conf: single quotes, ' doubled, \ escaped.
std::string ConfString(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') out += '\'';
    if (c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// A value inside a conninfo: single quotes, ' and \ escaped with \.
std::string ConninfoValue(const std::string& v) { return BackslashQuote(v); }

// Sets `key` in <data>/postgresql.auto.conf (replacing any line that sets it), in place so
// the file keeps its owner and mode.
Status SetAutoConf(const std::string& data, const std::string& key, const std::string& value) {
  std::string path = data + "/postgresql.auto.conf";
  std::ifstream in(path);
  std::string line, out;
  while (std::getline(in, line)) {
    std::string t = line.substr(std::min(line.size(), line.find_first_not_of(" \t")));
    if (t.rfind(key, 0) == 0 && t.size() > key.size() &&
        (t[key.size()] == ' ' || t[key.size()] == '=' || t[key.size()] == '\t')) {
      continue;
    }
    out += line + "\n";
  }
  in.close();
  out += key + " = " + value + "\n";
  std::ofstream o(path, std::ios::trunc);
  o << out;
  o.close();
  if (!o) return Error::Unavailable("cannot write " + path);
  return {};
}

// How the server was last started: the arguments after the program in postmaster.opts
// (what `pg_ctl restart` reuses), for `pg_ctl start -o`.
std::string PostmasterOptions(const std::string& data) {
  std::ifstream in(data + "/postmaster.opts");
  std::string line;
  std::getline(in, line);
  auto at = line.find(" \"");
  return at == std::string::npos ? std::string() : line.substr(at + 1);
}

std::string Secs(double s) { return std::to_string(std::max(1LL, static_cast<long long>(s))); }

}  // namespace

// ---- db_divergence -----------------------------------------------------------------------

StepOutcome PgDivergence(const PgTarget& old_t, const PgLocal& old_local, const PgTarget& new_t,
                         MonoTime deadline) {
  PgConn old_conn, new_conn;
  if (auto c = Connect(old_conn, old_t, deadline); !c) return ConnectFailure(c.error());
  if (auto c = Connect(new_conn, new_t, deadline); !c) return ConnectFailure(c.error());
  auto op = ReadPosition(old_conn, deadline);
  if (!op) return OutcomeOf(op.error());
  auto d = FindDivergence(*op, new_conn, new_t, old_local, old_t.where, deadline);
  if (!d) {
    return d.error().code == ErrorCode::kUnavailable ? StepOutcome::Retry(d.error().message)
                                                     : StepOutcome::Fail(d.error().message);
  }
  json details = d->Json();
  details["errant_gtids"] = d->Ids();
  json errant = json::array();
  size_t budget = kMaxReportedRows;
  bool truncated = false;
  size_t row_count = 0;
  RowReader reader(old_t, old_conn, deadline);
  for (const auto& tx : d->errant) {
    json j = {{"xid", tx.xid},
              {"lsn", FormatLsn(tx.lsn)},
              {"timeline", d->old_pos.timeline},
              {"commit_time", tx.time}};
    if (auto ts = ParseCommitTime(tx.time)) {
      j["timestamp"] = *ts;
      j["time"] = Rfc3339(*ts);
    }
    j["rows"] = TxRows(tx, reader, budget, truncated);
    row_count += j["rows"].size();
    errant.push_back(std::move(j));
  }
  details["errant"] = std::move(errant);
  details["rows_truncated"] = truncated;
  std::string msg;
  if (d->errant.empty()) {
    msg = "no errant transactions: " + old_t.where +
          " committed nothing after the divergence "
          "point " +
          FormatLsn(d->fork.lsn) + " (timeline " + std::to_string(d->old_pos.timeline) + ", " +
          d->fork.how + ")";
  } else {
    std::string list;
    for (size_t i = 0; i < d->errant.size() && i < 10; ++i) {
      list += (i ? ", " : "") + FormatLsn(d->errant[i].lsn);
    }
    if (d->errant.size() > 10) list += ", ...";
    msg = std::to_string(d->errant.size()) + " errant transaction(s) (" +
          std::to_string(row_count) + " row change(s)) only on " + old_t.where +
          " after the divergence point " + FormatLsn(d->fork.lsn) + " on timeline " +
          std::to_string(d->old_pos.timeline) + "; commit LSNs: " + list +
          (truncated ? " (rows truncated at " + std::to_string(kMaxReportedRows) + ")" : "");
  }
  return StepOutcome::Ok(msg, details);
}

// ---- db_rejoin ---------------------------------------------------------------------------

StepOutcome PgRejoin(const PgTarget& self, const PgLocal& configured, const PgTarget& source,
                     const RejoinOptions& options, MonoTime deadline) {
  PgLocal local = configured;
  if (!options.data_directory.empty()) {
    local.data_directory = options.data_directory;
    local.bin_dir.clear();
  }
  auto program = [&](const std::string& name) {
    if (!options.data_directory.empty())
      return name == "pg_ctl" ? options.pg_ctl : options.pg_rewind;
    return local.Program(name);
  };
  std::string src_addr = options.source_address.empty() ? source.where : options.source_address;
  auto hp = src_addr.rfind(':');
  if (hp == std::string::npos) {
    return StepOutcome::Fail("source address \"" + src_addr + "\" is not host:port");
  }
  std::string src_host = src_addr.substr(0, hp);
  std::string src_port = src_addr.substr(hp + 1);
  double wait_s = std::max(
      1.0, std::floor(std::min(ToSeconds(options.catch_up_timeout), SecondsLeft(deadline) - 1)));
  json details = {{"source", src_addr}};

  PgConn src;
  if (auto c = Connect(src, source, deadline); !c) return ConnectFailure(c.error());
  auto sp = ReadPosition(src, deadline);
  if (!sp) return OutcomeOf(sp.error());
  if (sp->in_recovery) {
    return StepOutcome::Fail("the source " + source.where +
                             " is in recovery (a standby): rejoin to a primary");
  }
  details["source_position"] = PositionJson(*sp);

  // Waits until this server streams from the source and replayed what it had written at
  // the start of the step.
  auto verify = [&](bool changed, const std::string& what) -> StepOutcome {
    details["changed"] = changed;
    details["source_lsn"] = FormatLsn(sp->lsn);
    MonoTime until = std::min(
        deadline, std::chrono::steady_clock::now() +
                      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(wait_s)));
    std::string seen = "not reachable";
    while (true) {
      PgConn conn;
      if (Connect(conn, self, until)) {
        if (auto p = ReadPosition(conn, until)) {
          details["after"] = PositionJson(*p);
          details["after"]["receiver_status"] = p->receiver_status;
          bool streaming = p->in_recovery && p->receiver_status == "streaming";
          if (streaming && p->lsn >= sp->lsn) {
            return StepOutcome::Ok(what + "; streams from " + src_addr + " and replayed up to " +
                                       FormatLsn(p->lsn) + " (source was at " + FormatLsn(sp->lsn) +
                                       ")",
                                   details);
          }
          seen = std::string(p->in_recovery ? "in recovery" : "NOT in recovery") +
                 ", WAL receiver " +
                 (p->receiver_status.empty() ? std::string("not running") : p->receiver_status) +
                 ", replayed up to " + FormatLsn(p->lsn) + (p->replay_paused ? " (paused)" : "");
        }
      }
      if (std::chrono::steady_clock::now() + std::chrono::milliseconds(200) >= until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return StepOutcome::Fail(self.where + " did not catch up with " + src_addr + " (" +
                                 FormatLsn(sp->lsn) + ") within " + Secs(wait_s) +
                                 "s (catch_up_timeout): " + seen +
                                 "; it is left configured as a standby of " + src_addr,
                             details);
  };

  // Already a standby streaming from the source: only the catch-up check.
  PgConn conn;
  std::optional<PgPosition> self_pos;
  if (Connect(conn, self, deadline)) {
    auto p = ReadPosition(conn, deadline);
    if (!p) return OutcomeOf(p.error());
    self_pos = *p;
    details["before"] = PositionJson(*p);
    if (p->in_recovery && p->receiver_status == "streaming" && p->sender_host == src_host &&
        p->sender_port == src_port) {
      return verify(false, self.where + " already streams from " + src_addr + ", nothing to do");
    }
  }
  if (local.data_directory.empty()) {
    return StepOutcome::Fail(
        "rejoining " + self.where +
            " needs local access to its data directory (pg_ctl, pg_rewind): set data_directory "
            "(and bin_dir) in its postgres: config and run the step on its host (the region "
            "agent's actuator, or an exec step there); nothing changed",
        details);
  }
  struct stat st {};
  if (stat((local.data_directory + "/PG_VERSION").c_str(), &st) != 0) {
    return StepOutcome::Fail(local.data_directory +
                             " is not a PostgreSQL data directory (no "
                             "PG_VERSION); nothing changed");
  }
  // Where the old server is when it does not answer: its control file's timeline; its WAL
  // is read to the end.
  if (!self_pos) {
    auto r =
        Run({local.Program("pg_controldata"), local.data_directory}, {{"LC_ALL", "C"}}, deadline);
    if (!r) return StepOutcome::Retry(self.where + " does not answer and " + r.error().message);
    PgPosition p;
    std::istringstream in(r->out);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("Latest checkpoint's TimeLineID:", 0) == 0) {
        p.timeline = static_cast<unsigned>(std::strtoul(line.c_str() + 31, nullptr, 10));
      }
      if (line.rfind("Latest checkpoint location:", 0) == 0) {
        std::string v = line.substr(27);
        v.erase(0, v.find_first_not_of(" \t"));
        p.lsn = ParseLsn(v).value_or(0);
      }
    }
    // Its WAL after the checkpoint may reach past the divergence point: read it to the end.
    p.lsn = kUnknownEnd;
    self_pos = p;
    details["before"] = {{"running", false}, {"timeline", p.timeline}};
  }
  auto d = FindDivergence(*self_pos, src, source, local, self.where, deadline);
  if (!d) {
    StepOutcome o = d.error().code == ErrorCode::kUnavailable
                        ? StepOutcome::Retry(d.error().message)
                        : StepOutcome::Fail(d.error().message);
    o.details = details;
    return o;
  }
  details["divergence"] = d->Json();
  auto ids = d->Ids();
  details["errant_gtids"] = ids;
  std::string errant_list;
  for (const auto& g : ids) errant_list += (errant_list.empty() ? "" : ", ") + g;
  auto refuse = [&](const std::string& why) {
    return StepOutcome::Fail("refusing to rejoin " + self.where + ": " + why, details);
  };
  if (options.require_report) {
    if (!options.reported) {
      return refuse(
          "no divergence report for this pair in this execution (run db_divergence first, "
          "or set require_report: false)");
    }
    std::string missing;
    for (const auto& g : ids) {
      if (std::find(options.reported->begin(), options.reported->end(), g) ==
          options.reported->end()) {
        missing += (missing.empty() ? "" : ", ") + g;
      }
    }
    if (!missing.empty()) {
      return refuse("errant transactions not in the divergence report (commit LSNs): " + missing +
                    " (run db_divergence again)");
    }
  }
  if (!ids.empty() && options.errant != "discard") {
    return refuse(std::to_string(ids.size()) +
                  " errant transaction(s) only it has (commit LSNs): " + errant_list +
                  " (errant: refuse; re-enter them from the divergence report, then rejoin with "
                  "errant: discard: pg_rewind removes them)");
  }

  // With an archive (restore_command), pg_rewind fetches WAL the server no longer has.
  bool restore = false;
  if (conn.connected()) {
    if (auto r = Row(conn, "SELECT current_setting('restore_command') AS c", deadline)) {
      restore = !SqlText(SqlColumn(*r, {"c"})).empty();
    }
  }
  conn.Close();

  // Stop, rewind, configure as a standby, start.
  const std::string& data = local.data_directory;
  uid_t owner = 0;
  gid_t group = 0;
  AsOwner(data, {}, &owner, &group);
  std::string opts = PostmasterOptions(data);
  std::string step_secs = Secs(SecondsLeft(deadline) - 1);
  std::string log = local.log_file.empty() ? data + ".log" : local.log_file;
  // pg_ctl start, as the data directory's owner, with the server's own options.
  auto start_server = [&] {
    std::vector<std::string> start = {program("pg_ctl"),
                                      "start",
                                      "-D",
                                      data,
                                      "-w",
                                      "-t",
                                      Secs(SecondsLeft(deadline) - 1),
                                      "-l",
                                      log};
    if (!opts.empty()) start.insert(start.end(), {"-o", opts});
    return Run(AsOwner(data, start), {}, deadline);
  };
  auto status = RunProgram(AsOwner(data, {program("pg_ctl"), "status", "-D", data}), {}, deadline);
  if (!status.started) return StepOutcome::Fail("cannot run pg_ctl: " + status.error);
  if (status.exit_code == 0) {
    auto r = Run(
        AsOwner(data, {program("pg_ctl"), "stop", "-D", data, "-m", "fast", "-w", "-t", step_secs}),
        {}, deadline);
    if (!r) {
      return StepOutcome::Retry("stopping " + self.where + ": " + r.error().message, details);
    }
    // A transaction committed between the check above and the stop would be rewound
    // without being reported: read the now final WAL again. Anything new → start the
    // server again as it was and refuse.
    if (self_pos->lsn > d->fork.lsn || !ids.empty()) {
      auto again = ScanWal(local, self_pos->timeline, d->fork.lsn, deadline);
      std::string added;
      if (again) {
        for (const auto& tx : again->committed) {
          if (std::find(ids.begin(), ids.end(), FormatLsn(tx.lsn)) == ids.end()) {
            added += (added.empty() ? "" : ", ") + FormatLsn(tx.lsn);
          }
        }
      }
      if (!again || !added.empty()) {
        auto restarted = start_server();
        std::string state = restarted
                                ? "started again as it was"
                                : "STOPPED (starting it failed: " + restarted.error().message + ")";
        return refuse(
            (again ? "transactions committed while the step ran (commit LSNs): " + added
                   : "re-reading its WAL after the stop failed: " + again.error().message) +
            "; " + self.where + " is " + state + " (run db_divergence and db_rejoin again)");
      }
    }
  }
  std::map<std::string, std::string> env;
  if (source.password) {
    auto pw = source.password->Resolve();
    if (!pw) return StepOutcome::Fail(pw.error().message);
    env["PGPASSWORD"] = *pw;
  }
  // A source promoted moments ago may not have written its new timeline to its control
  // file yet, which pg_rewind reads: a checkpoint does that.
  if (auto r = src.Exec("CHECKPOINT", deadline); !r) {
    StepOutcome o = OutcomeOf(r.error());
    o.message = "CHECKPOINT on the source before pg_rewind: " + o.message + "; " + self.where +
                " is STOPPED";
    o.details = details;
    return o;
  }
  std::vector<std::string> rewind_argv = {program("pg_rewind"), "--target-pgdata=" + data,
                                          "--source-server=" + source.conninfo};
  if (restore) rewind_argv.push_back("--restore-target-wal");
  auto rewind = Run(AsOwner(data, rewind_argv), env, deadline);
  if (!rewind) {
    std::string hint;
    if (rewind.error().message.find("could not find previous WAL record") != std::string::npos ||
        rewind.error().message.find("could not open file") != std::string::npos) {
      hint =
          " (its WAL from before the divergence point is gone: keep wal_keep_size larger, "
          "or set restore_command so pg_rewind can fetch it)";
    }
    return StepOutcome::Fail("pg_rewind of " + data + " from " + source.where +
                                 " failed: " + rewind.error().message + hint + "; " + self.where +
                                 " is STOPPED (start it, or fix the cause and run the step again)",
                             details);
  }
  std::string said = LastLine(rewind->err);
  {
    std::istringstream in(rewind->err);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("diverged at") != std::string::npos ||
          line.find("no rewind required") != std::string::npos) {
        said = line;
      }
    }
  }
  details["pg_rewind"] = said;
  std::string conninfo = "host=" + ConninfoValue(src_host) + " port=" + ConninfoValue(src_port) +
                         " user=" + ConninfoValue(options.user) +
                         " application_name=" + ConninfoValue(kAppName);
  if (options.password) {
    auto pw = options.password->Resolve();
    if (!pw) return StepOutcome::Fail(pw.error().message);
    conninfo += " password=" + ConninfoValue(*pw);
  }
  if (auto s = SetAutoConf(data, "primary_conninfo", ConfString(conninfo)); !s) {
    return StepOutcome::Fail(s.error().message + "; " + self.where + " is STOPPED");
  }
  std::string signal = data + "/standby.signal";
  if (FILE* f = std::fopen(signal.c_str(), "w")) {
    std::fclose(f);
    if (owner != 0 && chown(signal.c_str(), owner, group) != 0) {
      return StepOutcome::Fail("cannot chown " + signal + "; " + self.where + " is STOPPED");
    }
  } else {
    return StepOutcome::Fail("cannot create " + signal + "; " + self.where + " is STOPPED");
  }
  if (auto r = start_server(); !r) {
    return StepOutcome::Fail(
        "starting " + self.where + " as a standby: " + r.error().message + " (see " + log + ")",
        details);
  }
  std::string what =
      "rewound " + self.where + " (" + said + ") and started it as a standby of " + src_addr;
  if (!ids.empty()) {
    what += "; " + std::to_string(ids.size()) + " errant transaction(s) discarded (" + errant_list +
            "): only the divergence report has them now";
  }
  return verify(true, what);
}

// ---- db_switchover -----------------------------------------------------------------------

StepOutcome PgSwitchoverPosition(const PgTarget& self, MonoTime deadline) {
  PgConn conn;
  if (auto c = Connect(conn, self, deadline); !c) return ConnectFailure(c.error());
  auto p = ReadPosition(conn, deadline);
  if (!p) return OutcomeOf(p.error());
  return StepOutcome::Ok(
      std::string(p->in_recovery ? "replayed" : "written") + " up to " + FormatLsn(p->lsn),
      {{"position", FormatLsn(p->lsn)}, {"in_recovery", p->in_recovery}});
}

StepOutcome PgWaitApplied(const PgTarget& self, const std::string& position, Duration timeout,
                          MonoTime deadline) {
  auto want = ParseLsn(position);
  if (!want) return StepOutcome::Fail("not an LSN: \"" + position + "\"");
  double wait_s =
      std::max(1.0, std::floor(std::min(ToSeconds(timeout), SecondsLeft(deadline) - 1)));
  MonoTime until = std::min(
      deadline, std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<Duration>(std::chrono::duration<double>(wait_s)));
  PgConn conn;
  if (auto c = Connect(conn, self, deadline); !c) return ConnectFailure(c.error());
  while (true) {
    auto p = ReadPosition(conn, deadline);
    if (!p) return OutcomeOf(p.error());
    if (!p->in_recovery) {
      // A second run: the target is already the primary.
      if (p->lsn >= *want) {
        return StepOutcome::Ok(self.where + " is a primary and has everything up to " + position);
      }
      return StepOutcome::Fail(self.where + " is a primary (not in recovery) at " +
                               FormatLsn(p->lsn) + ", behind " + position +
                               ": it is not a standby of the fenced primary");
    }
    if (p->lsn >= *want) {
      return StepOutcome::Ok(self.where + " replayed everything up to " + position + " (at " +
                             FormatLsn(p->lsn) + ")");
    }
    if (std::chrono::steady_clock::now() + std::chrono::milliseconds(100) >= until) {
      return StepOutcome::Fail(self.where + " did not apply " + position + " within " +
                               Secs(wait_s) + "s (it replayed up to " + FormatLsn(p->lsn) +
                               (p->replay_paused ? "; WAL replay is paused" : "") + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace failover
