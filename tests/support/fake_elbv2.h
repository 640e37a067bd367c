// A local fake of the Elastic Load Balancing v2 Query API's target actions (from AWS's
// public ELBv2 API reference) on 127.0.0.1, a free port: POST / with a form-encoded body
// (Action=...&Version=2015-12-01&TargetGroupArn=...&Targets.member.N.Id/Port=...),
// SigV4-signed for service elasticloadbalancing in the fake's region with
// kFakeAwsAccessKeyId / kFakeAwsSecretAccessKey (tests/support/fake_aws_auth.h).
//   DescribeTargetHealth  TargetGroupArn [Targets.member.N.Id, .Port]
//   RegisterTargets       TargetGroupArn Targets.member.N.Id [.Port]
//   DeregisterTargets     TargetGroupArn Targets.member.N.Id [.Port]
// A registered target is `initial` for SetInitialPolls(n) describes, then `healthy`. A
// deregistered one is `draining` (Target.DeregistrationInProgress) for
// SetDrainingPolls(n) describes, then gone; asked for by id, a target that is not
// registered is `unused` with reason Target.NotRegistered. Errors in AWS' ErrorResponse
// envelope: TargetGroupNotFound 400, ValidationError 400 (missing or unknown parameter),
// SignatureDoesNotMatch 403 (or another signing failure); the next N requests can fail
// with a chosen status and code (Throttling, 5xx).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "tests/support/fake_aws_auth.h"

namespace failover::testing {

class FakeElbv2 {
 public:
  explicit FakeElbv2(std::string region = "us-east-1");
  ~FakeElbv2();
  FakeElbv2(const FakeElbv2&) = delete;
  FakeElbv2& operator=(const FakeElbv2&) = delete;

  std::string base_url() const;  // "http://127.0.0.1:<port>"
  const std::string& region() const { return region_; }

  void AddTargetGroup(const std::string& arn);
  // A target already registered and healthy.
  void AddTarget(const std::string& arn, const std::string& id, int port);
  void SetInitialPolls(int n);
  // Also for the targets draining now. A large n: draining never ends within a test.
  void SetDrainingPolls(int n);
  void FailNext(int n, int status, std::string code);

  // "healthy", "draining", ..., or "" when the target is not registered.
  std::string State(const std::string& arn, const std::string& id, int port) const;
  int Actions() const;  // accepted Register/DeregisterTargets
  int Describes() const;
  int RejectedAuth() const;

  struct State_;

 private:
  HttpServerResponse Handle(const HttpServerRequest& req);

  std::string region_;
  std::unique_ptr<State_> st_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace failover::testing
