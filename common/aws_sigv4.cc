#include "common/aws_sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>

#include "common/aws_credentials.h"
#include "common/encoding.h"

namespace failover {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Header values: leading/trailing blanks removed, inner runs of blanks collapsed to one.
std::string TrimAll(std::string_view v) {
  std::string out;
  bool blank = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      blank = true;
      continue;
    }
    if (blank && !out.empty()) out += ' ';
    blank = false;
    out += c;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string k = PercentDecode(part.substr(0, eq));
      std::string v = eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1));
      params.emplace_back(AwsUriEncode(k, true), AwsUriEncode(v, true));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

}  // namespace

std::string HexEncode(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xF];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string AwsSigningKey(std::string_view secret, std::string_view yyyymmdd,
                          std::string_view region, std::string_view service) {
  std::string k = HmacSha256("AWS4" + std::string(secret), yyyymmdd);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  return HmacSha256(k, "aws4_request");
}

std::string AwsUriEncode(std::string_view s, bool encode_slash) {
  return UrlEncode(s, encode_slash ? "" : "/");
}

std::string AwsAmzDate(WallTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

SigV4Signature SignV4(const SigV4Request& request, const AwsCredentials& creds,
                      std::string_view region, std::string_view service,
                      std::string_view amz_date) {
  // Headers: lower-case names, sorted; repeated names joined with ',' in order.
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : request.headers) {
    std::string n = Lower(name);
    std::string v = TrimAll(value);
    auto it = headers.find(n);
    if (it == headers.end()) {
      headers.emplace(n, v);
    } else {
      it->second += "," + v;
    }
  }
  SigV4Signature out;
  std::string canonical_headers;
  for (const auto& [n, v] : headers) {
    canonical_headers += n + ":" + v + "\n";
    if (!out.signed_headers.empty()) out.signed_headers += ';';
    out.signed_headers += n;
  }
  // The canonical URI encodes each segment of the path as sent (for services other than
  // S3 that is AWS' "encode twice": an already-encoded '%' becomes %25).
  std::string path = request.path.empty() ? "/" : request.path;
  out.canonical_request = request.method + "\n" + AwsUriEncode(path, false) + "\n" +
                          CanonicalQuery(request.query) + "\n" + canonical_headers + "\n" +
                          out.signed_headers + "\n" + Sha256Hex(request.body);
  std::string date(amz_date.substr(0, 8));
  std::string scope =
      date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  out.string_to_sign = std::string(kAlgorithm) + "\n" + std::string(amz_date) + "\n" + scope +
                       "\n" + Sha256Hex(out.canonical_request);
  out.signature = HexEncode(HmacSha256(
      AwsSigningKey(creds.secret_access_key, date, region, service), out.string_to_sign));
  out.authorization = std::string(kAlgorithm) + " Credential=" + creds.access_key_id + "/" + scope +
                      ", SignedHeaders=" + out.signed_headers + ", Signature=" + out.signature;
  return out;
}

