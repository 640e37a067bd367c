// SigV4 verification for the AWS fakes (fake_route53, fake_rds): recomputes the signature
// of a received request with the known test secret, as AWS does, and says why a request
// is refused in AWS' own terms.
#pragma once

#include <optional>
#include <string>

#include "common/aws_sigv4.h"
#include "common/http_server.h"

namespace failover::testing {

// The credentials the fakes accept.
inline constexpr const char* kFakeAwsAccessKeyId = "AKIDFAKEFAILOVERTEST";
inline constexpr const char* kFakeAwsSecretAccessKey = "fAkE/SecretAccessKey+ForFailoverTests0001";

struct AwsAuthFailure {
  int status = 403;
  std::string code;  // MissingAuthenticationToken, IncompleteSignature, InvalidClientTokenId,
                     // SignatureDoesNotMatch
  std::string message;
};

// nullopt when the request is signed by `expected` for `region`/`service`. When
// `expected.session_token` is set, the request must carry and sign it as
// X-Amz-Security-Token. Like AWS, a SignatureDoesNotMatch message quotes the canonical
// request and string to sign the server computed.
std::optional<AwsAuthFailure> VerifySigV4(const HttpServerRequest& req,
                                          const AwsCredentials& expected, const std::string& region,
                                          const std::string& service);

}  // namespace failover::testing
