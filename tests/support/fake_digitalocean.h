// A local fake of DigitalOcean's API v2 domain records (from DigitalOcean's public API docs)
// for one domain (kDomain), below base_url() = http://127.0.0.1:<port>:
//   GET    /v2/domains/{domain}/records?type=&name=&page=&per_page=   name is the FQDN
//   POST   /v2/domains/{domain}/records          {type, name (relative, @ apex), data, ttl}
//   PUT | PATCH /v2/domains/{domain}/records/{id}
//   DELETE /v2/domains/{domain}/records/{id}     -> 204
// Lists are {"domain_records":[...],"links":{"pages":{"next":...}},"meta":{"total":N}}, the
// next link an absolute URL of this fake; errors {"id","message","request_id"}. A wrong or
// missing bearer token gets 401 "unauthorized"; unknown or mistyped fields, ttl below 30,
// an A record that is not an address, a CNAME without the trailing dot get 422.
#pragma once

#include "tests/support/fake_dns_api.h"

namespace failover::testing {

class FakeDigitalOcean final : public FakeDnsApi {
 public:
  static constexpr const char* kDomain = "example.com";
  static constexpr const char* kToken = "do-test-token-Zr81mW";

  FakeDigitalOcean();

  // Pagination links start with `base` instead of base_url() (a client must not follow
  // them elsewhere with its token).
  void SetLinkBase(std::string base);

 protected:
  HttpServerResponse ErrorResponse(int status, const std::string& message, int code) override;
  HttpServerResponse Serve(const HttpServerRequest& req, const std::string& path) override;

 private:
  std::string link_base_;
};

}  // namespace failover::testing