Status SignHttpRequest(HttpRequest& request, const AwsCredentials& creds, std::string_view region,
                       std::string_view service, WallTime now) {
  const std::string& url = request.url;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return Error::Invalid("not an absolute URL: " + url);
  std::string scheme = Lower(url.substr(0, scheme_end));
  size_t auth_start = scheme_end + 3;
  size_t auth_end = url.find_first_of("/?#", auth_start);
  if (auth_end == std::string::npos) auth_end = url.size();
  std::string host = url.substr(auth_start, auth_end - auth_start);
  if (size_t at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  if ((scheme == "http" && host.size() > 3 && host.compare(host.size() - 3, 3, ":80") == 0) ||
      (scheme == "https" && host.size() > 4 && host.compare(host.size() - 4, 4, ":443") == 0)) {
    host.resize(host.rfind(':'));
  }
  if (host.empty()) return Error::Invalid("no host in URL " + url);
  size_t frag = url.find('#', auth_end);
  std::string rest =
      url.substr(auth_end, frag == std::string::npos ? std::string::npos : frag - auth_end);
  size_t q = rest.find('?');
  SigV4Request sr;
  sr.method = request.method;
  sr.path = q == std::string::npos ? rest : rest.substr(0, q);
  if (sr.path.empty()) sr.path = "/";
  sr.query = q == std::string::npos ? "" : rest.substr(q + 1);
  sr.body = request.body;

  // Drop what we set ourselves, then add it freshly.
  auto& h = request.headers;
  h.erase(std::remove_if(h.begin(), h.end(),
                         [](const auto& kv) {
                           std::string n = Lower(kv.first);
                           return n == "host" || n == "x-amz-date" || n == "authorization" ||
                                  n == "x-amz-security-token";
                         }),
          h.end());
  std::string amz_date = AwsAmzDate(now);
  h.emplace_back("Host", host);
  h.emplace_back("X-Amz-Date", amz_date);
  if (!creds.session_token.empty()) h.emplace_back("X-Amz-Security-Token", creds.session_token);
  sr.headers = h;
  SigV4Signature sig = SignV4(sr, creds, region, service, amz_date);
  h.emplace_back("Authorization", sig.authorization);
  return {};
}

std::optional<SigV4Authorization> ParseSigV4Authorization(std::string_view header) {
  if (header.substr(0, kAlgorithm.size()) != kAlgorithm) return std::nullopt;
  header.remove_prefix(kAlgorithm.size());
  SigV4Authorization out;
  bool have_cred = false, have_signed = false, have_sig = false;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string part = TrimAll(header.substr(0, comma));
    size_t eq = part.find('=');
    if (eq == std::string::npos) return std::nullopt;
    std::string key = part.substr(0, eq);
    std::string value = part.substr(eq + 1);
    if (key == "Credential") {
      // AKID/yyyymmdd/region/service/aws4_request
      std::vector<std::string> f;
      size_t start = 0;
      for (size_t i = 0; i <= value.size(); ++i) {
        if (i == value.size() || value[i] == '/') {
          f.push_back(value.substr(start, i - start));
          start = i + 1;
        }
      }
      if (f.size() != 5 || f[4] != "aws4_request") return std::nullopt;
      out.access_key_id = f[0];
      out.date = f[1];
      out.region = f[2];
      out.service = f[3];
      have_cred = true;
    } else if (key == "SignedHeaders") {
      size_t start = 0;
      for (size_t i = 0; i <= value.size(); ++i) {
        if (i == value.size() || value[i] == ';') {
          out.signed_headers.push_back(value.substr(start, i - start));
          start = i + 1;
        }
      }
      have_signed = true;
    } else if (key == "Signature") {
      out.signature = value;
      have_sig = true;
    } else {
      return std::nullopt;
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  if (!have_cred || !have_signed || !have_sig) return std::nullopt;
  return out;
}

namespace {

Result<std::optional<std::string>> OptionalString(const YamlNode& body, const char* key) {
  auto n = body.Get(key);
  if (!n) return std::optional<std::string>();
  auto s = n->AsString();
  if (!s) return s.error();
  if (s->empty()) return n->Fail(std::string(key) + " is empty");
  return std::optional<std::string>(*s);
}

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::shared_ptr<RefreshingCredentials> WebIdentityFromEnv() {
  std::string file = Getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), role = Getenv("AWS_ROLE_ARN");
  if (file.empty() || role.empty()) return nullptr;
  std::string session = Getenv("AWS_ROLE_SESSION_NAME");
  return std::make_shared<WebIdentityCredentials>("https://sts.amazonaws.com", role, file,
                                                  session.empty() ? "failover" : session);
}

}  // namespace

// Asks for every credential key on every path, before any successful return, so a parser
// that calls this and then RejectUnreadKeys accepts them all.
Result<AwsCredentialSource> AwsCredentialSource::FromYaml(const YamlNode& body) {
  AwsCredentialSource src;
  auto id = SecretRef::FromYaml(body, "access_key_id");
  if (!id) return id.error();
  auto secret = SecretRef::FromYaml(body, "secret_access_key");
  if (!secret) return secret.error();
  auto token = SecretRef::FromYaml(body, "session_token");
  if (!token) return token.error();
  std::optional<YamlNode> source_node = body.Get("credential_source");
  std::optional<YamlNode> profile_node = body.Get("profile");
  const bool keys = *id || *secret || *token;
  if ((keys ? 1 : 0) + (source_node ? 1 : 0) + (profile_node ? 1 : 0) > 1) {
    return body.Fail(
        "choose one of access_key_id/secret_access_key, profile and credential_source");
  }
  for (const char* k : {"shared_credentials_file", "config_file"}) {
    if (auto n = body.Get(k); n && !profile_node) return n->Fail(std::string(k) + " needs profile");
  }
  static const char* const kImdsKeys[] = {"imds_url"};
  static const char* const kWebKeys[] = {"role_arn", "web_identity_token_file", "role_session_name",
                                         "sts_url"};
  std::string source;
  if (source_node) {
    auto s = source_node->AsString();
    if (!s) return s.error();
    source = *s;
    if (source != "ec2_instance_metadata" && source != "web_identity") {
      return source_node->Fail("expected ec2_instance_metadata or web_identity, found \"" + source +
                               "\"");
    }
  }
  for (const char* k : kImdsKeys) {
    if (auto n = body.Get(k); n && source != "ec2_instance_metadata") {
      return n->Fail(std::string(k) + " needs credential_source: ec2_instance_metadata");
    }
  }
  for (const char* k : kWebKeys) {
    if (auto n = body.Get(k); n && source != "web_identity") {
      return n->Fail(std::string(k) + " needs credential_source: web_identity");
    }
  }
  // The source's keys are checked before the profile returns, so that every credential key
  // is read on every path (a caller's RejectUnreadKeys relies on it).
  if (profile_node) {
    auto p = profile_node->AsString();
    if (!p) return p.error();
    if (p->empty()) return profile_node->Fail("profile is empty");
    src.kind_ = Kind::kProfile;
    src.profile_ = *p;
    auto cf = OptionalString(body, "shared_credentials_file");
    if (!cf) return cf.error();
    auto cfg = OptionalString(body, "config_file");
    if (!cfg) return cfg.error();
    src.credentials_file_ = cf->value_or("");
    src.config_file_ = cfg->value_or("");
    return src;
  }
  auto url_of = [&](const char* key, const char* fallback) -> Result<std::string> {
    auto v = OptionalString(body, key);
    if (!v) return v.error();
    std::string url = v->value_or(fallback);
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return body.Get(key)->Fail("expected an http:// or https:// URL");
    }
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
  };
  if (source == "ec2_instance_metadata") {
    auto url = url_of("imds_url", "http://169.254.169.254");
    if (!url) return url.error();
    src.kind_ = Kind::kFetched;
    src.fetched_ = std::make_shared<ImdsCredentials>(*url);
    return src;
  }
  if (source == "web_identity") {
    auto url = url_of("sts_url", "https://sts.amazonaws.com");
    if (!url) return url.error();
    std::string values[3];
    const char* keys3[3] = {"role_arn", "web_identity_token_file", "role_session_name"};
    const char* envs[3] = {"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME"};
    for (int i = 0; i < 3; ++i) {
      auto v = OptionalString(body, keys3[i]);
      if (!v) return v.error();
      values[i] = v->value_or(Getenv(envs[i]));
      if (values[i].empty() && i < 2) {
        return source_node->Fail(std::string("web_identity needs ") + keys3[i] + " (or " + envs[i] +
                                 " in the environment)");
      }
    }
    src.kind_ = Kind::kFetched;
    src.fetched_ = std::make_shared<WebIdentityCredentials>(
        *url, values[0], values[1], values[2].empty() ? "failover" : values[2]);
    return src;
  }
  if (!keys) return FromEnv();
  if (!*id && !*secret) {
    return body.Fail(
        "session_token needs access_key_id and secret_access_key (without them the "
        "AWS_* environment variables are used, AWS_SESSION_TOKEN included)");
  }
  if (!*id) {
    return body.Fail(
        "secret_access_key is set but access_key_id is not (set access_key_id, "
        "access_key_id_file or access_key_id_env)");
  }
  if (!*secret) {
    return body.Fail(
        "access_key_id is set but secret_access_key is not (set secret_access_key_file or "
        "secret_access_key_env)");
  }
  src.key_id_ = *id;
  src.secret_ = *secret;
  src.token_ = *token;
  return src;
}

