// Signed calls to an AWS API (Route 53's REST-XML, RDS' Query API) with AWS' error
// envelope and retry rules (docs/contracts/dns-providers.md, docs/contracts/databases.md):
//   - Throttling, PriorRequestNotComplete and HTTP 429 are retried within the deadline,
//     honouring Retry-After, with a growing delay otherwise;
//   - 5xx and transport failures are retried too, unless the call is not idempotent
//     (then they come back as retryable errors and the caller reads state first);
//   - other 4xx are not retried and come back with AWS' <Code> and <Message>.
// Credentials are resolved per call and never appear in a message (AWS' own messages,
// which can quote the canonical request, are scrubbed of them).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/aws_sigv4.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "common/result.h"
#include "common/xml.h"

namespace failover {

// The body of a Query API call (RDS, ELB): key=value pairs, both RFC 3986 encoded, joined
// by &.
std::string AwsQueryForm(const std::vector<std::pair<std::string, std::string>>& params);

struct AwsErrorInfo {
  std::string type;  // Sender / Receiver
  std::string code;  // Throttling, InvalidChangeBatch, SignatureDoesNotMatch, ...
  std::string message;
};

// AWS' <ErrorResponse><Error><Type/><Code/><Message/></Error>..., Route 53's
// <InvalidChangeBatch><Messages><Message/>...; nullopt when the body is neither.
std::optional<AwsErrorInfo> ParseAwsError(std::string_view body);

struct AwsCall {
  std::string method = "GET";
  std::string path = "/";  // as sent, already encoded
  std::string query;       // as sent, already encoded, without '?'
  std::string body;
  std::string content_type;
  bool idempotent = true;
  std::string what;  // "reading www.example.com. A", for messages
};

class AwsApi {
 public:
  // `label` starts every message ("route53", "aurora_global_failover").
  AwsApi(std::string label, std::string base_url, std::string region, std::string service,
         AwsCredentialSource creds, HttpClient* http, Clock* clock);

  // The 2xx response, or an error (retryable as described above).
  Result<HttpResponse> Send(const AwsCall& call, MonoTime deadline);

  const std::string& base_url() const { return base_url_; }
  const AwsCredentialSource& credentials() const { return creds_; }

 private:
  std::string label_;
  std::string base_url_;
  std::string region_;
  std::string service_;
  AwsCredentialSource creds_;
  HttpClient* http_;
  Clock* clock_;
};

// An AWS region name as the endpoints spell it (us-west-2, eu-central-1): not empty, and
// only lower-case letters, digits and dashes. The config parsers of every AWS kind check
// `region:` with it.
bool LooksLikeAwsRegion(std::string_view s);

}  // namespace failover
