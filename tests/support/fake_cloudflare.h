// A local fake of Cloudflare's API v4 DNS records (from Cloudflare's public API docs) for
// one zone (kZoneId, example.com), below base_url() = http://127.0.0.1:<port>/client/v4:
//   GET    /zones/{zone_id}/dns_records?type=&name=&page=&per_page=   exact name+type match
//   POST   /zones/{zone_id}/dns_records                  {type, name, content, ttl[, proxied]}
//   PATCH  /zones/{zone_id}/dns_records/{id}             only the fields to change
//   PUT    /zones/{zone_id}/dns_records/{id}             the whole record
//   DELETE /zones/{zone_id}/dns_records/{id}
// Envelope {"success","errors":[{"code","message"}],"messages","result"[,"result_info"]}.
// A wrong or missing bearer token gets 403 code 10000 "Authentication error"; a body of
// the wrong shape 400 (unknown or mistyped fields, ttl not 1 or 60..86400, an A record
// that is not an address, a name outside the zone, code 81058 for an identical record).
#pragma once

#include "tests/support/fake_dns_api.h"

namespace failover::testing {

class FakeCloudflare final : public FakeDnsApi {
 public:
  static constexpr const char* kZoneId = "023e105f4ecef8ad9ca31a8372d0c353";
  static constexpr const char* kZoneName = "example.com";
  static constexpr const char* kToken = "cf-test-token-Yx7Qp2";

  FakeCloudflare();

  // Cloudflare's record id for a record of the fake ("%032llx").
  static std::string RecordId(long long id);

 protected:
  HttpServerResponse ErrorResponse(int status, const std::string& message, int code) override;
  HttpServerResponse Serve(const HttpServerRequest& req, const std::string& path) override;

 private:
  nlohmann::json RecordJson(const FakeDnsRecord& r) const;
  // Validates `body` (all fields required when `whole`) into `rec`; "" when fine.
  std::string Apply(const nlohmann::json& body, bool whole, FakeDnsRecord& rec) const;
};

}  // namespace failover::testing
