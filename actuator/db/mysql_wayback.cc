#include "actuator/db/mysql_wayback.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "actuator/db/mysql_gtid_set.h"
#include "actuator/db/program.h"
#include "common/time_format.h"

namespace failover {
namespace {

using nlohmann::json;

constexpr size_t kMaxReportedRows = 10000;  // rows in one divergence report

struct Gtid {
  unsigned long domain = 0;
  unsigned long server = 0;
  unsigned long long seq = 0;
  std::string text;
};

std::optional<Gtid> ParseGtid(const std::string& s) {
  Gtid g;
  int used = 0;
  if (std::sscanf(s.c_str(), "%lu-%lu-%llu%n", &g.domain, &g.server, &g.seq, &used) != 3) {
    return std::nullopt;
  }
  g.text = s.substr(0, static_cast<size_t>(used));
  return g;
}

// "0-1-10,1-2-5" → domain → GTID (the last one of each domain).
std::map<unsigned long, Gtid> ParseGtidList(const std::string& list) {
  std::map<unsigned long, Gtid> out;
  std::stringstream ss(list);
  std::string part;
  while (std::getline(ss, part, ',')) {
    part.erase(0, part.find_first_not_of(" \n\t["));
    while (!part.empty() && (part.back() == ' ' || part.back() == ']' || part.back() == '\n')) {
      part.pop_back();
    }
    if (auto g = ParseGtid(part)) out[g->domain] = *g;
  }
  return out;
}

std::string JoinGtids(const std::map<unsigned long, Gtid>& m) {
  std::string out;
  for (const auto& [d, g] : m) out += (out.empty() ? "" : ",") + g.text;
  return out;
}

SqlOutcome<bool> Connect(MysqlConn& conn, const MysqlTarget& t, MonoTime deadline) {
  double left = SecondsLeft(deadline);
  if (left <= 0) return SqlFailure{"timeout", t.address + ": the step's deadline has passed"};
  return conn.Connect(t, std::chrono::duration_cast<Duration>(std::chrono::duration<double>(left)));
}

SqlOutcome<std::string> One(MysqlConn& conn, const std::string& sql) {
  auto r = conn.Query(sql);
  if (!r) return r.error();
  if (r->size() != 1 || (*r)[0].empty()) return std::string();
  return SqlText((*r)[0].begin()->second);
}

bool IsMariaDb(MysqlConn& conn) {
  auto v = One(conn, "SELECT VERSION()");
  return v && v->find("MariaDB") != std::string::npos;
}

// One transaction that only the old primary has.
struct Errant {
  Gtid gtid;
  std::string file;
  unsigned long long pos = 0;      // its GTID event
  unsigned long long end_pos = 0;  // the end of its last event
  int run = 0;  // errant transactions with no shared one between them share a run
  // The first event that is not a row event (a statement or DDL): flashback cannot undo it.
  std::string statement;
};

struct ErrantScan {
  std::string old_binlog_pos;
  std::string new_current_pos, new_slave_pos, new_binlog_pos;
  // Per domain of the old primary: the last sequence number both servers share.
  std::map<unsigned long, unsigned long long> fork_seq;
  // The position both share (what the old primary's gtid_slave_pos becomes on a rejoin).
  std::map<unsigned long, Gtid> fork;
  std::vector<Errant> errant;
  // Non-empty when the oldest binlog file starts after the fork: the errant transactions
  // before it were purged (their GTIDs, as "0-1-5..0-1-9").
  std::string purged;
  json Json() const {
    json f = json::object();
    for (const auto& [d, s] : fork_seq) f[std::to_string(d)] = s;
    return {{"old_gtid_binlog_pos", old_binlog_pos},
            {"new_gtid_current_pos", new_current_pos},
            {"new_gtid_slave_pos", new_slave_pos},
            {"new_gtid_binlog_pos", new_binlog_pos},
            {"shared_position", JoinGtids(fork)}};
  }
  std::vector<std::string> Gtids() const {
    std::vector<std::string> out;
    for (const auto& e : errant) out.push_back(e.gtid.text);
    return out;
  }
};

// The GTID of a Gtid event's Info ("BEGIN GTID 0-1-9", "GTID 0-1-9 cid=12").
std::optional<Gtid> GtidOfInfo(const std::string& info) {
  auto at = info.find("GTID ");
  if (at == std::string::npos) return std::nullopt;
  return ParseGtid(info.substr(at + 5));
}

// Finds the transactions in the old primary's binlog that the new primary does not have.
// The new primary's gtid_slave_pos is what it applied from replication, i.e. from the old
// primary, up to the moment it was promoted: the fork point of each domain (a domain it
// never replicated falls back to its gtid_current_pos). With gtid_strict_mode the old
// primary's sequence numbers grow within a domain, so everything after the fork is errant.
SqlOutcome<ErrantScan> ScanErrant(MysqlConn& old_conn, MysqlConn& new_conn) {
  ErrantScan scan;
  auto ob = One(old_conn, "SELECT @@global.gtid_binlog_pos");
  if (!ob) return ob.error();
  scan.old_binlog_pos = *ob;
  auto nr = new_conn.Query(
      "SELECT @@global.gtid_current_pos AS c, @@global.gtid_slave_pos AS s, "
      "@@global.gtid_binlog_pos AS b");
  if (!nr) return nr.error();
  if (nr->size() == 1) {
    scan.new_current_pos = SqlText(SqlColumn((*nr)[0], {"c"}));
    scan.new_slave_pos = SqlText(SqlColumn((*nr)[0], {"s"}));
    scan.new_binlog_pos = SqlText(SqlColumn((*nr)[0], {"b"}));
  }
  auto old_pos = ParseGtidList(scan.old_binlog_pos);
  auto new_slave = ParseGtidList(scan.new_slave_pos);
  auto new_current = ParseGtidList(scan.new_current_pos);
  std::set<unsigned long> diverged;
  for (const auto& [d, g] : old_pos) {
    unsigned long long fork = 0;
    if (auto it = new_slave.find(d); it != new_slave.end()) {
      fork = it->second.seq;
    } else if (auto it2 = new_current.find(d); it2 != new_current.end()) {
      fork = it2->second.seq;
    }
    scan.fork_seq[d] = fork;
    if (g.seq > fork) {
      diverged.insert(d);
    } else {
      scan.fork[d] = g;
    }
  }
  if (diverged.empty()) return scan;
  auto logs = old_conn.Query("SHOW BINARY LOGS");
  if (!logs) return logs.error();
  std::vector<std::string> files;
  for (const auto& row : *logs) files.push_back(SqlText(SqlColumn(row, {"Log_name"})));
  std::map<unsigned long, Gtid> fork_seen;
  int run = 0;
  bool reached_fork = false;
  std::map<unsigned long, Gtid> oldest_start;
  // Newest file first; stop at the file whose starting state is at or before every fork.
  for (auto f = files.rbegin(); f != files.rend(); ++f) {
    auto events = old_conn.Query("SHOW BINLOG EVENTS IN " + BackslashQuote(*f));
    if (!events) return events.error();
    bool file_starts_before_fork = false;
    std::vector<Errant> in_file;
    Errant* open = nullptr;  // the errant transaction whose events follow
    ++run;
    for (const auto& ev : *events) {
      std::string type = SqlText(SqlColumn(ev, {"Event_type"}));
      std::string info = SqlText(SqlColumn(ev, {"Info"}));
      if (type == "Gtid_list") {
        auto start = ParseGtidList(info);
        oldest_start = start;
        file_starts_before_fork = std::all_of(diverged.begin(), diverged.end(), [&](auto d) {
          auto it = start.find(d);
          return it == start.end() ? scan.fork_seq[d] == 0 : it->second.seq <= scan.fork_seq[d];
        });
        for (const auto& [d, g] : start) {
          if (diverged.count(d) && g.seq <= scan.fork_seq[d] && !fork_seen.count(d)) {
            fork_seen[d] = g;
          }
        }
        continue;
      }
      if (type != "Gtid") {
        // Events between transactions belong to none.
        if (open == nullptr || type == "Binlog_checkpoint" || type == "Rotate" || type == "Stop" ||
            type == "Format_desc" || type == "Start_encryption") {
          continue;
        }
        open->end_pos =
            static_cast<unsigned long long>(SqlNumber(SqlColumn(ev, {"End_log_pos"})).value_or(0));
        bool row_event =
            type == "Annotate_rows" || type == "Table_map" || type == "Xid" ||
            type.rfind("Write_rows", 0) == 0 || type.rfind("Update_rows", 0) == 0 ||
            type.rfind("Delete_rows", 0) == 0 ||
            (type == "Query" && (info.rfind("COMMIT", 0) == 0 || info.rfind("BEGIN", 0) == 0 ||
                                 info.rfind("ROLLBACK", 0) == 0));
        if (!row_event && open->statement.empty()) {
          open->statement = type + (info.empty() ? "" : ": " + info.substr(0, 80));
        }
        continue;
      }
      open = nullptr;
      auto g = GtidOfInfo(info);
      if (!g || !diverged.count(g->domain)) {
        ++run;
        continue;
      }
      if (g->seq <= scan.fork_seq[g->domain]) {
        fork_seen[g->domain] = *g;  // the latest shared one in this file wins
        ++run;
        continue;
      }
      Errant e;
      e.gtid = *g;
      e.file = *f;
      e.pos = static_cast<unsigned long long>(SqlNumber(SqlColumn(ev, {"Pos"})).value_or(0));
      e.run = run;
      in_file.push_back(e);
      open = &in_file.back();
    }
    scan.errant.insert(scan.errant.begin(), in_file.begin(), in_file.end());
    if (file_starts_before_fork) {
      reached_fork = true;
      break;
    }
  }
  // The oldest file starts after the fork of a domain it has: what came before is purged.
  if (!reached_fork) {
    for (auto d : diverged) {
      auto it = oldest_start.find(d);
      if (it == oldest_start.end() || it->second.seq <= scan.fork_seq[d]) continue;
      scan.purged += (scan.purged.empty() ? "" : ", ") + std::to_string(d) + "-*-" +
                     std::to_string(scan.fork_seq[d] + 1) + ".." + it->second.text;
    }
  }
  for (const auto& [d, g] : fork_seen) scan.fork[d] = g;
  return scan;
}

// ---- Reading the rows of the errant transactions ---------------------------------------

// mariadb-binlog writes a string value as '...' with every byte below 0x20, the quote and
// the backslash as \xNN.
json DecodeValue(const std::string& v) {
  if (v == "NULL") return nullptr;
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
    std::string out;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      if (v[i] == '\\' && i + 3 < v.size() && v[i + 1] == 'x') {
        out += static_cast<char>(std::strtol(v.substr(i + 2, 2).c_str(), nullptr, 16));
        i += 3;
      } else {
        out += v[i];
      }
    }
    return out;
  }
  return v;
}

