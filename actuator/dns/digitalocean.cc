#include "actuator/dns/digitalocean.h"

#include "actuator/dns/rest_api.h"
#include "common/config_fields.h"

namespace failover {
namespace {

constexpr int kPerPage = 200;

// What a digitalocean: provider block says.
struct DigitalOceanSpec {
  RestApiSpec api;     // url:, token(_file/_env):
  std::string domain;  // lower case, without the trailing dot: example.com
};

Result<DigitalOceanSpec> ParseDigitalOceanSpec(const YamlNode& body) {
  DigitalOceanSpec spec;
  auto api = ParseRestApiSpec(body, "DigitalOcean", "https://api.digitalocean.com", "token");
  if (!api) return api.error();
  spec.api = std::move(*api);
  auto domain = RequireField<std::string>(body, "domain");
  if (!domain) return domain.error();
  std::string d = Fqdn(domain->value);
  d.pop_back();
  if (d.empty() || d.find_first_of(" \t/?#") != std::string::npos ||
      d.find("..") != std::string::npos) {
    return domain->node.Fail("expected a domain name such as example.com, found \"" +
                             domain->value + "\"");
  }
  spec.domain = std::move(d);
  return spec;
}

class DigitalOceanProvider final : public RecordListProvider {
 public:
  DigitalOceanProvider(RestApiOptions options, DigitalOceanSpec spec)
      : api_(std::move(options)), spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "digitalocean";
    return k;
  }

  Status Set(const std::string& zone, const DnsRecordSet& desired, MonoTime deadline) override {
    const std::string what = "updating " + desired.name + " " + desired.type + " in zone " + zone;
    auto existing = List(zone, desired.name, desired.type, deadline);
    if (!existing) return existing.error();
    auto rel = RelativeName(desired.name, zone);
    if (!rel) return Error::Invalid("digitalocean: " + what + ": " + rel.error().message);
    // CNAME data is the fully qualified name with its trailing dot here.
    auto data = [&](const RecordChange& c) {
      return ApiContent(desired.type, c.content, true, false);
    };
    auto create = [&](const RecordChange& c) {
      return nlohmann::json{{"type", desired.type},
                            {"name", rel->empty() ? std::string("@") : *rel},
                            {"data", data(c)},
                            {"ttl", desired.ttl}};
    };
    auto update = [&](const RecordChange& c) {
      nlohmann::json body = nlohmann::json::object();
      if (c.content_changes) body["data"] = data(c);
      if (c.ttl_changes) body["ttl"] = desired.ttl;
      return body;
    };
    return api_.Apply(PlanRecordSet(desired.type, *existing, desired.records, desired.ttl),
                      RecordsPath(), "PATCH", create, update, deadline, what);
  }

 private:
  std::string RecordsPath() const { return "/v2/domains/" + UrlEncode(spec_.domain) + "/records"; }

  Result<std::vector<ApiRecord>> List(const std::string& zone, const std::string& name,
                                      const std::string& type, MonoTime deadline) override {
    const std::string what = "reading " + name + " " + type + " in zone " + zone;
    if (zone != Fqdn(spec_.domain)) {
      return Error::Invalid("digitalocean: " + what + ": the provider manages domain " +
                            spec_.domain + ", not zone " + zone);
    }
    auto rel = RelativeName(name, zone);
    if (!rel) return Error::Invalid("digitalocean: " + what + ": " + rel.error().message);
    const std::string want = rel->empty() ? "@" : *rel;
    // The first page is asked for by type and fully qualified name; later ones are
    // wherever links.pages.next points (below the configured URL only).
    std::string next = RecordsPath() + "?type=" + UrlEncode(type) +
                       "&name=" + UrlEncode(name.substr(0, name.size() - 1)) +
                       "&per_page=" + std::to_string(kPerPage);
    return api_.ReadPages(what, [&](int, std::vector<ApiRecord>& out) -> Result<bool> {
      auto doc = api_.Call("GET", next, nullptr, deadline, what);
      if (!doc) return doc.error();
      for (const auto& rec : doc->at("domain_records")) {
        if (rec.at("name").get<std::string>() != want ||
            rec.at("type").get<std::string>() != type) {
          continue;
        }
        out.push_back({std::to_string(rec.at("id").get<long long>()),
                       rec.at("data").get<std::string>(), rec.at("ttl").get<int>(), rec});
      }
      next.clear();
      const auto& links = doc->value("links", nlohmann::json::object());
      if (links.contains("pages") && links["pages"].contains("next")) {
        next = links["pages"]["next"].get<std::string>();
      }
      return !next.empty();
    });
  }

  RestApi api_;
  DigitalOceanSpec spec_;
};

}  // namespace

Result<std::shared_ptr<DnsProvider>> NewDigitalOceanProvider(const YamlNode& body,
                                                             const DnsProviderContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseDigitalOceanSpec(body);
  if (!spec) return spec.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  auto o = MakeRestApiOptions(spec->api, "digitalocean", ctx);
  if (!o) return o.error();
  UseDigitalOceanErrors(*o);
  return std::shared_ptr<DnsProvider>(
      std::make_shared<DigitalOceanProvider>(std::move(*o), std::move(*spec)));
}

}  // namespace failover
