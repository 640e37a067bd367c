#include "tests/support/fake_aws_auth.h"

#include <algorithm>

namespace failover::testing {

std::optional<AwsAuthFailure> VerifySigV4(const HttpServerRequest& req,
                                          const AwsCredentials& expected, const std::string& region,
                                          const std::string& service) {
  std::string header = req.Header("authorization");
  if (header.empty()) {
    return AwsAuthFailure{403, "MissingAuthenticationToken", "Missing Authentication Token"};
  }
  auto auth = ParseSigV4Authorization(header);
  if (!auth) {
    return AwsAuthFailure{400, "IncompleteSignature",
                          "Authorization header requires 'Credential', 'SignedHeaders' and "
                          "'Signature' parameters."};
  }
  if (auth->access_key_id != expected.access_key_id) {
    return AwsAuthFailure{403, "InvalidClientTokenId",
                          "The security token included in the request is invalid."};
  }
  std::string amz_date = req.Header("x-amz-date");
  if (amz_date.size() != 16 || amz_date.substr(0, 8) != auth->date) {
    return AwsAuthFailure{403, "IncompleteSignature",
                          "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                          "of date from HTTP: '" +
                              auth->date + "' != '" + amz_date.substr(0, 8) + "'"};
  }
  if (auth->region != region || auth->service != service) {
    return AwsAuthFailure{403, "SignatureDoesNotMatch",
                          "Credential should be scoped to a valid region and service: expected " +
                              region + "/" + service + ", found " + auth->region + "/" +
                              auth->service};
  }
  auto& sh = auth->signed_headers;
  for (const char* required : {"host", "x-amz-date"}) {
    if (std::find(sh.begin(), sh.end(), required) == sh.end()) {
      return AwsAuthFailure{403, "SignatureDoesNotMatch",
                            std::string("'") + required + "' must be a signed header"};
    }
  }
  if (!expected.session_token.empty()) {
    if (req.Header("x-amz-security-token") != expected.session_token) {
      return AwsAuthFailure{403, "InvalidClientTokenId",
                            "The security token included in the request is invalid."};
    }
    if (std::find(sh.begin(), sh.end(), "x-amz-security-token") == sh.end()) {
      return AwsAuthFailure{403, "SignatureDoesNotMatch",
                            "'x-amz-security-token' must be a signed header"};
    }
  }
  SigV4Request sr;
  sr.method = req.method;
  sr.path = req.path;
  sr.query = req.query;
  sr.body = req.body;
  for (const std::string& name : sh) sr.headers.emplace_back(name, req.Header(name));
  SigV4Signature sig = SignV4(sr, expected, region, service, amz_date);
  if (sig.signature != auth->signature) {
    return AwsAuthFailure{
        403, "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details.\n\nThe Canonical String for this request should have been\n'" +
            sig.canonical_request + "'\n\nThe String-to-Sign should have been\n'" +
            sig.string_to_sign + "'\n"};
  }
  return std::nullopt;
}

}  // namespace failover::testing