std::string Rfc3339(double ts) { return FormatUtc(ts); }

// The time of an event's header line, "#261206  7:50:01 server id 1 ...": the tool prints
// it in its own local time, and it runs with TZ=UTC.
std::optional<double> HeaderTime(const std::string& line) {
  int yy = 0, mo = 0, dd = 0, hh = 0, mi = 0, ss = 0;
  if (std::sscanf(line.c_str(), "#%2d%2d%2d %d:%d:%d", &yy, &mo, &dd, &hh, &mi, &ss) != 6) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = yy + 100;
  tm.tm_mon = mo - 1;
  tm.tm_mday = dd;
  tm.tm_hour = hh;
  tm.tm_min = mi;
  tm.tm_sec = ss;
  return static_cast<double>(timegm(&tm));
}

using TxRows = BinlogTransaction;

}  // namespace

// Parses `mariadb-binlog --base64-output=decode-rows --verbose` output: per GTID, the
// time of its GTID event and the row images ("### INSERT INTO `db`.`t`", "### SET",
// "###   @1=9"). Column numbers are turned into names with `columns`.
// MySQL's mysqlbinlog (`mysql` true) names a transaction in a statement after its GTID
// event's header line instead: "SET @@SESSION.GTID_NEXT= '3e11fa47-...:23'/*!*/;" (and
// 'AUTOMATIC' after the transaction, which names none).
std::map<std::string, BinlogTransaction> ParseBinlogText(
    const std::string& text, const std::map<std::string, std::vector<std::string>>& columns,
    size_t& row_budget, bool& truncated, bool mysql) {
  std::map<std::string, TxRows> out;
  std::istringstream in(text);
  std::string line, gtid, section;
  std::optional<double> header_time;
  json* row = nullptr;
  while (std::getline(in, line)) {
    if (mysql && line.rfind("#", 0) == 0 && line.rfind("###", 0) != 0) {
      if (auto t = HeaderTime(line)) header_time = t;
      continue;
    }
    if (mysql && line.rfind("SET @@SESSION.GTID_NEXT=", 0) == 0) {
      auto q1 = line.find('\'');
      auto q2 = q1 == std::string::npos ? q1 : line.find('\'', q1 + 1);
      if (q2 == std::string::npos) continue;
      auto g = ParseMysqlGtid(line.substr(q1 + 1, q2 - q1 - 1));
      if (!g) continue;  // AUTOMATIC, ANONYMOUS
      gtid = g->ToString();
      out[gtid].timestamp = header_time;
      row = nullptr;
      continue;
    }
    if (line.rfind("#", 0) == 0 && line.rfind("###", 0) != 0) {
      // "...CRC32 0x66ebe0cf \tGTID 0-1-17 trans" (a tab before GTID).
      auto at = line.find("GTID ");
      if (at != std::string::npos && at > 0 && (line[at - 1] == '\t' || line[at - 1] == ' ')) {
        if (auto g = ParseGtid(line.substr(at + 5))) {
          gtid = g->text;
          out[gtid].timestamp = HeaderTime(line);
          row = nullptr;
        }
      }
      continue;
    }
    if (gtid.empty()) continue;
    TxRows& tx = out[gtid];
    if (line.rfind("### ", 0) != 0) continue;
    std::string body = line.substr(4);
    std::string op;
    std::string rest;
    for (const auto& [prefix, name] : std::vector<std::pair<std::string, std::string>>{
             {"INSERT INTO ", "insert"}, {"UPDATE ", "update"}, {"DELETE FROM ", "delete"}}) {
      if (body.rfind(prefix, 0) == 0) {
        op = name;
        rest = body.substr(prefix.size());
      }
    }
    if (!op.empty()) {
      if (row_budget == 0) {
        truncated = true;
        row = nullptr;
        continue;
      }
      --row_budget;
      rest.erase(std::remove(rest.begin(), rest.end(), '`'), rest.end());
      tx.rows.push_back({{"table", rest}, {"operation", op}});
      row = &tx.rows.back();
      section = op == "update" ? "before" : "values";
      continue;
    }
    if (row == nullptr) continue;
    if (body == "SET") {
      section = (*row)["operation"] == "update" ? "after" : "values";
      continue;
    }
    if (body == "WHERE") {
      section = (*row)["operation"] == "update" ? "before" : "values";
      continue;
    }
    auto at = body.find('@');
    auto eq = body.find('=');
    if (at == std::string::npos || eq == std::string::npos || eq < at) continue;
    size_t n = std::strtoul(body.c_str() + at + 1, nullptr, 10);
    std::string value = body.substr(eq + 1);
    if (auto c = value.find(" /* "); c != std::string::npos) value.erase(c);  // -vv comments
    std::string name = "@" + std::to_string(n);
    auto cols = columns.find((*row)["table"].get<std::string>());
    if (cols != columns.end() && n >= 1 && n <= cols->second.size()) name = cols->second[n - 1];
    (*row)[section][name] = DecodeValue(value);
  }
  return out;
}

