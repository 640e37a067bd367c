#include "actuator/dns/powerdns.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "actuator/dns/rest_api.h"
#include "common/config_fields.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/secret.h"

namespace failover {
namespace {

constexpr Duration kMaxRequestTimeout = std::chrono::seconds(30);

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

// What a powerdns: provider block says.
struct PowerDnsSpec {
  std::string url = "http://127.0.0.1:8081";  // the server's root: no trailing / or /api/v1
  std::string server_id = "localhost";
  SecretRef api_key = SecretRef::Inline("");  // api_key(_file/_env): (one is required)
};

Result<PowerDnsSpec> ParsePowerDnsSpec(const YamlNode& body) {
  PowerDnsSpec spec;
  // Accept the API root as well as the server's root.
  auto url = ParseApiUrl(body, "url", "/api/v1");
  if (!url) return url.error();
  if (*url) spec.url = **url;
  auto key = SecretRef::FromYaml(body, "api_key");
  if (!key) return key.error();
  if (!*key) return body.Fail("the PowerDNS API needs api_key, api_key_file or api_key_env");
  spec.api_key = **key;
  auto sid = GetField<std::string>(body, "server_id");
  if (!sid) return sid.error();
  if (*sid) {
    if ((*sid)->value.empty()) return (*sid)->node.Fail("must not be empty");
    spec.server_id = (*sid)->value;
  }
  return spec;
}

class PowerDnsProvider final : public DnsProvider {
 public:
  PowerDnsProvider(PowerDnsSpec spec, HttpClient* http, Clock* clock)
      : spec_(std::move(spec)), http_(http), clock_(clock) {}

  const std::string& kind() const override {
    static const std::string k = "powerdns";
    return k;
  }

  Result<std::optional<DnsRecordSet>> Get(const std::string& zone, const std::string& name,
                                          const std::string& type, MonoTime deadline) override {
    const std::string what = "reading " + name + " " + type + " in zone " + zone;
    auto resp = Send(
        "GET", ZoneUrl(zone) + "?rrset_name=" + UrlEncode(name) + "&rrset_type=" + UrlEncode(type),
        "", deadline, what);
    if (!resp) return resp.error();
    if (resp->status != 200) return StatusError(*resp, what, zone);
    try {
      auto doc = nlohmann::json::parse(resp->body);
      const auto& rrsets = doc.at("rrsets");
      for (const auto& rr : rrsets) {
        if (Lower(rr.at("name").get<std::string>()) != Lower(name) ||
            rr.at("type").get<std::string>() != type) {
          continue;
        }
        DnsRecordSet set;
        set.name = name;
        set.type = type;
        set.ttl = rr.at("ttl").get<int>();
        for (const auto& rec : rr.at("records")) {
          // A disabled record is not served: it is not part of the record set.
          if (rec.value("disabled", false)) continue;
          set.records.push_back(rec.at("content").get<std::string>());
        }
        if (set.records.empty()) return std::optional<DnsRecordSet>();
        std::sort(set.records.begin(), set.records.end());
        return std::optional<DnsRecordSet>(std::move(set));
      }
      return std::optional<DnsRecordSet>();
    } catch (const nlohmann::json::exception& e) {
      return Error::Invalid("powerdns: " + what + ": unexpected response from " + spec_.url + ": " +
                            e.what());
    }
  }

  Status Set(const std::string& zone, const DnsRecordSet& desired, MonoTime deadline) override {
    const std::string what = "updating " + desired.name + " " + desired.type + " in zone " + zone;
    nlohmann::json rrset = {{"name", desired.name}, {"type", desired.type}};
    if (desired.records.empty()) {
      rrset["changetype"] = "DELETE";
    } else {
      rrset["changetype"] = "REPLACE";
      rrset["ttl"] = desired.ttl;
      nlohmann::json records = nlohmann::json::array();
      for (const std::string& r : desired.records) {
        records.push_back({{"content", r}, {"disabled", false}});
      }
      rrset["records"] = std::move(records);
    }
    nlohmann::json body = {{"rrsets", nlohmann::json::array({rrset})}};
    auto resp = Send("PATCH", ZoneUrl(zone), body.dump(), deadline, what);
    if (!resp) return resp.error();
    if (resp->status == 204 || resp->status == 200) return {};
    return StatusError(*resp, what, zone);
  }

