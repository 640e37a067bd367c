#include "actuator/dns/cloudflare.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "actuator/dns/rest_api.h"
#include "common/config_fields.h"

namespace failover {
namespace {

constexpr int kPerPage = 100;

// Cloudflare's envelope: {"success":false,"errors":[{"code":10000,"message":"..."}]}.
std::string CloudflareErrorText(const nlohmann::json& doc) {
  std::string out;
  if (!doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array()) return out;
  for (const auto& e : doc["errors"]) {
    if (!e.is_object() || !e.contains("message") || !e["message"].is_string()) continue;
    if (!out.empty()) out += "; ";
    out += e["message"].get<std::string>();
    if (e.contains("code") && e["code"].is_number_integer()) {
      out += " (code " + std::to_string(e["code"].get<long long>()) + ")";
    }
  }
  return out;
}

bool Proxied(const ApiRecord& r) {
  auto it = r.raw.find("proxied");
  return it != r.raw.end() && it->is_boolean() && it->get<bool>();
}

// What a cloudflare: provider block says.
struct CloudflareSpec {
  RestApiSpec api;      // url:, api_token(_file/_env):
  std::string zone_id;  // 32 hex characters
  // proxied: of every record written; unset keeps each record's own (a new one inherits).
  std::optional<bool> proxied;
};

Result<CloudflareSpec> ParseCloudflareSpec(const YamlNode& body) {
  CloudflareSpec spec;
  auto api =
      ParseRestApiSpec(body, "Cloudflare", "https://api.cloudflare.com/client/v4", "api_token");
  if (!api) return api.error();
  spec.api = std::move(*api);
  auto zone = RequireField<std::string>(body, "zone_id");
  if (!zone) return zone.error();
  spec.zone_id = zone->value;
  if (spec.zone_id.size() != 32 ||
      !std::all_of(spec.zone_id.begin(), spec.zone_id.end(),
                   [](unsigned char c) { return std::isxdigit(c) != 0; })) {
    return zone->node.Fail("expected Cloudflare's 32-character hex zone id, found \"" +
                           spec.zone_id + "\"");
  }
  auto proxied = GetField<bool>(body, "proxied");
  if (!proxied) return proxied.error();
  if (*proxied) spec.proxied = (*proxied)->value;
  return spec;
}

class CloudflareProvider final : public RecordListProvider {
 public:
  CloudflareProvider(RestApiOptions options, CloudflareSpec spec)
      : api_(std::move(options)), spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "cloudflare";
    return k;
  }

  Status Set(const std::string& zone, const DnsRecordSet& desired, MonoTime deadline) override {
    const std::string what = "updating " + desired.name + " " + desired.type + " in zone " + zone;
    auto existing = List(zone, desired.name, desired.type, deadline);
    if (!existing) return existing.error();
    auto stale = [this](const ApiRecord& r) {
      return spec_.proxied && Proxied(r) != *spec_.proxied;
    };
    // A new record of a proxied set is proxied too, unless `proxied:` says otherwise.
    std::optional<bool> inherit = spec_.proxied;
    if (!inherit && !existing->empty()) inherit = Proxied(existing->front());
    auto content = [&](const RecordChange& c) {
      return ApiContent(desired.type, c.content, false, true);
    };
    auto create = [&](const RecordChange& c) {
      nlohmann::json body = {{"type", desired.type},
                             {"name", Bare(desired.name)},
                             {"content", content(c)},
                             {"ttl", desired.ttl}};
      if (inherit) body["proxied"] = *inherit;
      return body;
    };
    auto update = [&](const RecordChange& c) {
      nlohmann::json body = nlohmann::json::object();
      if (c.content_changes) body["content"] = content(c);
      if (c.ttl_changes) body["ttl"] = desired.ttl;
      if (stale(*c.existing)) body["proxied"] = *spec_.proxied;
      return body;
    };
    return api_.Apply(PlanRecordSet(desired.type, *existing, desired.records, desired.ttl, stale),
                      RecordsPath(), "PATCH", create, update, deadline, what);
  }

 private:
  static std::string Bare(const std::string& fqdn) {
    return fqdn.empty() || fqdn.back() != '.' ? fqdn : fqdn.substr(0, fqdn.size() - 1);
  }
  std::string RecordsPath() const { return "/zones/" + UrlEncode(spec_.zone_id) + "/dns_records"; }

  // Every record of the name and type, all pages.
  Result<std::vector<ApiRecord>> List(const std::string& zone, const std::string& name,
                                      const std::string& type, MonoTime deadline) override {
    const std::string what = "reading " + name + " " + type + " in zone " + zone;
    const std::string query = RecordsPath() + "?type=" + UrlEncode(type) +
                              "&name=" + UrlEncode(Bare(name)) +
                              "&per_page=" + std::to_string(kPerPage) + "&page=";
    return api_.ReadPages(what, [&](int page, std::vector<ApiRecord>& out) -> Result<bool> {
      auto doc = api_.Call("GET", query + std::to_string(page), nullptr, deadline, what);
      if (!doc) return doc.error();
      for (const auto& rec : doc->at("result")) {
        // The name filter is exact, but compare anyway: a wrong record must not be touched.
        if (Fqdn(rec.at("name").get<std::string>()) != name ||
            rec.at("type").get<std::string>() != type) {
          continue;
        }
        out.push_back({rec.at("id").get<std::string>(), rec.at("content").get<std::string>(),
                       rec.at("ttl").get<int>(), rec});
      }
      return page < doc->at("result_info").at("total_pages").get<int>();
    });
  }

  RestApi api_;
  CloudflareSpec spec_;
};

}  // namespace

Result<std::shared_ptr<DnsProvider>> NewCloudflareProvider(const YamlNode& body,
                                                           const DnsProviderContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseCloudflareSpec(body);
  if (!spec) return spec.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  auto o = MakeRestApiOptions(spec->api, "cloudflare", ctx);
  if (!o) return o.error();
  UseCloudflareErrors(*o);
  return std::shared_ptr<DnsProvider>(
      std::make_shared<CloudflareProvider>(std::move(*o), std::move(*spec)));
}

void UseCloudflareErrors(RestApiOptions& o) {
  o.error_text = &CloudflareErrorText;
  // Cloudflare asks to retry 408 and 409 as well.
  o.retryable = [](const HttpResponse& r) {
    return r.status == 408 || r.status == 409 || r.status >= 500;
  };
}

}  // namespace failover
