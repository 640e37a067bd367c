// `redis:` probes: replication state of a Redis server (INFO replication), over a new
// connection per run (optionally TLS, optionally AUTH with an ACL user), driven
// non-blocking on the event loop.
//
//   redis:
//     address: 10.0.0.5:6379
//     username: failover          # optional (Redis 6+ ACL user); needs a password
//     password_file: /etc/failover/redis.pass   # or password / password_env; optional
//     tls: true                   # or {ca_file, cert_file, key_file, server_name,
//                                 #     insecure_skip_verify}
#pragma once

#include <map>
#include <string>

#include "exporter/prober.h"
#include "exporter/probers/db_probe.h"

namespace failover {

Result<std::shared_ptr<Prober>> NewRedisProber(const YamlNode& node, const ProberContext& ctx);

// The `field:value` lines of an INFO reply (section headers and blank lines skipped).
std::map<std::string, std::string> ParseRedisInfo(const std::string& text);

// The metrics and verdict for one INFO replication answer (pure; docs/exporter.md, redis).
ProbeResult RedisProbeResult(const std::map<std::string, std::string>& info);

}  // namespace failover
