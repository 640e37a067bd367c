// libmariadb's functions that failover_exporter calls (common/mysql_conn.cc, the mysql
// probe), forwarded to libmariadb.so.3 mapped on the first call: see
// common/lazy_library.h.
#include <mysql.h>

#include "common/lazy/forward.h"

namespace failover {
LazyLibrary& LazyLibmariadb() {
  static LazyLibrary lib("libmariadb.so.3", "mysql probes");
  return lib;
}
}  // namespace failover

using failover::LazyLibmariadb;

// clang-format off
FAILOVER_LAZY_FORWARD(LazyLibmariadb, void, mysql_close, (MYSQL* m), (m))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, int, mysql_close_cont, (MYSQL* m, int status), (m, status))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, int, mysql_close_start, (MYSQL* m), (m))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, unsigned int, mysql_errno, (MYSQL* m), (m))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, const char*, mysql_error, (MYSQL* m), (m))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, MYSQL_FIELD*, mysql_fetch_fields, (MYSQL_RES* r), (r))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, unsigned long*, mysql_fetch_lengths, (MYSQL_RES* r), (r))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, MYSQL_ROW, mysql_fetch_row, (MYSQL_RES* r), (r))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, unsigned int, mysql_field_count, (MYSQL* m), (m))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, void, mysql_free_result, (MYSQL_RES* r), (r))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, my_socket, mysql_get_socket, (MYSQL* m), (m))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, MYSQL*, mysql_init, (MYSQL* m), (m))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, unsigned int, mysql_num_fields, (MYSQL_RES* r), (r))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, int, mysql_options,
                      (MYSQL* m, enum mysql_option option, const void* arg), (m, option, arg))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, MYSQL*, mysql_real_connect,
                      (MYSQL* m, const char* host, const char* user, const char* passwd,
                       const char* db, unsigned int port, const char* unix_socket,
                       unsigned long flags),
                      (m, host, user, passwd, db, port, unix_socket, flags))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, int, mysql_real_connect_start,
                      (MYSQL** ret, MYSQL* m, const char* host, const char* user,
                       const char* passwd, const char* db, unsigned int port,
                       const char* unix_socket, unsigned long flags),
                      (ret, m, host, user, passwd, db, port, unix_socket, flags))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, int, mysql_real_connect_cont,
                      (MYSQL** ret, MYSQL* m, int status), (ret, m, status))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, int, mysql_real_query,
                      (MYSQL* m, const char* q, unsigned long length), (m, q, length))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, int, mysql_real_query_start,
                      (int* ret, MYSQL* m, const char* q, unsigned long length),
                      (ret, m, q, length))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, int, mysql_real_query_cont, (int* ret, MYSQL* m, int status),
                      (ret, m, status))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, int, mysql_server_init,
                      (int argc, char** argv, char** groups), (argc, argv, groups))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, MYSQL_RES*, mysql_store_result, (MYSQL* m), (m))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, int, mysql_store_result_start, (MYSQL_RES** ret, MYSQL* m),
                      (ret, m))
FAILOVER_LAZY_FORWARD(LazyLibmariadb, int, mysql_store_result_cont,
                      (MYSQL_RES** ret, MYSQL* m, int status), (ret, m, status))
// clang-format on
