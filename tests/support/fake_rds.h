// A local fake of the RDS Query API's global-cluster actions (from AWS's public RDS API
// reference) on 127.0.0.1, a free port: POST / with a
// form-encoded body (Action=...&Version=2014-10-31&...), SigV4-signed for service rds in
// the fake's region with kFakeAwsAccessKeyId / kFakeAwsSecretAccessKey.
//   DescribeGlobalClusters    [GlobalClusterIdentifier]
//   FailoverGlobalCluster     GlobalClusterIdentifier, TargetDbClusterIdentifier,
//                             AllowDataLoss | Switchover (not both)
//   SwitchoverGlobalCluster   GlobalClusterIdentifier, TargetDbClusterIdentifier
// A failover shows a FailoverState (pending, then failing-over / switching-over) for
// SetFailoverPolls(n) DescribeGlobalClusters calls, then the target is the writer.
// Errors in AWS' ErrorResponse envelope: GlobalClusterNotFoundFault 404,
// InvalidGlobalClusterStateFault 400 (a failover is running), InvalidDBClusterStateFault
// 400 (target already the writer), DBClusterNotFoundFault 404, MissingParameter,
// InvalidParameterCombination, InvalidParameterValue (unknown parameter) 400,
// SignatureDoesNotMatch 403. The next N requests can fail with Throttling, 429 or 5xx.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "tests/support/fake_aws_auth.h"

namespace failover::testing {

class FakeRds {
 public:
  explicit FakeRds(std::string region = "us-west-2");
  ~FakeRds();
  FakeRds(const FakeRds&) = delete;
  FakeRds& operator=(const FakeRds&) = delete;

  std::string base_url() const;  // "http://127.0.0.1:<port>"
  const std::string& region() const { return region_; }

  // A global cluster with a writer and secondaries (cluster ARNs).
  void AddGlobalCluster(const std::string& id, const std::string& writer_arn,
                        const std::vector<std::string>& secondary_arns);
  void SetFailoverPolls(int n);
  void FailNext(int n, int status, std::string code, int retry_after_seconds = -1);

  // The next Failover/Switchover request is applied, then answered with `status` (the
  // ambiguous 5xx: a client must read state before sending again).
  void FailNextActionAfterApplying(int status);

  std::optional<std::string> Writer(const std::string& id) const;
  bool FailingOver(const std::string& id) const;
  int RequestCount() const;
  int DescribeCount() const;
  int ActionCount() const;  // accepted Failover/Switchover requests
  int RejectedAuth() const;
  std::vector<std::map<std::string, std::string>> Actions() const;  // their parameters

  struct State;

 private:
  HttpServerResponse Handle(const HttpServerRequest& req);

  std::string region_;
  std::unique_ptr<State> state_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace failover::testing
