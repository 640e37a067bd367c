#include "actuator/dns/rest_api.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "actuator/steps/dns_update.h"
#include "common/config_fields.h"

namespace failover {
namespace {

constexpr Duration kMaxRequestTimeout = std::chrono::seconds(30);
constexpr int kMaxRateLimitWaits = 5;

std::string LinodeErrorText(const nlohmann::json& doc) {
  std::string out;
  if (!doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array()) return out;
  for (const auto& e : doc["errors"]) {
    if (!e.is_object() || !e.contains("reason") || !e["reason"].is_string()) continue;
    if (!out.empty()) out += "; ";
    if (e.contains("field") && e["field"].is_string()) out += e["field"].get<std::string>() + ": ";
    out += e["reason"].get<std::string>();
  }
  return out;
}

std::string DigitalOceanErrorText(const nlohmann::json& doc) {
  if (!doc.is_object() || !doc.contains("message") || !doc["message"].is_string()) return "";
  std::string out = doc["message"].get<std::string>();
  if (doc.contains("id") && doc["id"].is_string()) out += " (" + doc["id"].get<std::string>() + ")";
  return out;
}

// Retry-After in seconds (the APIs here send delta-seconds); -1 when absent or not a number.
long long RetryAfterSeconds(const HttpResponse& resp) {
  std::string v = resp.Header("retry-after");
  if (v.empty() || v.size() > 9) return -1;
  if (!std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return -1;
  }
  return std::stoll(v);
}

std::string Scrub(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (size_t p; (p = text.find(secret)) != std::string::npos;)
    text.replace(p, secret.size(), "***");
  return text;
}

// Plain text of zone-file TXT strings: "\"a\" \"b\"" -> "ab" (\X and \DDD unescaped).
std::string UnquoteTxt(const std::string& s) {
  std::string out;
  bool in = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      in = !in;
    } else if (!in) {
      continue;
    } else if (c == '\\' && i + 3 < s.size() &&
               std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isdigit(static_cast<unsigned char>(s[i + 2])) &&
               std::isdigit(static_cast<unsigned char>(s[i + 3]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3)));
      i += 3;
    } else if (c == '\\' && i + 1 < s.size()) {
      out += s[++i];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

RestApi::RestApi(RestApiOptions options) : o_(std::move(options)) {
  if (o_.clock == nullptr) o_.clock = &SystemClock::Get();
  if (!o_.retryable) o_.retryable = [](const HttpResponse& r) { return r.status >= 500; };
}

Result<nlohmann::json> RestApi::Call(const std::string& method, const std::string& path_or_url,
                                     const nlohmann::json* body, MonoTime deadline,
                                     const std::string& what,
                                     std::vector<std::pair<std::string, std::string>> headers) {
  const std::string prefix = o_.provider + ": " + what;
  std::string url = path_or_url;
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    url = o_.base_url + path_or_url;
  } else if (url.rfind(o_.base_url + "/", 0) != 0) {
    // A pagination link elsewhere would get the token: refuse it.
    return Error::Invalid(prefix + ": refusing to follow a link outside " + o_.base_url);
  }
  auto token = o_.token.Resolve();
  if (!token) return Error::Invalid(prefix + ": API token: " + token.error().message);
  HttpRequest req;
  req.method = method;
  req.url = url;
  req.headers = std::move(headers);
  req.headers.emplace_back("Authorization", "Bearer " + *token);
  req.headers.emplace_back("Accept", "application/json");
  if (body != nullptr) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = body->dump();
  }
  for (int waits = 0;; ++waits) {
    Duration left = deadline - o_.clock->Now();
    if (left <= Duration::zero()) {
      return Error{ErrorCode::kTimeout, prefix + ": step deadline passed", true};
    }
    req.timeout = std::min(left, kMaxRequestTimeout);
    auto resp = o_.http->Send(req);
    if (!resp) {
      Error e = resp.error();
      e.message = prefix + ": " + Scrub(e.message, *token);
      return e;
    }
    if (resp->status >= 200 && resp->status < 300) {
      if (resp->body.empty()) return nlohmann::json();
      auto doc = nlohmann::json::parse(resp->body, nullptr, false);
      if (doc.is_discarded()) {
        return Error::Invalid(prefix + ": HTTP " + std::to_string(resp->status) + " from " +
                              o_.base_url + " with a body that is not JSON");
      }
      return doc;
    }
    if (resp->status == 429) {
      long long after = RetryAfterSeconds(*resp);
      MonoTime until = o_.clock->Now() + std::chrono::seconds(std::max(after, 0LL));
      if (after >= 0 && until < deadline && waits < kMaxRateLimitWaits) {
        o_.clock->SleepUntil(until);
        continue;
      }
      Error e = StatusError(*resp, what, *token);
      if (after >= 0) {
        e.message += " (Retry-After " + std::to_string(after) + "s" +
                     (until >= deadline ? " reaches past the step's deadline)" : ")");
      }
      return e;
    }
    return StatusError(*resp, what, *token);
  }
}

