// AWS Signature Version 4 (docs/contracts/dns-providers.md, "Signature Version 4") and AWS
// credentials from files or the environment.
//
// Why our own signer and not libcurl's CURLOPT_AWS_SIGV4: tried with libcurl 7.88.1 and a
// fixed X-Amz-Date header against the AWS SigV4 test suite, it reproduces get-vanilla and
// post-x-www-form-urlencoded but not get-vanilla-query-order-key (it signs the query in
// the order sent instead of sorted: signature 50aeaeff... instead of eedbc4e2...), and it
// exposes neither the canonical request nor the string to sign. The fakes in tests/support
// must recompute signatures from received requests anyway, so one small signer on
// OpenSSL's SHA-256/HMAC serves the clients and the fakes, and is tested with the vectors.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/http_client.h"
#include "common/result.h"
#include "common/secret.h"
#include "common/yaml.h"

namespace failover {

class RefreshingCredentials;  // common/aws_credentials.h

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
};

// What is signed. `path` and `query` are exactly as sent on the wire (query without '?').
struct SigV4Request {
  std::string method;
  std::string path = "/";
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;  // every header to sign, Host too
  std::string body;
};

struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // hex
  std::string authorization;   // the whole Authorization header value
};

// `amz_date` is the X-Amz-Date value ("20150830T123600Z"); it must also be among the
// request's headers (as X-Amz-Date) for the signature to be verifiable.
SigV4Signature SignV4(const SigV4Request& request, const AwsCredentials& creds,
                      std::string_view region, std::string_view service, std::string_view amz_date);

// Signs an outgoing request in place: sets Host, X-Amz-Date, X-Amz-Security-Token (session
// credentials) and Authorization. Every header already on the request is signed.
Status SignHttpRequest(HttpRequest& request, const AwsCredentials& creds, std::string_view region,
                       std::string_view service, WallTime now);

// The parts of an "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." header.
struct SigV4Authorization {
  std::string access_key_id;
  std::string date;  // yyyymmdd of the credential scope
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;
  std::string signature;
};
std::optional<SigV4Authorization> ParseSigV4Authorization(std::string_view header);

// Building blocks, exposed for tests.
std::string AwsAmzDate(WallTime t);                               // yyyymmddThhmmssZ (UTC)
std::string AwsUriEncode(std::string_view s, bool encode_slash);  // RFC 3986, upper-case hex
std::string Sha256Hex(std::string_view data);
std::string HexEncode(std::string_view bytes);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw bytes
std::string AwsSigningKey(std::string_view secret, std::string_view yyyymmdd,
                          std::string_view region, std::string_view service);  // raw bytes

// Where AWS credentials come from (docs/contracts/aws-credentials.md), configured as
//   access_key_id | access_key_id_file | access_key_id_env,
//   secret_access_key | secret_access_key_file | secret_access_key_env,
//   session_token | session_token_file | session_token_env (optional): static keys;
// or profile (with shared_credentials_file, config_file optional): the shared files;
// or credential_source: ec2_instance_metadata (imds_url optional): the instance role
// through IMDSv2; or credential_source: web_identity (role_arn, web_identity_token_file,
// role_session_name, sts_url; by default from AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE,
// AWS_ROLE_SESSION_NAME): AssumeRoleWithWebIdentity.
// With none of these, the chain: the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
// AWS_SESSION_TOKEN) environment variables when AWS_ACCESS_KEY_ID is set; else
// AssumeRoleWithWebIdentity when AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set;
// else the shared files' $AWS_PROFILE (or default) profile. The instance metadata is only
// asked when configured. Files and variables are read on every Resolve() (rotated files
// are picked up); temporary credentials are cached until 5 minutes before they expire.
// Values never appear in a message.
class AwsCredentialSource {
 public:
  static Result<AwsCredentialSource> FromYaml(const YamlNode& body);
  static AwsCredentialSource FromEnv();  // the chain
  static AwsCredentialSource Static(AwsCredentials creds);

  // `http` and `clock` are needed by the sources that fetch (instance metadata, STS).
  Result<AwsCredentials> Resolve(HttpClient* http = nullptr, Clock* clock = nullptr) const;
  std::string Describe() const;  // safe to show: "file /x and file /y", "environment"

 private:
  Result<AwsCredentials> ResolveEnv() const;
  Result<AwsCredentials> ResolveProfile() const;

  enum class Kind { kStatic, kChain, kProfile, kFetched };
  Kind kind_ = Kind::kStatic;
  std::optional<SecretRef> key_id_;
  std::optional<SecretRef> secret_;
  std::optional<SecretRef> token_;
  // kProfile: the files and the profile ("" = the defaults, read at Resolve).
  std::string credentials_file_, config_file_, profile_;
  // kFetched, or the chain's web identity: shared by copies, so they share the cache.
  std::shared_ptr<RefreshingCredentials> fetched_;
};

// Replaces every occurrence of the credentials' secret parts in `text` with <redacted>.
std::string RedactCredentials(std::string text, const AwsCredentials& creds);

}  // namespace failover