AwsCredentialSource AwsCredentialSource::FromEnv() {
  AwsCredentialSource src;
  src.kind_ = Kind::kChain;
  src.key_id_ = SecretRef::Env("AWS_ACCESS_KEY_ID");
  src.secret_ = SecretRef::Env("AWS_SECRET_ACCESS_KEY");
  src.fetched_ = WebIdentityFromEnv();
  return src;
}

AwsCredentialSource AwsCredentialSource::Static(AwsCredentials creds) {
  AwsCredentialSource src;
  src.key_id_ = SecretRef::Inline(creds.access_key_id);
  src.secret_ = SecretRef::Inline(creds.secret_access_key);
  if (!creds.session_token.empty()) src.token_ = SecretRef::Inline(creds.session_token);
  return src;
}

Result<AwsCredentials> AwsCredentialSource::ResolveEnv() const {
  AwsCredentials c;
  if (!key_id_ || !secret_) return Error::Invalid("no AWS credentials configured");
  auto id = key_id_->Resolve();
  if (!id) return Error::Invalid("AWS access key id: " + id.error().message);
  auto secret = secret_->Resolve();
  if (!secret) return Error::Invalid("AWS secret access key: " + secret.error().message);
  c.access_key_id = *id;
  c.secret_access_key = *secret;
  if (token_) {
    auto t = token_->Resolve();
    if (!t) return Error::Invalid("AWS session token: " + t.error().message);
    c.session_token = *t;
  } else if (kind_ == Kind::kChain) {
    if (const char* t = std::getenv("AWS_SESSION_TOKEN"); t != nullptr) c.session_token = t;
  }
  return c;
}

