#include "actuator/dns/digitalocean.h"

#include "actuator/dns/rest_api.h"

namespace failover {
namespace {

constexpr int kPerPage = 200;
constexpr int kMaxPages = 1000;

// DigitalOcean's envelope: {"id":"not_found","message":"...","request_id":"..."}.
std::string DigitalOceanErrorText(const nlohmann::json& doc) {
  if (!doc.is_object() || !doc.contains("message") || !doc["message"].is_string()) return "";
  std::string out = doc["message"].get<std::string>();
  if (doc.contains("id") && doc["id"].is_string()) out += " (" + doc["id"].get<std::string>() + ")";
  return out;
}

class DigitalOceanProvider final : public DnsProvider {
 public:
  DigitalOceanProvider(RestApiOptions options, std::string domain)
      : api_(std::move(options)), domain_(std::move(domain)) {}

  const std::string& kind() const override {
    static const std::string k = "digitalocean";
    return k;
  }

  Result<std::optional<DnsRecordSet>> Get(const std::string& zone, const std::string& name,
                                          const std::string& type, MonoTime deadline) override {
    auto records = List(zone, name, type, deadline);
    if (!records) return records.error();
    return ToRecordSet(name, type, *records);
  }

  Status Set(const std::string& zone, const DnsRecordSet& desired, MonoTime deadline) override {
    const std::string what = "updating " + desired.name + " " + desired.type + " in zone " + zone;
    auto existing = List(zone, desired.name, desired.type, deadline);
    if (!existing) return existing.error();
    auto rel = RelativeName(desired.name, zone);
    if (!rel) return Error::Invalid("digitalocean: " + what + ": " + rel.error().message);
    for (const RecordChange& c :
         PlanRecordSet(desired.type, *existing, desired.records, desired.ttl)) {
      // CNAME data is the fully qualified name with its trailing dot here.
      const std::string data = ApiContent(desired.type, c.content, true, false);
      Result<nlohmann::json> r = nlohmann::json();
      if (c.kind == RecordChange::kCreate) {
        nlohmann::json body = {{"type", desired.type},
                               {"name", rel->empty() ? std::string("@") : *rel},
                               {"data", data},
                               {"ttl", desired.ttl}};
        r = api_.Call("POST", RecordsPath(), &body, deadline, what);
      } else if (c.kind == RecordChange::kUpdate) {
        nlohmann::json body = nlohmann::json::object();
        if (c.content_changes) body["data"] = data;
        if (c.ttl_changes) body["ttl"] = desired.ttl;
        r = api_.Call("PATCH", RecordsPath() + "/" + c.existing->id, &body, deadline, what);
      } else {
        r = api_.Call("DELETE", RecordsPath() + "/" + c.existing->id, nullptr, deadline, what);
      }
      if (!r) return r.error();
    }
    return {};
  }

 private:
  std::string RecordsPath() const { return "/v2/domains/" + UrlEncode(domain_) + "/records"; }

  Result<std::vector<ApiRecord>> List(const std::string& zone, const std::string& name,
                                      const std::string& type, MonoTime deadline) {
    const std::string what = "reading " + name + " " + type + " in zone " + zone;
    if (zone != Fqdn(domain_)) {
      return Error::Invalid("digitalocean: " + what + ": the provider manages domain " + domain_ +
                            ", not zone " + zone);
    }
    auto rel = RelativeName(name, zone);
    if (!rel) return Error::Invalid("digitalocean: " + what + ": " + rel.error().message);
    const std::string want = rel->empty() ? "@" : *rel;
    std::vector<ApiRecord> out;
    // The first page is asked for by type and fully qualified name; later ones are
    // wherever links.pages.next points (below the configured URL only).
    std::string next = RecordsPath() + "?type=" + UrlEncode(type) +
                       "&name=" + UrlEncode(name.substr(0, name.size() - 1)) +
                       "&per_page=" + std::to_string(kPerPage);
    for (int page = 1; !next.empty(); ++page) {
      if (page > kMaxPages) {
        return Error::Invalid("digitalocean: " + what + ": more than " + std::to_string(kMaxPages) +
                              " pages of records");
      }
      auto doc = api_.Call("GET", next, nullptr, deadline, what);
      if (!doc) return doc.error();
      next.clear();
      try {
        for (const auto& rec : doc->at("domain_records")) {
          if (rec.at("name").get<std::string>() != want ||
              rec.at("type").get<std::string>() != type) {
            continue;
          }
          out.push_back({std::to_string(rec.at("id").get<long long>()),
                         rec.at("data").get<std::string>(), rec.at("ttl").get<int>(), rec});
        }
        const auto& links = doc->value("links", nlohmann::json::object());
        if (links.contains("pages") && links["pages"].is_object() &&
            links["pages"].contains("next")) {
          next = links["pages"]["next"].get<std::string>();
        }
      } catch (const nlohmann::json::exception& e) {
        return Error::Invalid("digitalocean: " + what + ": unexpected response from " +
                              api_.base_url() + ": " + e.what());
      }
    }
    return out;
  }

  RestApi api_;
  std::string domain_;
};

}  // namespace

Result<std::shared_ptr<DnsProvider>> NewDigitalOceanProvider(const YamlNode& body,
                                                             const DnsProviderContext& ctx) {
  if (auto s = body.ExpectKeys({"url", "token", "token_file", "token_env", "domain"}); !s) {
    return s.error();
  }
  auto url = ParseBaseUrl(body, "https://api.digitalocean.com");
  if (!url) return url.error();
  auto token = SecretRef::FromYaml(body, "token");
  if (!token) return token.error();
  if (!*token) return body.Fail("the DigitalOcean API needs token, token_file or token_env");
  auto domain_node = body.Require("domain");
  if (!domain_node) return domain_node.error();
  auto domain = domain_node->AsString();
  if (!domain) return domain.error();
  std::string d = Fqdn(*domain);
  d.pop_back();
  if (d.empty() || d.find_first_of(" \t/?#") != std::string::npos ||
      d.find("..") != std::string::npos) {
    return domain_node->Fail("expected a domain name such as example.com, found \"" + *domain +
                             "\"");
  }
  if (ctx.http == nullptr) {
    return Error::Internal("digitalocean provider built without an HTTP client");
  }
  RestApiOptions o;
  o.provider = "digitalocean";
  o.base_url = *url;
  o.token = **token;
  o.http = ctx.http;
  o.clock = ctx.clock;
  o.error_text = &DigitalOceanErrorText;
  return std::shared_ptr<DnsProvider>(
      std::make_shared<DigitalOceanProvider>(std::move(o), std::move(d)));
}

}  // namespace failover
