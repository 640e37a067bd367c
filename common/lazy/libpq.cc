// libpq's functions that failover_exporter calls (common/pg_conn.cc, the postgres probe),
// forwarded to libpq.so.5 mapped on the first call: see common/lazy_library.h.
#include <libpq-fe.h>

#include "common/lazy/forward.h"

namespace failover {
LazyLibrary& LazyLibpq() {
  static LazyLibrary lib("libpq.so.5", "postgres probes");
  return lib;
}
}  // namespace failover

using failover::LazyLibpq;

// clang-format off
FAILOVER_LAZY_FORWARD(LazyLibpq, void, PQclear, (PGresult* res), (res))
FAILOVER_LAZY_FORWARD(LazyLibpq, PostgresPollingStatusType, PQconnectPoll, (PGconn* conn), (conn))
FAILOVER_LAZY_FORWARD(LazyLibpq, PGconn*, PQconnectStartParams,
                      (const char* const* keywords, const char* const* values, int expand_dbname),
                      (keywords, values, expand_dbname))
FAILOVER_LAZY_FORWARD(LazyLibpq, void, PQconninfoFree, (PQconninfoOption* options), (options))
FAILOVER_LAZY_FORWARD(LazyLibpq, PQconninfoOption*, PQconninfoParse,
                      (const char* conninfo, char** errmsg), (conninfo, errmsg))
FAILOVER_LAZY_FORWARD(LazyLibpq, int, PQconsumeInput, (PGconn* conn), (conn))
FAILOVER_LAZY_FORWARD(LazyLibpq, char*, PQerrorMessage, (const PGconn* conn), (conn))
FAILOVER_LAZY_FORWARD(LazyLibpq, void, PQfinish, (PGconn* conn), (conn))
FAILOVER_LAZY_FORWARD(LazyLibpq, int, PQflush, (PGconn* conn), (conn))
FAILOVER_LAZY_FORWARD(LazyLibpq, char*, PQfname, (const PGresult* res, int field), (res, field))
FAILOVER_LAZY_FORWARD(LazyLibpq, void, PQfreemem, (void* ptr), (ptr))
FAILOVER_LAZY_FORWARD(LazyLibpq, PGresult*, PQgetResult, (PGconn* conn), (conn))
FAILOVER_LAZY_FORWARD(LazyLibpq, int, PQgetisnull, (const PGresult* res, int row, int field),
                      (res, row, field))
FAILOVER_LAZY_FORWARD(LazyLibpq, int, PQgetlength, (const PGresult* res, int row, int field),
                      (res, row, field))
FAILOVER_LAZY_FORWARD(LazyLibpq, char*, PQgetvalue, (const PGresult* res, int row, int field),
                      (res, row, field))
FAILOVER_LAZY_FORWARD(LazyLibpq, int, PQisBusy, (PGconn* conn), (conn))
FAILOVER_LAZY_FORWARD(LazyLibpq, int, PQnfields, (const PGresult* res), (res))
FAILOVER_LAZY_FORWARD(LazyLibpq, int, PQntuples, (const PGresult* res), (res))
FAILOVER_LAZY_FORWARD(LazyLibpq, char*, PQresultErrorField, (const PGresult* res, int code),
                      (res, code))
FAILOVER_LAZY_FORWARD(LazyLibpq, char*, PQresultErrorMessage, (const PGresult* res), (res))
FAILOVER_LAZY_FORWARD(LazyLibpq, ExecStatusType, PQresultStatus, (const PGresult* res), (res))
FAILOVER_LAZY_FORWARD(LazyLibpq, int, PQsendQuery, (PGconn* conn, const char* query),
                      (conn, query))
FAILOVER_LAZY_FORWARD(LazyLibpq, int, PQsetnonblocking, (PGconn* conn, int arg), (conn, arg))
FAILOVER_LAZY_FORWARD(LazyLibpq, int, PQsocket, (const PGconn* conn), (conn))
FAILOVER_LAZY_FORWARD(LazyLibpq, ConnStatusType, PQstatus, (const PGconn* conn), (conn))
// clang-format on