namespace {

// Column names by table ("shop.orders" → {"id", "note"}), from the old primary.
std::map<std::string, std::vector<std::string>> Columns(MysqlConn& conn) {
  std::map<std::string, std::vector<std::string>> out;
  auto r = conn.Query(
      "SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS "
      "WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') "
      "ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION");
  if (!r) return out;
  for (const auto& row : *r) {
    out[SqlText(SqlColumn(row, {"s"})) + "." + SqlText(SqlColumn(row, {"t"}))].push_back(
        SqlText(SqlColumn(row, {"c"})));
  }
  return out;
}

// Runs `program` (mariadb-binlog, or MySQL's mysqlbinlog) against the old primary with
// `args` (what to read, the binlog file last) after the connection options. The password
// goes in a temporary option file (mode 0600), never on the command line.
// `whole`: output cut at RunProgram's limit is an error (an undo must be complete).
Result<std::string> RunBinlogReader(const std::string& program, const MysqlTarget& t,
                                    const std::vector<std::string>& args, MonoTime deadline,
                                    bool whole = false) {
  std::string password;
  if (t.password) {
    auto p = t.password->Resolve();
    if (!p) return p.error();
    password = *p;
  }
  char path[] = "/tmp/failover-binlog-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return Error::Unavailable(program + ": cannot create its option file");
  std::string opts = "[client]\npassword=\"";
  for (char c : password) {
    if (c == '"' || c == '\\') opts += '\\';
    opts += c;
  }
  opts += "\"\n";
  bool written = write(fd, opts.data(), opts.size()) == static_cast<ssize_t>(opts.size());
  close(fd);
  if (!written) {
    unlink(path);
    return Error::Unavailable(program + ": cannot write its option file");
  }
  std::vector<std::string> argv = {program, std::string("--defaults-file=") + path,
                                   "--read-from-remote-server", "--user=" + t.user};
  if (!t.socket.empty()) {
    argv.push_back("--socket=" + t.socket);
  } else {
    argv.push_back("--host=" + t.host);
    argv.push_back("--port=" + std::to_string(t.port));
    argv.push_back("--protocol=tcp");
  }
  argv.insert(argv.end(), args.begin(), args.end());
  ProgramResult r = RunProgram(argv, {{"TZ", "UTC"}}, deadline);
  unlink(path);
  if (!r.started) return Error::Unavailable("cannot run " + program + ": " + r.error);
  if (r.timed_out) return Error::Unavailable(program + " did not finish before the deadline");
  if (r.exit_code != 0) {
    std::string err = r.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
    if (auto nl = err.rfind('\n'); nl != std::string::npos) err = err.substr(nl + 1);
    return Error::Unavailable(program + " " + args.back() + " exited " +
                              std::to_string(r.exit_code) + ": " + err);
  }
  if (whole && r.truncated) {
    return Error::Invalid(program + "'s output for " + args.back() +
                          " is larger than the actuator reads (64 MiB)");
  }
  return r.out;
}

// mariadb-binlog for `file` with `args` before it.
Result<std::string> RunBinlogTool(const MysqlTarget& t, const std::string& file,
                                  std::vector<std::string> args, MonoTime deadline,
                                  bool whole = false) {
  args.push_back(file);
  return RunBinlogReader("mariadb-binlog", t, args, deadline, whole);
}

// ---- Undoing the errant transactions (errant: discard) ---------------------------------

// The undo of the errant transactions: the inverse row events that `mariadb-binlog
// --flashback` writes for them, newest first, as BINLOG statements.
struct Undo {
  std::vector<std::string> statements;
  size_t transactions = 0;
  size_t row_changes = 0;
};

// Why flashback cannot undo the errant transactions of `scan` on this server ("" when it
// can): it reads their row events, so their binlogs must still be there, hold row events
// only (a statement or DDL is skipped by the tool without a word), and hold full row images
// (the inverse of an update or delete must match the whole row).
SqlOutcome<std::string> CannotUndo(MysqlConn& conn, const ErrantScan& scan) {
  if (!scan.purged.empty()) {
    return "the binlogs of errant transaction(s) " + scan.purged + " are purged";
  }
  auto vars = conn.Query("SELECT @@global.binlog_format AS f, @@global.binlog_row_image AS i");
  if (!vars) return vars.error();
  std::string format = vars->size() == 1 ? SqlText(SqlColumn((*vars)[0], {"f"})) : "";
  std::string image = vars->size() == 1 ? SqlText(SqlColumn((*vars)[0], {"i"})) : "";
  if (format != "ROW") return "binlog_format is " + format + ", not ROW";
  if (image != "FULL") return "binlog_row_image is " + image + ", not FULL";
  for (const auto& e : scan.errant) {
    if (!e.statement.empty()) {
      return "errant transaction " + e.gtid.text + " is not made of row events (" + e.statement +
             ")";
    }
    if (e.end_pos <= e.pos) return "errant transaction " + e.gtid.text + " has no events";
  }
  return std::string();
}

// Takes the BINLOG statements of `mariadb-binlog --flashback --verbose` output (each ends
// with "/*!*/;", its DELIMITER) and counts the row changes of its comments ("### INSERT
// INTO `db`.`t`", "### WHERE", "###   @1=9"). Every row image must have each column of its
// table: one written with binlog_row_image MINIMAL or NOBLOB would not match on the undo.
Result<size_t> TakeFlashback(const std::string& text,
                             const std::map<std::string, std::vector<std::string>>& columns,
                             std::vector<std::string>& statements) {
  size_t rows = 0;
  std::string table;
  size_t image = 0;  // columns in the current row image
  bool in_image = false;
  auto end_image = [&]() -> std::optional<Error> {
    if (in_image) {
      auto it = columns.find(table);
      if (it != columns.end() && image != it->second.size()) {
        return Error::Invalid("a row image of " + table + " has " + std::to_string(image) +
                              " of its " + std::to_string(it->second.size()) +
                              " columns (written with binlog_row_image other than FULL)");
      }
    }
    in_image = false;
    image = 0;
    return std::nullopt;
  };
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("### ", 0) != 0) {
      if (auto e = end_image()) return *e;
      continue;
    }
    std::string body = line.substr(4);
    bool op = false;
    for (const char* prefix : {"INSERT INTO ", "UPDATE ", "DELETE FROM "}) {
      if (body.rfind(prefix, 0) == 0) {
        table = body.substr(std::string(prefix).size());
        table.erase(std::remove(table.begin(), table.end(), '`'), table.end());
        op = true;
      }
    }
    if (op || body == "SET" || body == "WHERE") {
      if (auto e = end_image()) return *e;
      if (op) {
        ++rows;
      } else {
        in_image = true;
      }
      continue;
    }
    if (body.find('@') != std::string::npos) ++image;
  }
  if (auto e = end_image()) return *e;
  const std::string end = "/*!*/;";
  size_t from = 0;
  for (size_t at; (at = text.find(end, from)) != std::string::npos; from = at + end.size()) {
    std::string chunk = text.substr(from, at - from);
    // Comment lines ("#...", "###...") come before a statement.
    size_t p = 0;
    while (p < chunk.size()) {
      size_t nl = chunk.find('\n', p);
      std::string l = chunk.substr(p, nl == std::string::npos ? std::string::npos : nl - p);
      if (!l.empty() && l[0] != '#') break;
      if (nl == std::string::npos) {
        p = chunk.size();
        break;
      }
      p = nl + 1;
    }
    chunk.erase(0, p);
    if (chunk.rfind("BINLOG '", 0) == 0) statements.push_back(chunk);
  }
  return rows;
}