Result<AwsCredentials> AwsCredentialSource::ResolveProfile() const {
  return ReadSharedCredentialsFiles(
      credentials_file_.empty() ? DefaultSharedCredentialsFile() : credentials_file_,
      config_file_.empty() ? DefaultConfigFile() : config_file_,
      profile_.empty() ? DefaultProfile() : profile_);
}

Result<AwsCredentials> AwsCredentialSource::Resolve(HttpClient* http, Clock* clock) const {
  auto fetch = [&]() -> Result<AwsCredentials> {
    if (http == nullptr) {
      return Error::Internal("AWS credentials from " + fetched_->Describe() +
                             " need an HTTP client (internal error)");
    }
    return fetched_->Resolve(*http, clock != nullptr ? *clock : SystemClock::Get());
  };
  switch (kind_) {
    case Kind::kStatic:
      return ResolveEnv();
    case Kind::kProfile:
      return ResolveProfile();
    case Kind::kFetched:
      return fetch();
    case Kind::kChain: {
      if (!Getenv("AWS_ACCESS_KEY_ID").empty()) return ResolveEnv();
      if (fetched_ != nullptr) return fetch();
      auto p = ResolveProfile();
      if (p) return p;
      return Error::Invalid(
          "no AWS credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set, nor "
          "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, and the shared files have none (" +
          p.error().message + ")");
    }
  }
  return Error::Internal("AWS credentials: unknown source");
}

std::string AwsCredentialSource::Describe() const {
  switch (kind_) {
    case Kind::kChain:
      return "environment AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY" +
             std::string(fetched_ != nullptr ? ", else " + fetched_->Describe() : "") +
             ", else the shared files' profile";
    case Kind::kProfile:
      return "profile " + profile_ + " of the shared credentials/config files";
    case Kind::kFetched:
      return fetched_->Describe();
    case Kind::kStatic:
      break;
  }
  std::string out = "access key id from " + (key_id_ ? key_id_->Describe() : "?") +
                    ", secret access key from " + (secret_ ? secret_->Describe() : "?");
  if (token_) out += ", session token from " + token_->Describe();
  return out;
}

std::string RedactCredentials(std::string text, const AwsCredentials& creds) {
  for (const std::string* s : {&creds.secret_access_key, &creds.session_token}) {
    if (s->empty()) continue;
    for (size_t p = text.find(*s); p != std::string::npos; p = text.find(*s, p + 10)) {
      text.replace(p, s->size(), "<redacted>");
    }
  }
  return text;
}

}  // namespace failover
