// A local fake of CloudWatch's GetMetricData (from AWS's public CloudWatch API reference,
// Query API: docs/contracts/cloudwatch.md) on 127.0.0.1, a free port: POST / with a
// form-encoded body (Action=GetMetricData&Version=2010-08-01&...), SigV4-signed for service
// `monitoring` in the fake's region with kFakeAwsAccessKeyId / kFakeAwsSecretAccessKey.
// It keeps raw datapoints per metric (namespace, name, dimensions, unit), and answers each
// MetricDataQueries.member.N.MetricStat the way CloudWatch does: the datapoints of the
// metric whose dimensions are exactly the ones asked (and whose unit is the Unit asked,
// when one is), in [StartTime, EndTime), aggregated per Period with Stat, newest first
// (ScanBy TimestampDescending, the default) or oldest first (TimestampAscending).
// Errors in AWS' ErrorResponse envelope: MissingParameter, InvalidParameterValue (bad Id,
// Period, Stat, Unit, time, or a parameter it does not know), InvalidParameterCombination
// (StartTime not before EndTime), InvalidAction 400; MissingAuthenticationToken,
// IncompleteSignature, InvalidClientTokenId, SignatureDoesNotMatch (fake_aws_auth.h). The
// next N requests can be failed with a code of the test's choosing (Throttling: 400
// "Rate exceeded", as CloudWatch answers).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/http_server.h"
#include "tests/support/fake_aws_auth.h"

namespace failover::testing {

class FakeCloudWatch {
 public:
  explicit FakeCloudWatch(std::string region = "us-west-2");
  ~FakeCloudWatch();
  FakeCloudWatch(const FakeCloudWatch&) = delete;
  FakeCloudWatch& operator=(const FakeCloudWatch&) = delete;

  std::string base_url() const;  // "http://127.0.0.1:<port>"
  const std::string& region() const { return region_; }

  // A raw datapoint (PutMetricData's view of it).
  void Put(const std::string& ns, const std::string& name,
           const std::map<std::string, std::string>& dimensions, const std::string& unit,
           WallTime at, double value);
  void FailNext(int n, int status, std::string code, std::string message);

  int RequestCount() const;  // every POST
  int RejectedAuth() const;
  std::map<std::string, std::string> LastParams() const;  // of the last request
  std::string LastErrorCode() const;                      // "" after a success

  struct State;

 private:
  HttpServerResponse Handle(const HttpServerRequest& req);

  std::string region_;
  std::unique_ptr<State> state_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace failover::testing