// Runs `mariadb-binlog --flashback` over the errant transactions: one run per stretch of
// them with no shared transaction between, newest stretch first.
Result<Undo> Flashback(const MysqlTarget& t, const ErrantScan& scan,
                       const std::map<std::string, std::vector<std::string>>& columns,
                       MonoTime deadline) {
  struct Range {
    std::string file;
    int run = 0;
    unsigned long long start = 0, stop = 0;
  };
  std::vector<Range> ranges;
  for (const auto& e : scan.errant) {
    if (ranges.empty() || ranges.back().file != e.file || ranges.back().run != e.run) {
      ranges.push_back({e.file, e.run, e.pos, e.end_pos});
    } else {
      ranges.back().stop = e.end_pos;
    }
  }
  Undo undo;
  undo.transactions = scan.errant.size();
  for (auto r = ranges.rbegin(); r != ranges.rend(); ++r) {
    std::vector<std::string> range = {"--start-position=" + std::to_string(r->start),
                                      "--stop-position=" + std::to_string(r->stop)};
    // The row images as written first: the tool's flashback stops at a partial image
    // ("Error row length: 0"), this names the table.
    std::vector<std::string> args = {"--base64-output=decode-rows", "--verbose"};
    args.insert(args.end(), range.begin(), range.end());
    auto plain = RunBinlogTool(t, r->file, args, deadline, true);
    if (!plain) return plain.error();
    std::vector<std::string> none;
    if (auto rows = TakeFlashback(*plain, columns, none); !rows) return rows.error();
    args = {"--flashback", "--verbose"};
    args.insert(args.end(), range.begin(), range.end());
    auto text = RunBinlogTool(t, r->file, args, deadline, true);
    if (!text) return text.error();
    auto rows = TakeFlashback(*text, columns, undo.statements);
    if (!rows) return rows.error();
    undo.row_changes += *rows;
  }
  return undo;
}

// Applies `undo` in one transaction with binary logging off for this session: the undo
// gets no GTID of its own, and the errant GTIDs go with RESET MASTER right after.
SqlOutcome<bool> ApplyUndo(MysqlConn& conn, const Undo& undo) {
  if (auto r = conn.Query("SET SESSION sql_log_bin = 0"); !r) return r.error();
  std::optional<SqlFailure> failed;
  if (auto r = conn.Query("START TRANSACTION"); !r) failed = r.error();
  for (size_t i = 0; !failed && i < undo.statements.size(); ++i) {
    if (auto r = conn.Query(undo.statements[i]); !r) failed = r.error();
  }
  if (!failed) {
    if (auto r = conn.Query("COMMIT"); !r) failed = r.error();
  }
  if (failed) (void)conn.Query("ROLLBACK");
  (void)conn.Query("SET SESSION sql_log_bin = 1");
  if (failed) return *failed;
  return true;
}

SqlOutcome<std::vector<SqlRow>> SlaveStatus(MysqlConn& conn) {
  return conn.Query("SHOW SLAVE STATUS");
}

// ---- MySQL 8 (not MariaDB): GTID sets (actuator/db/mysql_gtid_set.h). Unit-tested only:
// Debian 12 ships no MySQL server (docs/actuator-steps.md, "MySQL 8"). The statements and
// the server behaviour they rely on: docs/contracts/databases.md, "MySQL 8 GTIDs". ----

constexpr size_t kMaxListedGtids = 10000;  // single GTIDs in errant_gtids

std::string RedactIn(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (size_t at; (at = text.find(secret)) != std::string::npos;) {
    text.replace(at, secret.size(), "<redacted>");
  }
  return text;
}

// One errant transaction of a divergence report: where it is, and its row changes and
// time when the binlog decoder found them (`rows`, by GTID); counts them in `row_count`.
json ErrantTransaction(const std::string& gtid, const std::string& file, unsigned long long pos,
                       const std::map<std::string, TxRows>& rows, size_t& row_count) {
  json tx = {{"gtid", gtid}, {"binlog", file}, {"position", pos}, {"rows", json::array()}};
  auto it = rows.find(gtid);
  if (it == rows.end()) return tx;
  if (it->second.timestamp) {
    tx["timestamp"] = *it->second.timestamp;
    tx["time"] = Rfc3339(*it->second.timestamp);
  }
  tx["rows"] = it->second.rows;
  row_count += it->second.rows.size();
  return tx;
}

StepOutcome BinlogReadFailure(const MysqlTarget& t, const Error& e, const json& details) {
  return StepOutcome::Retry("reading the errant transactions from " + t.address + ": " + e.message,
                            details);
}

// @@global.gtid_executed, parsed; a server without gtid_mode=ON is refused by name.
SqlOutcome<MysqlGtidSet> GtidExecuted(MysqlConn& conn, const std::string& where) {
  auto r = conn.Query("SELECT @@global.gtid_mode AS m, @@global.gtid_executed AS e");
  if (!r) return r.error();
  if (r->size() != 1)
    return SqlFailure{"query_failed", where + ": no answer for gtid_executed", false};
  std::string mode = SqlText(SqlColumn((*r)[0], {"m"}));
  if (mode != "ON") {
    return SqlFailure{
        "query_failed",
        where + " has gtid_mode=" + mode + " (the way back needs gtid_mode=ON on both servers)",
        false};
  }
  auto set = MysqlGtidSet::Parse(SqlText(SqlColumn((*r)[0], {"e"})));
  if (!set)
    return SqlFailure{"query_failed", where + ": gtid_executed: " + set.error().message, false};
  return *set;
}

struct MysqlErrant {
  MysqlGtid gtid;
  std::string file;
  unsigned long long pos = 0;
};