Result<std::vector<ApiRecord>> RestApi::ReadPages(const std::string& what, const PageFn& page_fn) {
  constexpr int kMaxPages = 1000;
  std::vector<ApiRecord> out;
  for (int page = 1;; ++page) {
    if (page > kMaxPages) {
      return Error::Invalid(o_.provider + ": " + what + ": more than " + std::to_string(kMaxPages) +
                            " pages of records");
    }
    Result<bool> more = false;
    try {
      more = page_fn(page, out);
    } catch (const nlohmann::json::exception& e) {
      return Error::Invalid(o_.provider + ": " + what + ": unexpected answer from " + o_.base_url +
                            ": " + e.what());
    }
    if (!more) return more.error();
    if (!*more) return out;
  }
}

Status RestApi::Apply(const std::vector<RecordChange>& plan, const std::string& records_path,
                      const std::string& update_method, const BodyFn& create_body,
                      const BodyFn& update_body, MonoTime deadline, const std::string& what) {
  for (const RecordChange& c : plan) {
    Result<nlohmann::json> r = nlohmann::json();
    if (c.kind == RecordChange::kCreate) {
      nlohmann::json body = create_body(c);
      r = Call("POST", records_path, &body, deadline, what);
    } else if (c.kind == RecordChange::kUpdate) {
      nlohmann::json body = update_body(c);
      r = Call(update_method, records_path + "/" + UrlEncode(c.existing->id), &body, deadline,
               what);
    } else {
      r = Call("DELETE", records_path + "/" + UrlEncode(c.existing->id), nullptr, deadline, what);
    }
    if (!r) return r.error();
  }
  return {};
}

Error RestApi::StatusError(const HttpResponse& resp, const std::string& what,
                           const std::string& token) const {
  std::string text;
  auto doc = nlohmann::json::parse(resp.body, nullptr, false);
  if (!doc.is_discarded() && o_.error_text) text = o_.error_text(doc);
  if (text.empty()) {
    text = resp.body.substr(0, 200);
    std::replace(text.begin(), text.end(), '\n', ' ');
  }
  text = Scrub(text, token);
  std::string msg = o_.provider + ": " + what + ": HTTP " + std::to_string(resp.status) + " from " +
                    o_.base_url + ": ";
  Error e;
  if (resp.status == 401 || resp.status == 403) {
    e.code = ErrorCode::kPermissionDenied;
    e.message =
        msg + "authentication failed (check the API token, " + o_.token.Describe() + "): " + text;
  } else if (resp.status == 429 || o_.retryable(resp)) {
    e.code = ErrorCode::kUnavailable;
    e.retryable = true;
    e.message = msg + text;
  } else {
    e.code = resp.status == 404 ? ErrorCode::kNotFound : ErrorCode::kInvalidArgument;
    e.message = msg + text;
  }
  return e;
}

Result<std::optional<std::string>> ParseApiUrl(const YamlNode& body, std::string_view key,
                                               std::string_view api_suffix) {
  auto f = GetField<std::string>(body, key);
  if (!f) return f.error();
  if (!*f) return std::optional<std::string>();
  const YamlNode& u = (*f)->node;
  std::string url = (*f)->value;
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return u.Fail("expected an http:// or https:// URL, found \"" + url + "\"");
  }
  if (url.find_first_of("?#") != std::string::npos) {
    return u.Fail("the base URL takes no query or fragment");
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (!api_suffix.empty() && url.ends_with(api_suffix)) url.resize(url.size() - api_suffix.size());
  return std::optional<std::string>(std::move(url));
}

Result<RestApiSpec> ParseRestApiSpec(const YamlNode& body, const std::string& product,
                                     const std::string& default_url, const std::string& token_key) {
  RestApiSpec spec;
  auto url = ParseApiUrl(body, "url");
  if (!url) return url.error();
  spec.base_url = url->value_or(default_url);
  auto token = SecretRef::FromYaml(body, token_key);
  if (!token) return token.error();
  if (!*token) {
    return body.Fail("the " + product + " API needs " + token_key + ", " + token_key + "_file or " +
                     token_key + "_env");
  }
  spec.token = **token;
  return spec;
}

