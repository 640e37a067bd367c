// AWS credentials the way users run them (docs/contracts/aws-credentials.md): the shared
// credentials and config files with a profile, an EC2 instance role through IMDSv2, and
// AssumeRoleWithWebIdentity for containers. Temporary credentials are cached and fetched
// again before they expire. AwsCredentialSource (common/aws_sigv4.h) chooses among them.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/aws_sigv4.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "common/result.h"

namespace failover {

// The keys of `profile` from the shared credentials file (`[name]` sections) and, for what
// it does not have, the config file (`[profile name]`, or `[default]`):
// aws_access_key_id, aws_secret_access_key, aws_session_token. Empty file names: not read.
// Errors name the files and the profile, never a value.
Result<AwsCredentials> ReadSharedCredentialsFiles(const std::string& credentials_file,
                                                  const std::string& config_file,
                                                  const std::string& profile);

// Where the shared files are: $AWS_SHARED_CREDENTIALS_FILE / $AWS_CONFIG_FILE, else
// $HOME/.aws/credentials and $HOME/.aws/config; the profile: $AWS_PROFILE, else "default".
std::string DefaultSharedCredentialsFile();
std::string DefaultConfigFile();
std::string DefaultProfile();

// Temporary credentials with their expiry (WallTime of the epoch when they do not expire).
struct ExpiringCredentials {
  AwsCredentials creds;
  WallTime expiration{};
};

// A source of temporary credentials over HTTP, cached: Resolve() fetches only when there
// are none yet or they expire within `refresh_before` (5 minutes); when a refresh fails
// and the cached ones are still valid, those are used (the failure is logged).
class RefreshingCredentials {
 public:
  explicit RefreshingCredentials(Duration refresh_before = std::chrono::minutes(5))
      : refresh_before_(refresh_before) {}
  virtual ~RefreshingCredentials() = default;

  Result<AwsCredentials> Resolve(HttpClient& http, Clock& clock);
  virtual std::string Describe() const = 0;
  int fetches() const;  // how many times Fetch ran (for tests)

 protected:
  virtual Result<ExpiringCredentials> Fetch(HttpClient& http, Clock& clock) = 0;

 private:
  Duration refresh_before_;
  mutable std::mutex mu_;
  std::optional<ExpiringCredentials> cached_;
  int fetches_ = 0;
};

// EC2 instance metadata, IMDSv2: PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds)
// first, then with that token GET /latest/meta-data/iam/security-credentials/ (the role's
// name) and .../<role> (JSON: AccessKeyId, SecretAccessKey, Token, Expiration). `base_url`:
// http://169.254.169.254 on EC2. From a container the token's PUT answer needs the
// instance's metadata hop limit at 2 or more (docs/contracts/aws-credentials.md).
class ImdsCredentials final : public RefreshingCredentials {
 public:
  explicit ImdsCredentials(std::string base_url) : base_url_(std::move(base_url)) {}
  std::string Describe() const override { return "EC2 instance metadata (IMDSv2) " + base_url_; }

 protected:
  Result<ExpiringCredentials> Fetch(HttpClient& http, Clock& clock) override;

 private:
  std::string base_url_;
};

// STS AssumeRoleWithWebIdentity (unsigned; the token file's JWT is the proof), as run in
// EKS pods: the token is read from `token_file` at every fetch (it is rotated).
class WebIdentityCredentials final : public RefreshingCredentials {
 public:
  WebIdentityCredentials(std::string sts_url, std::string role_arn, std::string token_file,
                         std::string session_name)
      : sts_url_(std::move(sts_url)),
        role_arn_(std::move(role_arn)),
        token_file_(std::move(token_file)),
        session_name_(std::move(session_name)) {}
  std::string Describe() const override {
    return "AssumeRoleWithWebIdentity " + role_arn_ + " (token file " + token_file_ + ")";
  }

 protected:
  Result<ExpiringCredentials> Fetch(HttpClient& http, Clock& clock) override;

 private:
  std::string sts_url_, role_arn_, token_file_, session_name_;
};

// "2026-12-06T12:34:56Z" (also with fractional seconds) as a WallTime.
std::optional<WallTime> ParseAwsTimestamp(const std::string& text);

}  // namespace failover
