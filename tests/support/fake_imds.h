// A local fake of the EC2 instance metadata service, IMDSv2 only (from AWS's public EC2
// user guide, "Use the Instance Metadata Service to access instance metadata"), on
// 127.0.0.1, a free port:
//   PUT /latest/api/token   with X-aws-ec2-metadata-token-ttl-seconds (1..21600): a token;
//                           a PUT with X-Forwarded-For is refused (403), as IMDS does
//   GET /latest/meta-data/iam/security-credentials/         the role name
//   GET /latest/meta-data/iam/security-credentials/<role>   JSON: Code, LastUpdated, Type,
//                           AccessKeyId, SecretAccessKey, Token, Expiration
// A GET without a valid token answers 401 (IMDSv1 is off, as on instances that require
// IMDSv2). Every fetch hands out new credentials (AccessKeyId ASIAFAKE<n>) expiring at
// the time the test sets.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "common/http_server.h"

namespace failover::testing {

class FakeImds {
 public:
  explicit FakeImds(std::string role = "failover-role");
  ~FakeImds();
  std::string base_url() const;  // "http://127.0.0.1:<port>"

  // Expiration of the credentials handed out from now on.
  void SetExpiration(std::chrono::system_clock::time_point t);
  // No role attached: security-credentials/ answers 404.
  void SetNoRole(bool none);
  int TokenRequests() const;
  int CredentialRequests() const;  // GETs of .../security-credentials/<role>
  int RefusedWithoutToken() const;
  std::string LastSecret() const;  // the SecretAccessKey of the last answer

 private:
  HttpServerResponse Handle(const HttpServerRequest& req);
  mutable std::mutex mu_;
  std::string role_;
  std::chrono::system_clock::time_point expiration_;
  bool no_role_ = false;
  int tokens_ = 0, creds_ = 0, refused_ = 0, serial_ = 0;
  std::string token_, last_secret_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace failover::testing