// The binlog files and positions of the errant transactions: SHOW BINLOG EVENTS, newest
// file first, until a file's Previous_gtids (what was written before it) holds none of them.
SqlOutcome<std::vector<MysqlErrant>> FindMysqlErrant(MysqlConn& conn, const MysqlGtidSet& errant) {
  std::vector<MysqlErrant> found;
  auto logs = conn.Query("SHOW BINARY LOGS");
  if (!logs) return logs.error();
  std::vector<std::string> files;
  for (const auto& row : *logs) files.push_back(SqlText(SqlColumn(row, {"Log_name"})));
  for (auto f = files.rbegin(); f != files.rend(); ++f) {
    auto events = conn.Query("SHOW BINLOG EVENTS IN " + BackslashQuote(*f));
    if (!events) return events.error();
    bool earlier_files_have_some = true;
    std::vector<MysqlErrant> in_file;
    for (const auto& ev : *events) {
      std::string type = SqlText(SqlColumn(ev, {"Event_type"}));
      std::string info = SqlText(SqlColumn(ev, {"Info"}));
      if (type == "Previous_gtids") {
        auto before = MysqlGtidSet::Parse(info);
        earlier_files_have_some = !before || !before->Intersect(errant).empty();
        continue;
      }
      if (type != "Gtid" && type != "Gtid_tagged_log") continue;
      auto q1 = info.find('\'');
      auto q2 = q1 == std::string::npos ? q1 : info.find('\'', q1 + 1);
      if (q2 == std::string::npos) continue;
      auto g = ParseMysqlGtid(info.substr(q1 + 1, q2 - q1 - 1));
      if (!g || !errant.Contains(g->key, g->gno)) continue;
      in_file.push_back(
          {*g, *f, static_cast<unsigned long long>(SqlNumber(SqlColumn(ev, {"Pos"})).value_or(0))});
    }
    found.insert(found.begin(), in_file.begin(), in_file.end());
    if (!earlier_files_have_some) break;
  }
  return found;
}

StepOutcome MysqlGtidDivergence(MysqlConn& old_conn, MysqlConn& new_conn, const MysqlTarget& old_t,
                                const MysqlTarget& new_t, MonoTime deadline) {
  auto old_set = GtidExecuted(old_conn, old_t.address);
  if (!old_set) return OutcomeOf(old_set.error());
  auto new_set = GtidExecuted(new_conn, new_t.address);
  if (!new_set) return OutcomeOf(new_set.error());
  MysqlGtidSet errant = old_set->Subtract(*new_set);
  json details = {{"old_gtid_executed", old_set->ToString()},
                  {"new_gtid_executed", new_set->ToString()},
                  {"shared_position", old_set->Intersect(*new_set).ToString()},
                  {"errant_gtid_set", errant.ToString()},
                  {"errant_gtids", errant.List(kMaxListedGtids)},
                  {"errant_gtids_truncated", errant.Count() > kMaxListedGtids}};
  json list = json::array();
  size_t budget = kMaxReportedRows;
  bool truncated = false;
  size_t row_count = 0;
  if (!errant.empty()) {
    auto where = FindMysqlErrant(old_conn, errant);
    if (!where) return OutcomeOf(where.error());
    std::map<std::string, TxRows> rows;
    std::vector<std::string> files;
    for (const auto& e : *where) {
      if (std::find(files.begin(), files.end(), e.file) == files.end()) files.push_back(e.file);
    }
    if (!files.empty()) {
      // MySQL's own decoder, told to print only the errant transactions.
      std::vector<std::string> args = {"--base64-output=DECODE-ROWS", "--verbose",
                                       "--include-gtids=" + errant.ToString()};
      args.insert(args.end(), files.begin(), files.end());
      auto text = RunBinlogReader("mysqlbinlog", old_t, args, deadline);
      if (!text) {
        return BinlogReadFailure(old_t, text.error(), details);
      }
      rows = ParseBinlogText(*text, Columns(old_conn), budget, truncated, /*mysql=*/true);
    }
    for (const auto& e : *where) {
      list.push_back(ErrantTransaction(e.gtid.ToString(), e.file, e.pos, rows, row_count));
    }
  }
  details["errant"] = std::move(list);
  details["rows_truncated"] = truncated;
  if (errant.empty()) {
    return StepOutcome::Ok("no errant transactions: " + new_t.address +
                               " has every transaction of " + old_t.address + " (" +
                               old_set->ToString() + ")",
                           details);
  }
  std::string shown = errant.ToString();
  if (shown.size() > 300) shown = shown.substr(0, 300) + "...";
  return StepOutcome::Ok(
      std::to_string(errant.Count()) + " errant transaction(s) (" + std::to_string(row_count) +
          " row change(s)) only on " + old_t.address + ": " + shown +
          (truncated ? " (rows truncated at " + std::to_string(kMaxReportedRows) + ")" : ""),
      details);
}

// SHOW REPLICA STATUS (MySQL 8.0.22+ names).
struct ReplicaStatus {
  bool configured = false;
  std::string host, port, auto_position, io, sql, error;
};

SqlOutcome<ReplicaStatus> MysqlReplicaStatus(MysqlConn& conn) {
  auto r = conn.Query("SHOW REPLICA STATUS");
  if (!r) return r.error();
  ReplicaStatus st;
  if (r->size() != 1) return st;
  const SqlRow& row = (*r)[0];
  st.configured = true;
  st.host = SqlText(SqlColumn(row, {"Source_Host"}));
  st.port = SqlText(SqlColumn(row, {"Source_Port"}));
  st.auto_position = SqlText(SqlColumn(row, {"Auto_Position"}));
  st.io = SqlText(SqlColumn(row, {"Replica_IO_Running"}));
  st.sql = SqlText(SqlColumn(row, {"Replica_SQL_Running"}));
  st.error = SqlText(SqlColumn(row, {"Last_SQL_Error"}));
  if (st.error.empty()) st.error = SqlText(SqlColumn(row, {"Last_IO_Error"}));
  return st;
}

// "8.4.0" and later: RESET BINARY LOGS AND GTIDS (RESET MASTER is gone in 8.4).
bool ResetBinaryLogsSyntax(const std::string& version) {
  int major = 0, minor = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) return false;
  return major > 8 || (major == 8 && minor >= 4);
}

// Where the old primary replicates from (the step's `source_address`, else the source's own
// address) and how many whole seconds it may wait to catch up.
struct RejoinSource {
  std::string address, host, port, wait_secs;
};

Result<RejoinSource> SplitRejoinSource(const MysqlTarget& source, const RejoinOptions& options,
                                       MonoTime deadline) {
  RejoinSource r;
  r.address = options.source_address.empty() ? source.address : options.source_address;
  auto hp = r.address.rfind(':');
  if (hp == std::string::npos) {
    return Error::Invalid("source address \"" + r.address + "\" is not host:port");
  }
  r.host = r.address.substr(0, hp);
  r.port = r.address.substr(hp + 1);
  double wait_s = std::max(
      1.0, std::floor(std::min(ToSeconds(options.catch_up_timeout), SecondsLeft(deadline) - 1)));
  r.wait_secs = std::to_string(static_cast<long long>(wait_s));
  return r;
}

// require_report refusals: no report at all, or errant transactions (`missing`) not in it.
StepOutcome NoDivergenceReport(const MysqlTarget& self, const json& details) {
  return StepOutcome::Fail("refusing to rejoin " + self.address +
                               ": no divergence report for this pair in this "
                               "execution (run db_divergence first, or set require_report: false)",
                           details);
}

StepOutcome NotInDivergenceReport(const MysqlTarget& self, const std::string& missing,
                                  const json& details) {
  return StepOutcome::Fail("refusing to rejoin " + self.address +
                               ": errant transactions not in the divergence report: " + missing +
                               " (run db_divergence again)",
                           details);
}

// errant: refuse (the default) stops a rejoin that would lose transactions.
StepOutcome ErrantRefused(const MysqlTarget& self, size_t count, const std::string& list,
                          const json& details) {
  return StepOutcome::Fail(
      "refusing to rejoin " + self.address + ": " + std::to_string(count) +
          " errant transaction(s) only it has: " + list +
          " (errant: refuse; re-enter them from the divergence report, then re-clone the server "
          "or rejoin with errant: discard)",
      details);
}

