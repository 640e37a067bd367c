// A local fake of AWS STS AssumeRoleWithWebIdentity (from AWS's public STS API reference)
// on 127.0.0.1, a free port: POST / with a form body Action=AssumeRoleWithWebIdentity,
// Version=2011-06-15, RoleArn, RoleSessionName, WebIdentityToken (unsigned). Answers the
// AssumeRoleWithWebIdentityResponse XML with new credentials per call, expiring at the
// time the test sets; a token other than the expected one gets 400 InvalidIdentityToken,
// a missing parameter 400 MissingParameter, in AWS' ErrorResponse envelope. The next N
// calls can be failed with 503.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "common/http_server.h"

namespace failover::testing {

class FakeSts {
 public:
  FakeSts(std::string role_arn, std::string token);
  ~FakeSts();
  std::string base_url() const;

  void SetExpiration(std::chrono::system_clock::time_point t);
  void SetToken(std::string token);  // the one accepted from now on
  void FailNext(int n);
  // Hand out this key pair (with a new session token per call) instead of made-up ones,
  // e.g. the pair another fake verifies signatures with.
  void IssueKeys(std::string access_key_id, std::string secret_access_key);
  int Calls() const;
  std::string LastSessionName() const;

 private:
  HttpServerResponse Handle(const HttpServerRequest& req);
  mutable std::mutex mu_;
  std::string role_arn_, token_, last_session_, issued_id_, issued_secret_;
  std::chrono::system_clock::time_point expiration_;
  int calls_ = 0, fail_next_ = 0;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace failover::testing
