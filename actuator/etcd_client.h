// A small client of etcd's v3 JSON gateway (POST /v3/kv/range, /v3/kv/txn, /v3/lease/*)
// over HttpClient: the transport of the etcd journal and the etcd execution lock. Keys and
// values are base64 on the wire, int64 fields come back as strings, zero fields are
// omitted; this class hides all three. Endpoints are tried in turn on transport errors.
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/encoding.h"  // Base64Encode, for the keys and values on the wire
#include "common/http_client.h"
#include "common/result.h"

namespace failover {

struct EtcdKv {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t lease = 0;
};

// One comparison of a txn (target CREATE, VERSION or LEASE against an int64).
struct EtcdCompare {
  std::string key;
  std::string target;            // "CREATE" | "VERSION" | "LEASE"
  std::string result = "EQUAL";  // EQUAL | GREATER | LESS | NOT_EQUAL
  std::int64_t value = 0;
};

// One operation of a txn: a put (with an optional lease) or a range read.
struct EtcdOp {
  enum Kind { kPut, kRange, kDelete } kind = kPut;
  std::string key;
  std::string value;
  std::int64_t lease = 0;
  bool prefix = false;  // range/delete: every key starting with `key`
};

struct EtcdTxnResult {
  bool succeeded = false;
  std::int64_t revision = 0;                // of the store after the txn
  std::vector<std::vector<EtcdKv>> ranges;  // one per range op of the branch taken
};

class EtcdClient {
 public:
  EtcdClient(HttpClient& http, std::vector<std::string> endpoints,
             Duration timeout = std::chrono::seconds(5));

  Result<std::vector<EtcdKv>> Range(const std::string& key, bool prefix);
  Result<EtcdTxnResult> Txn(const std::vector<EtcdCompare>& compare,
                            const std::vector<EtcdOp>& success, const std::vector<EtcdOp>& failure);
  // A lease of `ttl_seconds`; its id.
  Result<std::int64_t> LeaseGrant(std::int64_t ttl_seconds);
  // Refreshes the lease; returns the remaining TTL (0: the lease has expired).
  Result<std::int64_t> LeaseKeepAlive(std::int64_t id, Duration timeout);
  Status LeaseRevoke(std::int64_t id);

  // POSTs `body` to `path` on the first endpoint that answers (transport errors move on
  // to the next one); a non-2xx answer is an error naming etcd's message.
  Result<nlohmann::json> Call(const std::string& path, const nlohmann::json& body,
                              Duration timeout);

 private:
  HttpClient& http_;
  std::vector<std::string> endpoints_;
  Duration timeout_;
  std::atomic<size_t> current_{0};  // the endpoint that answered last
};

Result<std::string> Base64Decode(const std::string& in);
// The first key after every key that starts with `prefix` (etcd's range_end).
std::string PrefixEnd(const std::string& prefix);

}  // namespace failover