// `statement` (CHANGE MASTER TO, CHANGE REPLICATION SOURCE TO) with the source's host, port
// and credentials as `word`_HOST, `word`_PORT, `word`_USER and `word`_PASSWORD.
std::string ChangeSourceSql(const std::string& statement, const std::string& word,
                            const std::string& host, const std::string& port,
                            const std::string& user, const std::string& password) {
  return statement + " " + word + "_HOST=" + BackslashQuote(host) + ", " + word +
         "_PORT=" + std::to_string(std::atoi(port.c_str())) + ", " + word +
         "_USER=" + BackslashQuote(user) + ", " + word + "_PASSWORD=" + BackslashQuote(password);
}

// The replication password, "" when none is configured.
Result<std::string> RejoinPassword(const RejoinOptions& options) {
  if (!options.password) return std::string();
  return options.password->Resolve();
}

StepOutcome MysqlGtidRejoin(MysqlConn& conn, MysqlConn& src, const MysqlTarget& self,
                            const MysqlTarget& source, const RejoinOptions& options,
                            MonoTime deadline) {
  auto rs = SplitRejoinSource(source, options, deadline);
  if (!rs) return StepOutcome::Fail(rs.error().message);
  const RejoinSource& from = *rs;

  auto verify = [&](json details, bool changed, const std::string& what) -> StepOutcome {
    auto target = GtidExecuted(src, source.address);
    if (!target) return OutcomeOf(target.error());
    details["source_gtid_executed"] = target->ToString();
    // 0: applied all of it; 1: timed out.
    auto r = One(conn, "SELECT WAIT_FOR_EXECUTED_GTID_SET(" + BackslashQuote(target->ToString()) +
                           ", " + from.wait_secs + ")");
    if (!r) return OutcomeOf(r.error());
    auto st = MysqlReplicaStatus(conn);
    if (!st) return OutcomeOf(st.error());
    details["after"] = {{"io_running", st->io}, {"sql_running", st->sql}};
    details["changed"] = changed;
    if (*r != "0") {
      return StepOutcome::Fail(self.address + " did not catch up with " + from.address +
                                   " within " + from.wait_secs + "s (catch_up_timeout); IO " +
                                   st->io + ", SQL " + st->sql +
                                   (st->error.empty() ? "" : "; error: " + st->error) +
                                   "; replication is left configured",
                               details);
    }
    return StepOutcome::Ok(what + "; caught up with " + from.address, details);
  };

  auto status = MysqlReplicaStatus(conn);
  if (!status) return OutcomeOf(status.error());
  auto ro = One(conn, "SELECT @@global.super_read_only");
  if (!ro) return OutcomeOf(ro.error());
  json details = {{"source", from.address}};
  if (status->configured && status->host == from.host && status->port == from.port &&
      status->auto_position == "1" && status->io == "Yes" && status->sql == "Yes" && *ro == "1") {
    return verify(details, false,
                  self.address + " already replicates from " + from.address + ", nothing to do");
  }
  auto mine = GtidExecuted(conn, self.address);
  if (!mine) return OutcomeOf(mine.error());
  auto theirs = GtidExecuted(src, source.address);
  if (!theirs) return OutcomeOf(theirs.error());
  MysqlGtidSet errant = mine->Subtract(*theirs);
  MysqlGtidSet shared = mine->Intersect(*theirs);
  details["divergence"] = {{"gtid_executed", mine->ToString()},
                           {"source_gtid_executed", theirs->ToString()},
                           {"shared_position", shared.ToString()}};
  details["errant_gtid_set"] = errant.ToString();
  details["errant_gtids"] = errant.List(kMaxListedGtids);
  if (options.require_report) {
    if (!options.reported) {
      return NoDivergenceReport(self, details);
    }
    MysqlGtidSet reported;
    for (const auto& g : *options.reported) {
      if (auto one = ParseMysqlGtid(g)) reported.Add(one->key, one->gno, one->gno);
    }
    MysqlGtidSet missing = errant.Subtract(reported);
    if (!missing.empty()) {
      return NotInDivergenceReport(self, missing.ToString(), details);
    }
  }
  std::vector<std::string> sqls = {"SET GLOBAL read_only = ON", "STOP REPLICA"};
  if (!errant.empty()) {
    if (options.errant != "discard") {
      return ErrantRefused(self, errant.Count(), errant.ToString(), details);
    }
    // discard: its GTID history becomes the shared one (the binlogs go; the rows stay).
    auto version = One(conn, "SELECT VERSION()");
    if (!version) return OutcomeOf(version.error());
    sqls.push_back(ResetBinaryLogsSyntax(*version) ? "RESET BINARY LOGS AND GTIDS"
                                                   : "RESET MASTER");
    if (!shared.empty())
      sqls.push_back("SET GLOBAL gtid_purged = " + BackslashQuote(shared.ToString()));
  }
  auto password = RejoinPassword(options);
  if (!password) return StepOutcome::Fail(password.error().message);
  const std::string& pw = *password;
  // GET_SOURCE_PUBLIC_KEY: caching_sha2_password (MySQL 8's default) over a connection
  // without TLS needs the source's RSA key.
  std::string change = ChangeSourceSql("CHANGE REPLICATION SOURCE TO", "SOURCE", from.host,
                                       from.port, options.user, pw) +
                       ", SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, GET_SOURCE_PUBLIC_KEY=1";
  sqls.push_back(change);
  sqls.push_back("SET GLOBAL super_read_only = ON");
  sqls.push_back("START REPLICA");
  for (const auto& sql : sqls) {
    auto r = conn.Query(sql);
    if (!r) {
      SqlFailure f = r.error();
      f.detail = RedactIn(f.detail, pw);
      StepOutcome o = OutcomeOf(f);
      o.message =
          (sql == change ? std::string("CHANGE REPLICATION SOURCE TO") : sql) + ": " + o.message;
      o.details = details;
      return o;
    }
  }
  std::string what = "rejoined " + self.address + " as a read-only replica of " + from.address +
                     " (SOURCE_AUTO_POSITION=1, shared " +
                     (shared.empty() ? std::string("nothing") : shared.ToString()) + ")";
  if (!errant.empty()) {
    what += "; " + std::to_string(errant.Count()) + " errant transaction(s) discarded (" +
            errant.ToString() + "): their rows stay in its tables";
  }
  return verify(details, true, what);
}

}  // namespace

