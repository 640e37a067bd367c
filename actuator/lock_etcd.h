// The execution lock as an etcd lease, for several actuators sharing one etcd cluster.
//
// Acquire(scope): under a lease granted with `ttl`, the key <prefix>lock/<scope> is
// created by a txn that compares its create_revision with 0, so exactly one process
// holds it; the create_revision it got is the holder's epoch, and every journal write of
// the holder compares it (a stale holder's writes fail). A background thread refreshes
// the lease every ttl/3. If it cannot (etcd unreachable), the holder is told to stop
// acting (Lost()) at last successful refresh + ttl - ttl/4, before etcd can hand the lock
// to someone else. Releasing revokes the lease, which deletes the key.
#pragma once

#include <memory>
#include <string>

#include "actuator/etcd_client.h"
#include "actuator/lock.h"

namespace failover {

struct EtcdLockOptions {
  std::string prefix = "/failover/";  // keys: <prefix>lock/<scope>
  Duration ttl = std::chrono::seconds(15);
  std::string owner;  // stored in the key (host:pid), for operators
};

std::unique_ptr<LockManager> MakeEtcdLockManager(EtcdClient& etcd, EtcdLockOptions options);

}  // namespace failover
