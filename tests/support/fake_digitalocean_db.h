// A local fake of DigitalOcean's managed-database replica API (from DigitalOcean's public
// API v2 docs) on 127.0.0.1, a free port:
//   GET /v2/databases/{cluster_uuid}/replicas/{replica_name}
//       200 {"replica": {"id","name","region","status","size","created_at","connection"}}
//   PUT /v2/databases/{cluster_uuid}/replicas/{replica_name}/promote   (no body) -> 204;
//       the replica leaves the cluster's replicas (after SetPromoteDelay(n) more GETs).
// Authorization must be "Bearer <kToken>" (401 {"id":"Unauthorized",...} otherwise);
// unknown cluster or replica -> 404 {"id":"not_found",...}; a PUT with a body -> 400. The
// next N requests can fail with 429 (+ retry-after, ratelimit-* headers) or 5xx.
#pragma once

#include <memory>
#include <string>

#include "common/http_server.h"

namespace failover::testing {

class FakeDigitalOceanDb {
 public:
  static constexpr const char* kToken = "dop_v1_fakefailovertesttoken0123456789abcdef";

  FakeDigitalOceanDb();
  ~FakeDigitalOceanDb();
  FakeDigitalOceanDb(const FakeDigitalOceanDb&) = delete;
  FakeDigitalOceanDb& operator=(const FakeDigitalOceanDb&) = delete;

  std::string base_url() const;

  void AddReplica(const std::string& cluster_uuid, const std::string& replica_name,
                  const std::string& status = "online");
  bool IsReplica(const std::string& cluster_uuid, const std::string& replica_name) const;
  bool IsPromoted(const std::string& replica_name) const;
  // After a promote, the replica stays listed for `gets` more GETs.
  void SetPromoteDelay(int gets);
  void FailNext(int n, int status, int retry_after_seconds = -1);

  int RequestCount() const;
  int PromoteCount() const;  // accepted PUT .../promote
  int RejectedAuth() const;

  struct State;

 private:
  HttpServerResponse Handle(const HttpServerRequest& req);

  std::unique_ptr<State> state_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace failover::testing