 private:
  std::string ZoneUrl(const std::string& zone) const {
    return spec_.url + "/api/v1/servers/" + UrlEncode(spec_.server_id) + "/zones/" +
           PowerDnsZoneId(zone);
  }

  Result<HttpResponse> Send(const std::string& method, const std::string& url, std::string body,
                            MonoTime deadline, const std::string& what) {
    Duration left = deadline - clock_->Now();
    if (left <= Duration::zero()) {
      return Error{ErrorCode::kTimeout, "powerdns: " + what + ": step deadline passed", true};
    }
    auto key = spec_.api_key.Resolve();
    if (!key) return Error::Invalid("powerdns: " + what + ": API key: " + key.error().message);
    HttpRequest req;
    req.method = method;
    req.url = url;
    req.headers = {{"X-API-Key", *key}, {"Accept", "application/json"}};
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    req.body = std::move(body);
    req.timeout = std::min(left, kMaxRequestTimeout);
    auto resp = http_->Send(req);
    if (!resp) {
      Error e = resp.error();
      e.message = "powerdns: " + what + ": " + e.message;
      return e;
    }
    return resp;
  }

  // PowerDNS answers errors as {"error": "..."} when asked for JSON.
  static std::string ErrorText(const HttpResponse& resp) {
    try {
      auto doc = nlohmann::json::parse(resp.body);
      if (doc.is_object() && doc.contains("error") && doc["error"].is_string()) {
        return doc["error"].get<std::string>();
      }
    } catch (const nlohmann::json::exception&) {
    }
    std::string text = resp.body.substr(0, 200);
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text;
  }

  Error StatusError(const HttpResponse& resp, const std::string& what,
                    const std::string& zone) const {
    const std::string prefix =
        "powerdns: " + what + ": HTTP " + std::to_string(resp.status) + " from " + spec_.url;
    Error e;
    e.retryable = false;
    if (resp.status == 401 || resp.status == 403) {
      // Never echo the key; the body ("Unauthorized") adds nothing either.
      e.code = ErrorCode::kPermissionDenied;
      e.message = prefix + ": authentication failed (check the API key in the provider's " +
                  "configuration, " + spec_.api_key.Describe() + ")";
    } else if (resp.status == 404) {
      e.code = ErrorCode::kNotFound;
      e.message = prefix + ": zone " + zone + " not found on server \"" + spec_.server_id + "\"";
    } else if (resp.status == 429 || resp.status >= 500) {
      e.code = ErrorCode::kUnavailable;
      e.retryable = true;
      e.message = prefix + ": " + ErrorText(resp);
    } else {
      e.code = ErrorCode::kInvalidArgument;
      e.message = prefix + ": " + ErrorText(resp);
    }
    return e;
  }

  PowerDnsSpec spec_;
  HttpClient* http_;
  Clock* clock_;
};

}  // namespace

std::string PowerDnsZoneId(const std::string& zone) {
  std::string id;
  for (unsigned char c : zone) {
    if (std::isalnum(c) != 0 || c == '.' || c == '-') {
      id += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "=%02X", static_cast<unsigned>(c));
      id += buf;
    }
  }
  if (id == ".") id = "=2E";
  return id;
}

Result<std::shared_ptr<DnsProvider>> NewPowerDnsProvider(const YamlNode& body,
                                                         const DnsProviderContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParsePowerDnsSpec(body);
  if (!spec) return spec.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  if (ctx.http == nullptr) return Error::Internal("powerdns provider built without an HTTP client");
  Clock* clock = ctx.clock != nullptr ? ctx.clock : &SystemClock::Get();
  return std::shared_ptr<DnsProvider>(
      std::make_shared<PowerDnsProvider>(std::move(*spec), ctx.http, clock));
}

}  // namespace failover
