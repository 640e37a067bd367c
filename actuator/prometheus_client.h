// Instant PromQL queries against Prometheus' HTTP API (GET /api/v1/query), for guards and
// wait_for steps.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/http_client.h"
#include "common/result.h"

namespace failover {

struct PromSample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromQueryResult {
  std::string result_type;  // vector | scalar | matrix | string
  std::vector<PromSample> samples;
  // Prometheus alerting semantics: true when the query returns at least one sample
  // (comparisons without `bool` filter); a scalar is true when non-zero.
  bool Truthy() const;
  // "{region=\"eu-west\"} 1, ..." for logs, pages and the journal (bounded).
  std::string Describe() const;
};

// Pure: parses the API's JSON envelope; {"status":"error"} becomes an Error with the
// errorType and error text.
Result<PromQueryResult> ParsePromQueryResponse(std::string_view body);

class PromClient {
 public:
  PromClient(HttpClient& http, std::string base_url, Duration timeout)
      : http_(http), base_url_(std::move(base_url)), timeout_(timeout) {}
  // Transport errors and 5xx are retryable errors; a bad query (400/422) is not.
  Result<PromQueryResult> Query(const std::string& promql);

 private:
  HttpClient& http_;
  std::string base_url_;
  Duration timeout_;
};

}  // namespace failover
