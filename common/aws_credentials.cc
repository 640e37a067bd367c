#include "common/aws_credentials.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/log.h"
#include "common/xml.h"

namespace failover {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

using IniSections = std::map<std::string, std::map<std::string, std::string>>;

// An INI file as the AWS tools write it: [section], key = value, # and ; comments.
// nullopt when the file does not exist; an error when it exists and cannot be read.
Result<std::optional<IniSections>> ReadIni(const std::string& path) {
  if (path.empty()) return std::optional<IniSections>();
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::optional<IniSections>();
    return Error::Invalid("cannot read " + path + ": " + std::strerror(errno));
  }
  IniSections out;
  std::string section, line;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trim(line.substr(1, line.size() - 2));
      out[section];
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos || section.empty()) continue;
    out[section][Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
  }
  return std::optional<IniSections>(std::move(out));
}

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

std::string Home() { return EnvOr("HOME", ""); }

// A URL-encoded form value (RFC 3986 unreserved kept).
std::string FormEncode(const std::string& s) { return AwsUriEncode(s, true); }

Error FetchError(const std::string& what, const std::string& detail, bool retryable) {
  return Error{retryable ? ErrorCode::kUnavailable : ErrorCode::kPermissionDenied,
               "AWS credentials: " + what + ": " + detail, retryable};
}

}  // namespace

std::string DefaultSharedCredentialsFile() {
  return EnvOr("AWS_SHARED_CREDENTIALS_FILE", Home().empty() ? "" : Home() + "/.aws/credentials");
}
std::string DefaultConfigFile() {
  return EnvOr("AWS_CONFIG_FILE", Home().empty() ? "" : Home() + "/.aws/config");
}
std::string DefaultProfile() { return EnvOr("AWS_PROFILE", "default"); }

Result<AwsCredentials> ReadSharedCredentialsFiles(const std::string& credentials_file,
                                                  const std::string& config_file,
                                                  const std::string& profile) {
  auto creds = ReadIni(credentials_file);
  if (!creds) return creds.error();
  auto config = ReadIni(config_file);
  if (!config) return config.error();
  std::map<std::string, std::string> keys;
  bool found = false;
  if (*config) {
    std::string section = profile == "default" ? "default" : "profile " + profile;
    if (auto it = (*config)->find(section); it != (*config)->end()) {
      keys = it->second;
      found = true;
    }
  }
  if (*creds) {
    if (auto it = (*creds)->find(profile); it != (*creds)->end()) {
      for (const auto& [k, v] : it->second) keys[k] = v;  // the credentials file wins
      found = true;
    }
  }
  std::string where = "profile \"" + profile + "\" in " +
                      (credentials_file.empty() ? "(no credentials file)" : credentials_file) +
                      " / " + (config_file.empty() ? "(no config file)" : config_file);
  if (!found) return Error::Invalid("no " + where);
  AwsCredentials c;
  c.access_key_id = keys["aws_access_key_id"];
  c.secret_access_key = keys["aws_secret_access_key"];
  c.session_token = keys["aws_session_token"];
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    std::string hint;
    if (keys.count("role_arn") > 0 || keys.count("sso_session") > 0 ||
        keys.count("credential_process") > 0) {
      hint =
          " (role_arn, SSO and credential_process profiles are not supported; use "
          "credential_source: web_identity or ec2_instance_metadata)";
    }
    return Error::Invalid(where + " has no aws_access_key_id and aws_secret_access_key" + hint);
  }
  return c;
}

std::optional<WallTime> ParseAwsTimestamp(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) return std::nullopt;
  if (*end == '.') {
    ++end;
    while (*end >= '0' && *end <= '9') ++end;
  }
  if (std::strcmp(end, "Z") != 0 && std::strcmp(end, "+00:00") != 0) return std::nullopt;
  time_t t = timegm(&tm);
  return std::chrono::system_clock::from_time_t(t);
}

Result<AwsCredentials> RefreshingCredentials::Resolve(HttpClient& http, Clock& clock) {
  std::lock_guard<std::mutex> lock(mu_);
  WallTime now = clock.WallNow();
  if (cached_ && now + refresh_before_ < cached_->expiration) return cached_->creds;
  ++fetches_;
  auto fresh = Fetch(http, clock);
  if (!fresh) {
    if (cached_ && now < cached_->expiration) {
      log::Warn("AWS credentials: refresh failed, using the cached ones until they expire",
                {{"source", Describe()}, {"err", fresh.error().message}});
      return cached_->creds;
    }
    return fresh.error();
  }
  cached_ = std::move(*fresh);
  return cached_->creds;
}

int RefreshingCredentials::fetches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetches_;
}

