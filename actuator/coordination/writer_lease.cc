#include "actuator/coordination/writer_lease.h"

#include <algorithm>
#include <cstdlib>

namespace failover {
namespace {

std::int64_t Int64(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) return std::strtoll(it->get<std::string>().c_str(), nullptr, 10);
  return 0;
}

}  // namespace

std::string WriterLeaseState::Describe() const {
  if (!held) return "not held";
  std::string s = "held by " + (holder.empty() ? std::string("\"\"") : holder) + " (lease " +
                  std::to_string(lease);
  if (ttl_left >= 0) {
    s += ", " + std::to_string(ttl_left) + "s";
    if (granted_ttl > 0) s += " of " + std::to_string(granted_ttl) + "s";
    s += " left";
  }
  return s + ")";
}

Result<WriterLeaseState> WriterLease::Read(std::optional<Duration> timeout, bool with_ttl) {
  // A range without "serializable": linearizable, answered only through the raft leader.
  auto r = etcd_.Call("/v3/kv/range", {{"key", Base64Encode(key_)}}, timeout.value_or(timeout_));
  if (!r) return r.error();
  WriterLeaseState st;
  auto kvs = r->find("kvs");
  if (kvs == r->end() || !kvs->is_array() || kvs->empty()) return st;
  const nlohmann::json& kv = (*kvs)[0];
  auto value = Base64Decode(kv.value("value", ""));
  if (!value) return value.error();
  st.held = true;
  st.holder = *value;
  st.lease = Int64(kv, "lease");
  if (st.lease != 0 && with_ttl) {
    // The gateway's /v3/lease/timetolive: TTL -1 once the lease is gone.
    auto t = etcd_.Call("/v3/lease/timetolive", {{"ID", std::to_string(st.lease)}},
                        timeout.value_or(timeout_));
    if (t) {
      st.ttl_left = t->contains("TTL") ? Int64(*t, "TTL") : -1;
      if (st.ttl_left < 0) st.ttl_left = 0;
      st.granted_ttl = Int64(*t, "grantedTTL");
    }
  }
  return st;
}

Result<WriterLeaseState> WriterLease::TryAcquire(const std::string& region,
                                                 std::int64_t ttl_seconds) {
  auto st = Read();
  if (!st) return st.error();
  if (st->held) return st;  // by `region` (idempotent) or by another one: the caller decides
  auto lease = etcd_.LeaseGrant(ttl_seconds);
  if (!lease) return lease.error();
  auto t = etcd_.Txn({{key_, "CREATE", "EQUAL", 0}}, {{EtcdOp::kPut, key_, region, *lease, false}},
                     {{EtcdOp::kRange, key_, "", 0, false}});
  if (!t || !t->succeeded) (void)etcd_.LeaseRevoke(*lease);
  if (!t) return t.error();
  if (!t->succeeded) {
    // Someone else created it between the read and the txn.
    WriterLeaseState other;
    if (!t->ranges.empty() && !t->ranges[0].empty()) {
      other.held = true;
      other.holder = t->ranges[0][0].value;
      other.lease = t->ranges[0][0].lease;
    }
    return other;
  }
  WriterLeaseState mine;
  mine.held = true;
  mine.holder = region;
  mine.lease = *lease;
  mine.ttl_left = ttl_seconds;
  mine.granted_ttl = ttl_seconds;
  mine.created = true;
  return mine;
}

Result<std::int64_t> WriterLease::KeepAlive(std::int64_t lease, Duration timeout) {
  return etcd_.LeaseKeepAlive(lease, timeout);
}

Status WriterLease::Release(std::int64_t lease) { return etcd_.LeaseRevoke(lease); }

Result<std::int64_t> RequestHandover(EtcdClient& etcd, const std::string& prefix,
                                     const std::string& to, const std::string& execution,
                                     std::int64_t ttl_seconds, std::int64_t unix_at) {
  auto lease = etcd.LeaseGrant(std::max<std::int64_t>(ttl_seconds, 1));
  if (!lease) return lease.error();
  nlohmann::json value = {{"to", to}, {"execution", execution}, {"at", unix_at}};
  auto t = etcd.Txn({}, {{EtcdOp::kPut, prefix + "handover", value.dump(), *lease, false}}, {});
  if (!t) {
    (void)etcd.LeaseRevoke(*lease);
    return t.error();
  }
  return *lease;
}

}  // namespace failover
