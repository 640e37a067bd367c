#include "exporter/prober_registry.h"

#include "exporter/probers/cloudwatch.h"
#include "exporter/probers/dns.h"
#include "exporter/probers/http.h"
#include "exporter/probers/mysql.h"
#include "exporter/probers/postgres.h"
#include "exporter/probers/redis.h"
#include "exporter/probers/tcp.h"

namespace failover {

void ProberRegistry::Register(ProberKind kind) {
  std::string name = kind.name;
  kinds_[name] = std::move(kind);
}

const ProberKind* ProberRegistry::Find(const std::string& name) const {
  auto it = kinds_.find(name);
  return it == kinds_.end() ? nullptr : &it->second;
}

std::vector<std::string> ProberRegistry::Names() const {
  std::vector<std::string> out;
  for (const auto& [name, kind] : kinds_) out.push_back(name);
  return out;
}

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