Result<RestApiOptions> MakeRestApiOptions(const RestApiSpec& spec, const std::string& provider,
                                          const DnsProviderContext& ctx) {
  if (ctx.http == nullptr)
    return Error::Internal(provider + " provider built without an HTTP client");
  RestApiOptions o;
  o.provider = provider;
  o.base_url = spec.base_url;
  o.token = spec.token;
  o.http = ctx.http;
  o.clock = ctx.clock != nullptr ? ctx.clock : &SystemClock::Get();
  return o;
}

Result<RestApiOptions> ParseRestApiOptions(const YamlNode& body, const std::string& provider,
                                           const std::string& product,
                                           const std::string& default_url,
                                           const std::string& token_key,
                                           const DnsProviderContext& ctx) {
  auto spec = ParseRestApiSpec(body, product, default_url, token_key);
  if (!spec) return spec.error();
  return MakeRestApiOptions(*spec, provider, ctx);
}

Result<std::string> RelativeName(const std::string& name, const std::string& zone) {
  if (name == zone) return std::string();
  if (name.size() > zone.size() + 1 &&
      name.compare(name.size() - zone.size(), zone.size(), zone) == 0 &&
      name[name.size() - zone.size() - 1] == '.') {
    return name.substr(0, name.size() - zone.size() - 1);
  }
  return Error::Invalid("name " + name + " is not in zone " + zone);
}

std::string ApiContent(const std::string& type, const std::string& content, bool keep_dot,
                       bool quoted_txt) {
  if (type == "CNAME") {
    std::string fq = Fqdn(content);
    return keep_dot ? fq : fq.substr(0, fq.size() - 1);
  }
  if (type == "TXT" && !quoted_txt) {
    auto c = CanonicalDnsRecord(type, content);
    return c ? UnquoteTxt(*c) : content;
  }
  return content;
}

bool SameContent(const std::string& type, const std::string& a, const std::string& b) {
  auto ca = CanonicalDnsRecord(type, a);
  auto cb = CanonicalDnsRecord(type, b);
  return (ca ? *ca : a) == (cb ? *cb : b);
}

Result<std::optional<DnsRecordSet>> RecordListProvider::Get(const std::string& zone,
                                                            const std::string& name,
                                                            const std::string& type,
                                                            MonoTime deadline) {
  auto records = List(zone, name, type, deadline);
  if (!records) return records.error();
  return ToRecordSet(name, type, *records);
}

std::optional<DnsRecordSet> ToRecordSet(const std::string& name, const std::string& type,
                                        const std::vector<ApiRecord>& records) {
  if (records.empty()) return std::nullopt;
  DnsRecordSet set;
  set.name = name;
  set.type = type;
  for (const ApiRecord& r : records) {
    set.records.push_back(r.content);
    set.ttl = std::max(set.ttl, r.ttl);
  }
  std::sort(set.records.begin(), set.records.end());
  return set;
}

std::vector<RecordChange> PlanRecordSet(const std::string& type,
                                        const std::vector<ApiRecord>& existing,
                                        const std::vector<std::string>& desired, int ttl,
                                        const std::function<bool(const ApiRecord&)>& stale) {
  std::vector<RecordChange> plan;
  std::vector<bool> used(existing.size(), false);
  std::vector<std::string> missing;
  for (const std::string& want : desired) {
    bool found = false;
    for (size_t i = 0; i < existing.size() && !found; ++i) {
      if (used[i] || !SameContent(type, existing[i].content, want)) continue;
      used[i] = found = true;
      bool ttl_changes = existing[i].ttl != ttl;
      if (ttl_changes || (stale && stale(existing[i]))) {
        plan.push_back({RecordChange::kUpdate, &existing[i], want, false, ttl_changes});
      }
    }
    if (!found) missing.push_back(want);
  }
  std::vector<RecordChange> deletes;
  size_t next = 0;
  for (size_t i = 0; i < existing.size(); ++i) {
    if (used[i]) continue;
    if (next < missing.size()) {
      plan.push_back(
          {RecordChange::kUpdate, &existing[i], missing[next++], true, existing[i].ttl != ttl});
    } else {
      deletes.push_back({RecordChange::kDelete, &existing[i], "", false, false});
    }
  }
  for (; next < missing.size(); ++next) {
    plan.push_back({RecordChange::kCreate, nullptr, missing[next], false, false});
  }
  plan.insert(plan.end(), deletes.begin(), deletes.end());
  return plan;
}

void UseLinodeErrors(RestApiOptions& o) {
  o.error_text = &LinodeErrorText;
  o.retryable = [](const HttpResponse& r) {
    return r.status >= 500 && !(r.status == 503 && !r.Header("x-maintenance-mode").empty());
  };
}

void UseDigitalOceanErrors(RestApiOptions& o) { o.error_text = &DigitalOceanErrorText; }

}  // namespace failover
