#include "exporter/prober_registry.h"

#include "exporter/probers/cloudwatch.h"
#include "exporter/probers/dns.h"
#include "exporter/probers/http.h"
#include "exporter/probers/mysql.h"
#include "exporter/probers/postgres.h"
#include "exporter/probers/redis.h"
#include "exporter/probers/tcp.h"

namespace failover {

void RegisterBuiltinProbers(ProberRegistry& registry) {
  registry.Register(
      {"http", "HTTP(S) request: status, body regexes, phases, TLS expiry", &NewHttpProber});
  registry.Register(
      {"tcp", "TCP connect (optionally a TLS handshake): port open, TLS expiry", &NewTcpProber});
  registry.Register(
      {"dns", "DNS answer per nameserver: targets, their regions, TTL, agreement", &NewDnsProber});
  registry.Register({"mysql", "MySQL/MariaDB replication: lag, threads, errors, role, read-only",
                     &NewMysqlProber});
  registry.Register({"postgres", "PostgreSQL replication: standby lag, per-standby lag, role",
                     &NewPostgresProber});
  registry.Register(
      {"redis", "Redis replication: role, link status, last I/O age, offset lag", &NewRedisProber});
  registry.Register({"cloudwatch",
                     "CloudWatch GetMetricData: managed replication lag (Aurora global, DynamoDB)",
                     &NewCloudWatchProber});
}

}  // namespace failover
