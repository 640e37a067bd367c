// The writer lease: which region's database may take writes (docs/writer-lease.md).
//
// etcd holds <prefix>writer = <region name>, attached to an etcd lease with a TTL. The key
// exists only while its lease lives: a holder that stops renewing loses it when the TTL
// runs out, and a holder that gives it up revokes the lease (the key goes at once).
//  - Read(): the holder, its lease id and the lease's remaining TTL (a linearizable read);
//  - TryAcquire(region): one attempt, made only when the key is absent: a txn that creates
//    the key (create_revision == 0) on a fresh lease; already held by `region` is success;
//  - KeepAlive(lease): what the holder region's agent (actuator/coordination/region_agent.h)
//    sends every renew_every;
//  - Release(lease): revokes the lease (the key goes with it).
// RequestHandover() writes <prefix>handover, which asks the holder's agent to fence its
// region and release the lease (the writer_lease step and db_switchover use it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actuator/coordination/writer_lease_config.h"
#include "actuator/etcd_client.h"
#include "common/duration.h"
#include "common/result.h"

namespace failover {

struct WriterLeaseState {
  bool held = false;           // the key exists
  std::string holder;          // its value: the region that may write
  std::int64_t lease = 0;      // the etcd lease the key is attached to
  std::int64_t ttl_left = -1;  // seconds the lease has left (-1: unknown)
  std::int64_t granted_ttl = 0;
  bool created = false;  // TryAcquire: this call made the holder

  // "held by us-east (lease 7587..., 7s of 10s left)" | "not held".
  std::string Describe() const;
};

class WriterLease {
 public:
  // `timeout` bounds the lease look-up of Read() (the client's own timeout bounds the rest).
  WriterLease(EtcdClient& etcd, const std::string& prefix,
              Duration timeout = std::chrono::seconds(5))
      : etcd_(etcd), key_(prefix + "writer"), timeout_(timeout) {}

  const std::string& key() const { return key_; }

  // The key and, when it is held and `with_ttl`, its lease's remaining TTL. `timeout`
  // bounds each request on each endpoint (default: the one given to the constructor).
  Result<WriterLeaseState> Read(std::optional<Duration> timeout = std::nullopt,
                                bool with_ttl = true);
  // One attempt to make `region` the holder on a fresh lease of `ttl_seconds`. Returns the
  // state after the attempt: held by `region` (acquired now or already), or by another
  // region (nothing changed).
  Result<WriterLeaseState> TryAcquire(const std::string& region, std::int64_t ttl_seconds);
  // Refreshes `lease`; its remaining TTL (0: the lease is gone).
  Result<std::int64_t> KeepAlive(std::int64_t lease, Duration timeout);
  // Revokes `lease`: the key attached to it is deleted.
  Status Release(std::int64_t lease);

 private:
  EtcdClient& etcd_;
  std::string key_;
  Duration timeout_;
};

// Asks the holder's region agent to hand the lease over to `to`: writes
// <prefix>handover = {"to", "execution", "at"} on an etcd lease of `ttl_seconds`, so a
// request nobody withdraws goes by itself. Returns that etcd lease: revoking it withdraws
// the request (the key goes with it).
Result<std::int64_t> RequestHandover(EtcdClient& etcd, const std::string& prefix,
                                     const std::string& to, const std::string& execution,
                                     std::int64_t ttl_seconds, std::int64_t unix_at);

}  // namespace failover