Result<ExpiringCredentials> ImdsCredentials::Fetch(HttpClient& http, Clock& clock) {
  (void)clock;
  HttpRequest token_req;
  token_req.method = "PUT";
  token_req.url = base_url_ + "/latest/api/token";
  token_req.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
  token_req.timeout = std::chrono::seconds(2);
  auto token = http.Send(token_req);
  if (!token) return FetchError("IMDSv2 token from " + token_req.url, token.error().message, true);
  if (token->status != 200 || token->body.empty()) {
    return FetchError("IMDSv2 token from " + token_req.url,
                      "HTTP " + std::to_string(token->status) +
                          " (from a container, the instance's metadata hop limit must be 2 or "
                          "more)",
                      token->status >= 500 || token->status == 429);
  }
  auto get = [&](const std::string& path) -> Result<HttpResponse> {
    HttpRequest r;
    r.url = base_url_ + path;
    r.headers = {{"X-aws-ec2-metadata-token", token->body}};
    r.timeout = std::chrono::seconds(2);
    auto resp = http.Send(r);
    if (!resp) return FetchError("GET " + r.url, resp.error().message, true);
    if (resp->status != 200) {
      return FetchError("GET " + r.url,
                        "HTTP " + std::to_string(resp->status) +
                            (resp->status == 404 ? " (no instance role attached)" : ""),
                        resp->status >= 500 || resp->status == 429 || resp->status == 401);
    }
    return resp;
  };
  const std::string base = "/latest/meta-data/iam/security-credentials/";
  auto role = get(base);
  if (!role) return role.error();
  std::string name = Trim(role->body.substr(0, role->body.find('\n')));
  if (name.empty()) return FetchError("GET " + base_url_ + base, "no role name", false);
  auto doc = get(base + AwsUriEncode(name, true));
  if (!doc) return doc.error();
  try {
    auto j = nlohmann::json::parse(doc->body);
    if (j.value("Code", "") != "Success") {
      return FetchError("instance role " + name, "Code " + j.value("Code", "(none)"), true);
    }
    ExpiringCredentials out;
    out.creds.access_key_id = j.at("AccessKeyId").get<std::string>();
    out.creds.secret_access_key = j.at("SecretAccessKey").get<std::string>();
    out.creds.session_token = j.value("Token", "");
    auto exp = ParseAwsTimestamp(j.value("Expiration", ""));
    if (!exp) return FetchError("instance role " + name, "no valid Expiration", false);
    out.expiration = *exp;
    return out;
  } catch (const nlohmann::json::exception&) {
    return FetchError("instance role " + name, "the answer is not the expected JSON", false);
  }
}

Result<ExpiringCredentials> WebIdentityCredentials::Fetch(HttpClient& http, Clock& clock) {
  (void)clock;
  std::ifstream in(token_file_);
  if (!in) {
    return FetchError("web identity token file " + token_file_, std::strerror(errno), false);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = Trim(ss.str());
  if (token.empty()) return FetchError("web identity token file " + token_file_, "empty", false);
  HttpRequest req;
  req.method = "POST";
  req.url = sts_url_ + "/";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/xml"}};
  req.body =
      "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + FormEncode(role_arn_) +
      "&RoleSessionName=" + FormEncode(session_name_) + "&WebIdentityToken=" + FormEncode(token);
  req.timeout = std::chrono::seconds(10);
  auto resp = http.Send(req);
  std::fill(req.body.begin(), req.body.end(), '\0');
  const std::string what = "AssumeRoleWithWebIdentity " + role_arn_ + " at " + sts_url_;
  if (!resp) return FetchError(what, resp.error().message, true);
  auto doc = ParseXml(resp->body);
  if (resp->status != 200) {
    std::string code = doc ? doc->Text("Error/Code") : "";
    std::string msg = doc ? doc->Text("Error/Message") : "";
    return FetchError(what,
                      "HTTP " + std::to_string(resp->status) +
                          (code.empty() ? "" : " " + code + ": " + msg.substr(0, 200)),
                      resp->status >= 500 || resp->status == 429 || code == "Throttling" ||
                          code == "IDPCommunicationError");
  }
  if (!doc) return FetchError(what, "the answer is not XML", false);
  const std::string p = "AssumeRoleWithWebIdentityResult/Credentials/";
  ExpiringCredentials out;
  out.creds.access_key_id = doc->Text(p + "AccessKeyId");
  out.creds.secret_access_key = doc->Text(p + "SecretAccessKey");
  out.creds.session_token = doc->Text(p + "SessionToken");
  auto exp = ParseAwsTimestamp(doc->Text(p + "Expiration"));
  if (out.creds.access_key_id.empty() || out.creds.secret_access_key.empty() || !exp) {
    return FetchError(what, "no Credentials in the answer", false);
  }
  out.expiration = *exp;
  return out;
}

}  // namespace failover
