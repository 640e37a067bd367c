// A local fake of Linode's API v4 domain records (from Linode's public API docs) for
// one domain (kDomainId, example.com), below base_url() = http://127.0.0.1:<port>/v4:
//   GET    /domains/{domainId}/records?page=&page_size=   X-Filter: {"name":..,"type":..}
//   POST   /domains/{domainId}/records          {type, name (relative), target, ttl_sec, ...}
//   PUT    /domains/{domainId}/records/{recordId}   any of those fields
//   DELETE /domains/{domainId}/records/{recordId}
// Lists are {"data":[...],"page","pages","results"}; errors {"errors":[{"reason","field"}]}.
// A wrong or missing bearer token gets 401 "Invalid Token"; unknown or mistyped fields,
// an A target that is not an address, page_size outside 25..500 or a bad X-Filter get 400.
// ttl_sec is stored rounded up to the next value Linode allows, as Linode does.
#pragma once

#include "tests/support/fake_dns_api.h"

namespace failover::testing {

class FakeLinode final : public FakeDnsApi {
 public:
  static constexpr long long kDomainId = 1234;
  static constexpr const char* kDomain = "example.com";
  static constexpr const char* kToken = "linode-test-token-Hk29vB";

  FakeLinode();

 protected:
  HttpServerResponse ErrorResponse(int status, const std::string& message, int code) override;
  HttpServerResponse Serve(const HttpServerRequest& req, const std::string& path) override;

 private:
  HttpServerResponse Invalid(const std::string& field, const std::string& reason);
};

}  // namespace failover::testing
