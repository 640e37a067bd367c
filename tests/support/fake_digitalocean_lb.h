// A local fake of DigitalOcean's load balancer API (from DigitalOcean's public API docs)
// for one load balancer (kLoadBalancerId), below base_url() = http://127.0.0.1:<port>:
//   GET    /v2/load_balancers/{id}            {"load_balancer":{id, name, status, droplet_ids,
//   ...}} POST   /v2/load_balancers/{id}/droplets   {"droplet_ids":[...]}  -> 204 DELETE
//   /v2/load_balancers/{id}/droplets   {"droplet_ids":[...]}  -> 204
// Errors {"id","message","request_id"}: a wrong or missing bearer token gets 401
// "unauthorized", an unknown load balancer 404 "not_found", a body without droplet_ids
// 422 "unprocessable_entity", and adding droplets to a load balancer that selects them by
// tag 422 (as DigitalOcean refuses it). Faults, counts and the request log: FakeDnsApi's
// (tests/support/fake_dns_api.h).
#pragma once

#include <string>
#include <vector>

#include "tests/support/fake_dns_api.h"

namespace failover::testing {

class FakeDigitalOceanLb final : public FakeDnsApi {
 public:
  static constexpr const char* kLoadBalancerId = "4de7ac8b-495b-4884-9a69-1050c6793cd6";
  static constexpr const char* kToken = "do-lb-test-token-Tz50mW";

  FakeDigitalOceanLb();

  void SetDroplets(std::vector<long long> ids);
  std::vector<long long> Droplets() const;
  void SetTag(std::string tag);  // the load balancer then selects droplets by tag

 protected:
  HttpServerResponse ErrorResponse(int status, const std::string& message, int code) override;
  HttpServerResponse Serve(const HttpServerRequest& req, const std::string& path) override;

 private:
  std::vector<long long> droplets_;
  std::string tag_;
};

}  // namespace failover::testing