StepOutcome MysqlDivergence(const MysqlTarget& old_t, const MysqlTarget& new_t, MonoTime deadline) {
  MysqlConn old_conn, new_conn;
  if (auto c = Connect(old_conn, old_t, deadline); !c) return ConnectFailure(c.error());
  if (auto c = Connect(new_conn, new_t, deadline); !c) return ConnectFailure(c.error());
  bool old_maria = IsMariaDb(old_conn), new_maria = IsMariaDb(new_conn);
  if (old_maria != new_maria) {
    return StepOutcome::Fail("db_divergence: " + old_t.address + " and " + new_t.address +
                             " are not both MariaDB or both MySQL");
  }
  if (!old_maria) return MysqlGtidDivergence(old_conn, new_conn, old_t, new_t, deadline);
  auto scan = ScanErrant(old_conn, new_conn);
  if (!scan) return OutcomeOf(scan.error());
  json details = scan->Json();
  details["errant_gtids"] = scan->Gtids();
  json errant = json::array();
  size_t budget = kMaxReportedRows;
  bool truncated = false;
  std::map<std::string, TxRows> rows;
  if (!scan->errant.empty()) {
    auto columns = Columns(old_conn);
    // One mariadb-binlog run per binlog file, from its first errant transaction.
    std::map<std::string, unsigned long long> from;
    for (const auto& e : scan->errant) {
      auto it = from.find(e.file);
      if (it == from.end() || e.pos < it->second) from[e.file] = e.pos;
    }
    for (const auto& [file, pos] : from) {
      auto text = RunBinlogTool(
          old_t, file,
          {"--base64-output=decode-rows", "--verbose", "--start-position=" + std::to_string(pos)},
          deadline);
      if (!text) {
        return BinlogReadFailure(old_t, text.error(), details);
      }
      auto parsed = ParseBinlogText(*text, columns, budget, truncated);
      rows.insert(parsed.begin(), parsed.end());
    }
  }
  size_t row_count = 0;
  for (const auto& e : scan->errant) {
    errant.push_back(ErrantTransaction(e.gtid.text, e.file, e.pos, rows, row_count));
  }
  details["errant"] = std::move(errant);
  details["rows_truncated"] = truncated;
  std::string msg;
  if (scan->errant.empty()) {
    msg = "no errant transactions: " + old_t.address + " has nothing that " + new_t.address +
          " lacks (old " + scan->old_binlog_pos + ", new " + scan->new_current_pos + ")";
  } else {
    std::string list;
    for (size_t i = 0; i < scan->errant.size() && i < 10; ++i) {
      list += (i ? ", " : "") + scan->errant[i].gtid.text;
    }
    if (scan->errant.size() > 10) list += ", ...";
    msg = std::to_string(scan->errant.size()) + " errant transaction(s) (" +
          std::to_string(row_count) + " row change(s)) only on " + old_t.address + ": " + list +
          (truncated ? " (rows truncated at " + std::to_string(kMaxReportedRows) + ")" : "");
  }
  return StepOutcome::Ok(msg, details);
}

StepOutcome MysqlRejoin(const MysqlTarget& self, const MysqlTarget& source,
                        const RejoinOptions& options, MonoTime deadline) {
  MysqlConn conn, src;
  if (auto c = Connect(conn, self, deadline); !c) return ConnectFailure(c.error());
  if (auto c = Connect(src, source, deadline); !c) return ConnectFailure(c.error());
  bool maria = IsMariaDb(conn);
  if (maria != IsMariaDb(src)) {
    return StepOutcome::Fail("db_rejoin: " + self.address + " and " + source.address +
                             " are not both MariaDB or both MySQL");
  }
  if (!maria) return MysqlGtidRejoin(conn, src, self, source, options, deadline);
  auto rs = SplitRejoinSource(source, options, deadline);
  if (!rs) return StepOutcome::Fail(rs.error().message);
  const RejoinSource& from = *rs;

  // Waits until this server applied everything the source has written now.
  auto verify = [&](json details, bool changed, const std::string& what) -> StepOutcome {
    auto target = One(src, "SELECT @@global.gtid_binlog_pos");
    if (!target) return OutcomeOf(target.error());
    details["source_gtid_binlog_pos"] = *target;
    auto r = One(
        conn, "SELECT MASTER_GTID_WAIT(" + BackslashQuote(*target) + ", " + from.wait_secs + ")");
    if (!r) return OutcomeOf(r.error());
    auto st = SlaveStatus(conn);
    if (!st) return OutcomeOf(st.error());
    std::string io, sql, err;
    if (st->size() == 1) {
      io = SqlText(SqlColumn((*st)[0], {"Slave_IO_Running"}));
      sql = SqlText(SqlColumn((*st)[0], {"Slave_SQL_Running"}));
      err = SqlText(SqlColumn((*st)[0], {"Last_SQL_Error"}));
      if (err.empty()) err = SqlText(SqlColumn((*st)[0], {"Last_IO_Error"}));
    }
    details["after"] = {{"io_running", io}, {"sql_running", sql}};
    details["changed"] = changed;
    if (*r != "0") {
      return StepOutcome::Fail(
          self.address + " did not catch up with " + from.address + " (" + *target + ") within " +
              from.wait_secs + "s (catch_up_timeout); IO " + io + ", SQL " + sql +
              (err.empty() ? "" : "; error: " + err) + "; replication is left configured",
          details);
    }
    return StepOutcome::Ok(what + "; caught up with " + from.address + " at " + *target, details);
  };

  auto status = SlaveStatus(conn);
  if (!status) return OutcomeOf(status.error());
  auto ro = One(conn, "SELECT @@global.read_only");
  if (!ro) return OutcomeOf(ro.error());
  json details = {{"source", from.address}};
  if (status->size() == 1) {
    const SqlRow& row = (*status)[0];
    bool same = SqlText(SqlColumn(row, {"Master_Host"})) == from.host &&
                SqlText(SqlColumn(row, {"Master_Port"})) == from.port &&
                SqlText(SqlColumn(row, {"Using_Gtid"})) == "Slave_Pos";
    bool running = SqlText(SqlColumn(row, {"Slave_IO_Running"})) == "Yes" &&
                   SqlText(SqlColumn(row, {"Slave_SQL_Running"})) == "Yes";
    if (same && running && *ro == "1") {
      return verify(details, false,
                    self.address + " already replicates from " + from.address + ", nothing to do");
    }
  }
  auto scan = ScanErrant(conn, src);
  if (!scan) return OutcomeOf(scan.error());
  details["divergence"] = scan->Json();
  details["errant_gtids"] = scan->Gtids();
  std::string errant_list;
  for (const auto& g : scan->Gtids()) errant_list += (errant_list.empty() ? "" : ", ") + g;
  if (options.require_report) {
    if (!options.reported) {
      return NoDivergenceReport(self, details);
    }
    std::vector<std::string> missing;
    for (const auto& g : scan->Gtids()) {
      if (std::find(options.reported->begin(), options.reported->end(), g) ==
          options.reported->end()) {
        missing.push_back(g);
      }
    }
    if (!missing.empty()) {
      std::string m;
      for (const auto& g : missing) m += (m.empty() ? "" : ", ") + g;
      return NotInDivergenceReport(self, m, details);
    }
  }
  std::vector<std::string> sqls;
  std::optional<Undo> undo;
  if (!scan->errant.empty()) {
    if (options.errant != "discard") {
      return ErrantRefused(self, scan->errant.size(), errant_list, details);
    }
    // discard: the errant transactions are undone (their inverse row events, from the
    // binlog, applied without binary logging), then the binlog is reset so the server's
    // data and GTID history are the shared ones. The report is what is left of them.
    auto cannot = CannotUndo(conn, *scan);
    if (!cannot) return OutcomeOf(cannot.error());
    auto refuse = [&](const std::string& why) {
      return StepOutcome::Fail(
          "refusing to discard the " + std::to_string(scan->errant.size()) +
              " errant transaction(s) of " + self.address + " (" + errant_list +
              "): mariadb-binlog --flashback cannot undo them: " + why +
              "; nothing changed (re-enter them from the divergence report, then re-clone the "
              "server)",
          details);
    };
    if (!cannot->empty()) return refuse(*cannot);
    auto fb = Flashback(self, *scan, Columns(conn), deadline);
    if (!fb) {
      if (fb.error().code == ErrorCode::kInvalidArgument) return refuse(fb.error().message);
      return StepOutcome::Retry(
          "undoing the errant transactions of " + self.address + ": " + fb.error().message,
          details);
    }
    undo = std::move(*fb);
    sqls.push_back("RESET MASTER");
  }
  auto password = RejoinPassword(options);
  if (!password) return StepOutcome::Fail(password.error().message);
  const std::string& pw = *password;
  std::string slave_pos = JoinGtids(scan->fork);
  details["gtid_slave_pos"] = slave_pos;
  sqls.push_back("SET GLOBAL gtid_slave_pos = " + BackslashQuote(slave_pos));
  std::string change =
      ChangeSourceSql("CHANGE MASTER TO", "MASTER", from.host, from.port, options.user, pw) +
      ", MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1";
  sqls.push_back(change);
  sqls.push_back("START SLAVE");
  auto run = [&](const std::string& sql) -> std::optional<StepOutcome> {
    auto r = conn.Query(sql);
    if (r) return std::nullopt;
    SqlFailure f = r.error();
    f.detail = RedactIn(f.detail, pw);
    StepOutcome o = OutcomeOf(f);
    o.message = (sql == change ? std::string("CHANGE MASTER TO") : sql) + ": " + o.message;
    o.details = details;
    return o;
  };
  for (const char* sql : {"SET GLOBAL read_only = ON", "STOP SLAVE"}) {
    if (auto o = run(sql)) return *o;
  }
  if (undo) {
    // read_only now stops the application; what it wrote since the scan was not undone.
    auto now = One(conn, "SELECT @@global.gtid_binlog_pos");
    if (!now) return OutcomeOf(now.error());
    if (*now != scan->old_binlog_pos) {
      return StepOutcome::Retry(
          self.address + " was written to since its errant transactions were read (" +
              scan->old_binlog_pos + ", now " + *now + "); nothing undone, it is read-only now",
          details);
    }
    if (auto r = ApplyUndo(conn, *undo); !r) {
      StepOutcome o = OutcomeOf(r.error());
      o.status = StepStatus::kFailed;
      o.message = "undoing the errant transactions of " + self.address +
                  " failed and was rolled back (it is read-only, its binlog kept): " + o.message;
      o.details = details;
      return o;
    }
    details["undone"] = {{"transactions", undo->transactions},
                         {"row_changes", undo->row_changes},
                         {"tool", "mariadb-binlog --flashback"}};
  }
  for (const auto& sql : sqls) {
    if (auto o = run(sql)) return *o;
  }
  std::string what = "rejoined " + self.address + " as a read-only replica of " + from.address +
                     " from " + (slave_pos.empty() ? "the beginning" : slave_pos);
  if (undo) {
    what += "; " + std::to_string(scan->errant.size()) + " errant transaction(s) discarded (" +
            errant_list + "): " + std::to_string(undo->row_changes) +
            " row change(s) undone with mariadb-binlog --flashback, binlog reset";
  }
  return verify(details, true, what);
}

