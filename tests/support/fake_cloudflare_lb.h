// A local fake of Cloudflare Load Balancing (from Cloudflare's public API docs), below
// base_url() = http://127.0.0.1:<port>/client/v4:
//   GET/PATCH /accounts/{kAccountId}/load_balancers/pools/{poolId}
//       {id, name, enabled, origins:[{name, address, enabled, weight}], ...}
//   GET/PATCH /zones/{kZoneId}/load_balancers/{loadBalancerId}
//       {id, name, default_pools:[...], fallback_pool, enabled, ...}
// Answers in Cloudflare's envelope {"success","errors":[{"code","message"}],"messages",
// "result"}. A wrong or missing bearer token gets 403 code 10000 "Authentication error";
// an unknown pool or load balancer 404 code 1002; a PATCH with an unknown field, an origin
// without name or address, a weight outside 0..1 or a pool id that does not exist 400
// code 1002. Faults, counts and the request log: FakeDnsApi's (tests/support/fake_dns_api.h).
#pragma once

#include <map>
#include <string>

#include "tests/support/fake_dns_api.h"

namespace failover::testing {

class FakeCloudflareLb final : public FakeDnsApi {
 public:
  static constexpr const char* kAccountId = "0123456789abcdef0123456789abcdef";
  static constexpr const char* kZoneId = "fedcba9876543210fedcba9876543210";
  static constexpr const char* kToken = "cf-lb-test-token-Wn37dQ";

  FakeCloudflareLb();

  // `pool`: {id, name, enabled, origins}; `lb`: {id, name, default_pools, fallback_pool}.
  void AddPool(nlohmann::json pool);
  void AddLoadBalancer(nlohmann::json lb);
  nlohmann::json Pool(const std::string& id) const;
  nlohmann::json LoadBalancer(const std::string& id) const;

 protected:
  HttpServerResponse ErrorResponse(int status, const std::string& message, int code) override;
  HttpServerResponse Serve(const HttpServerRequest& req, const std::string& path) override;

 private:
  HttpServerResponse Ok(const nlohmann::json& result) const;

  std::map<std::string, nlohmann::json> pools_;
  std::map<std::string, nlohmann::json> lbs_;
};

}  // namespace failover::testing