StepOutcome MysqlFenceForSwitchover(const MysqlTarget& self, MonoTime deadline) {
  MysqlConn conn;
  if (auto c = Connect(conn, self, deadline); !c) return ConnectFailure(c.error());
  bool maria = IsMariaDb(conn);
  // MySQL: super_read_only (it implies read_only) stops SUPER users' writes too.
  if (auto r = conn.Query(maria ? "SET GLOBAL read_only = ON" : "SET GLOBAL super_read_only = ON");
      !r) {
    return OutcomeOf(r.error());
  }
  // read_only does not stop users with SUPER (or READ_ONLY ADMIN): their sessions go.
  auto ids = conn.Query(
      "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND "
      "USER NOT IN ('system user', 'event_scheduler') AND COMMAND NOT IN ('Binlog Dump', "
      "'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker')");
  if (!ids) return OutcomeOf(ids.error());
  int killed = 0;
  for (const auto& row : *ids) {
    auto id = SqlText(SqlColumn(row, {"id"}));
    if (id.empty()) continue;
    if (conn.Query("KILL CONNECTION " + std::to_string(std::atoll(id.c_str())))) ++killed;
  }
  auto pos = One(conn, maria ? "SELECT @@global.gtid_binlog_pos" : "SELECT @@global.gtid_executed");
  if (!pos) return OutcomeOf(pos.error());
  if (!maria) {
    auto set = MysqlGtidSet::Parse(*pos);
    if (!set) return StepOutcome::Fail(self.address + ": gtid_executed: " + set.error().message);
    *pos = set->ToString();
  }
  return StepOutcome::Ok("fenced " + self.address + ": read_only on, " + std::to_string(killed) +
                             " client session(s) killed; written up to " + *pos,
                         {{"position", *pos}, {"sessions_killed", killed}});
}

StepOutcome MysqlWaitApplied(const MysqlTarget& self, const std::string& position, Duration timeout,
                             MonoTime deadline) {
  MysqlConn conn;
  if (auto c = Connect(conn, self, deadline); !c) return ConnectFailure(c.error());
  double wait_s =
      std::max(1.0, std::floor(std::min(ToSeconds(timeout), SecondsLeft(deadline) - 1)));
  std::string secs = std::to_string(static_cast<long long>(wait_s));
  if (!IsMariaDb(conn)) {
    // MySQL: `position` is a GTID set; applied when gtid_executed contains it.
    auto want = MysqlGtidSet::Parse(position);
    if (!want) return StepOutcome::Fail("position: " + want.error().message);
    auto have = GtidExecuted(conn, self.address);
    if (!have) return OutcomeOf(have.error());
    if (have->Contains(*want)) {
      return StepOutcome::Ok(self.address + " has everything up to " + position);
    }
    auto r = One(conn, "SELECT WAIT_FOR_EXECUTED_GTID_SET(" + BackslashQuote(want->ToString()) +
                           ", " + secs + ")");
    if (!r) return OutcomeOf(r.error());
    if (*r != "0") {
      auto now = GtidExecuted(conn, self.address);
      return StepOutcome::Fail(self.address + " did not apply " + position + " within " + secs +
                               "s (it has " + (now ? now->ToString() : std::string("?")) + ")");
    }
    return StepOutcome::Ok(self.address + " applied everything up to " + position);
  }
  // Already there (e.g. a second run, after which the target is the primary and its
  // gtid_slave_pos no longer moves): its binlog has every domain at or past `position`.
  auto binlog = One(conn, "SELECT @@global.gtid_binlog_pos");
  if (!binlog) return OutcomeOf(binlog.error());
  auto have = ParseGtidList(*binlog);
  auto want = ParseGtidList(position);
  if (std::all_of(want.begin(), want.end(), [&](const auto& dg) {
        auto it = have.find(dg.first);
        return it != have.end() && it->second.seq >= dg.second.seq;
      })) {
    return StepOutcome::Ok(self.address + " has everything up to " + position);
  }
  auto r = One(conn, "SELECT MASTER_GTID_WAIT(" + BackslashQuote(position) + ", " + secs + ")");
  if (!r) return OutcomeOf(r.error());
  if (*r != "0") {
    auto have = One(conn, "SELECT @@global.gtid_slave_pos");
    return StepOutcome::Fail(self.address + " did not apply " + position + " within " + secs +
                             "s (it has " + (have ? *have : std::string("?")) + ")");
  }
  return StepOutcome::Ok(self.address + " applied everything up to " + position);
}

}  // namespace failover
