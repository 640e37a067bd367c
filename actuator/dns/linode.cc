#include "actuator/dns/linode.h"

#include <map>
#include <mutex>

#include "actuator/dns/rest_api.h"
#include "common/config_fields.h"
#include "common/log.h"

namespace failover {
namespace {

constexpr int kPageSize = 500;
constexpr int kAllowedTtls[] = {30,    120,   300,    3600,   7200,   14400,   28800,
                                57600, 86400, 172800, 345600, 604800, 1209600, 2419200};

// What a linode: provider block says.
struct LinodeSpec {
  RestApiSpec api;  // url:, token(_file/_env):
  long long domain_id = 0;
};

Result<LinodeSpec> ParseLinodeSpec(const YamlNode& body) {
  LinodeSpec spec;
  auto api = ParseRestApiSpec(body, "Linode", "https://api.linode.com/v4", "token");
  if (!api) return api.error();
  spec.api = std::move(*api);
  auto id = RequireField<long long>(body, "domain_id");
  if (!id) return id.error();
  if (id->value <= 0)
    return id->node.Fail("expected Linode's numeric domain id (a positive number)");
  spec.domain_id = id->value;
  return spec;
}

class LinodeProvider final : public RecordListProvider {
 public:
  LinodeProvider(RestApiOptions options, LinodeSpec spec)
      : api_(std::move(options)), spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "linode";
    return k;
  }

  Result<std::optional<DnsRecordSet>> Get(const std::string& zone, const std::string& name,
                                          const std::string& type, MonoTime deadline) override {
    auto got = RecordListProvider::Get(zone, name, type, deadline);
    if (!got) return got;
    std::optional<DnsRecordSet> set = *got;
    if (set) {
      // A TTL this provider rounded up reads back as the TTL that was asked for, so the
      // step sees its desired state and does not write again.
      std::lock_guard<std::mutex> l(mu_);
      auto it = requested_ttl_.find(name + " " + type);
      if (it != requested_ttl_.end() && LinodeTtl(it->second) == set->ttl) set->ttl = it->second;
    }
    return set;
  }

  Status Set(const std::string& zone, const DnsRecordSet& desired, MonoTime deadline) override {
    const std::string what = "updating " + desired.name + " " + desired.type + " in zone " + zone;
    auto rel = RelativeName(desired.name, zone);
    if (!rel) return Error::Invalid("linode: " + what + ": " + rel.error().message);
    const int ttl = LinodeTtl(desired.ttl);
    if (ttl != desired.ttl) {
      log::Warn(
          "linode does not take this ttl; rounded up to the next value it allows",
          {{"name", desired.name}, {"type", desired.type}, {"ttl", desired.ttl}, {"ttl_sec", ttl}});
    }
    auto existing = List(zone, desired.name, desired.type, deadline);
    if (!existing) return existing.error();
    auto target = [&](const RecordChange& c) {
      return ApiContent(desired.type, c.content, false, false);
    };
    auto create = [&](const RecordChange& c) {
      return nlohmann::json{
          {"type", desired.type}, {"name", *rel}, {"target", target(c)}, {"ttl_sec", ttl}};
    };
    auto update = [&](const RecordChange& c) {
      nlohmann::json body = nlohmann::json::object();
      if (c.content_changes) body["target"] = target(c);
      if (c.ttl_changes) body["ttl_sec"] = ttl;
      return body;
    };
    if (auto s = api_.Apply(PlanRecordSet(desired.type, *existing, desired.records, ttl),
                            RecordsPath(), "PUT", create, update, deadline, what);
        !s) {
      return s;
    }
    std::lock_guard<std::mutex> l(mu_);
    if (ttl != desired.ttl) {
      requested_ttl_[desired.name + " " + desired.type] = desired.ttl;
    } else {
      requested_ttl_.erase(desired.name + " " + desired.type);
    }
    return {};
  }

 private:
  std::string RecordsPath() const {
    return "/domains/" + std::to_string(spec_.domain_id) + "/records";
  }

  Result<std::vector<ApiRecord>> List(const std::string& zone, const std::string& name,
                                      const std::string& type, MonoTime deadline) override {
    const std::string what = "reading " + name + " " + type + " in zone " + zone;
    auto rel = RelativeName(name, zone);
    if (!rel) return Error::Invalid("linode: " + what + ": " + rel.error().message);
    const std::string filter = nlohmann::json{{"name", *rel}, {"type", type}}.dump();
    return api_.ReadPages(what, [&](int page, std::vector<ApiRecord>& out) -> Result<bool> {
      auto doc = api_.Call("GET",
                           RecordsPath() + "?page=" + std::to_string(page) +
                               "&page_size=" + std::to_string(kPageSize),
                           nullptr, deadline, what, {{"X-Filter", filter}});
      if (!doc) return doc.error();
      for (const auto& rec : doc->at("data")) {
        if (rec.at("name").get<std::string>() != *rel ||
            rec.at("type").get<std::string>() != type) {
          continue;
        }
        out.push_back({std::to_string(rec.at("id").get<long long>()),
                       rec.at("target").get<std::string>(), rec.at("ttl_sec").get<int>(), rec});
      }
      return page < doc->at("pages").get<int>();
    });
  }

  RestApi api_;
  LinodeSpec spec_;
  std::mutex mu_;
  std::map<std::string, int> requested_ttl_;  // "name type" -> TTL asked for, when rounded
};

}  // namespace

int LinodeTtl(int ttl) {
  if (ttl <= 0) return 0;
  for (int allowed : kAllowedTtls) {
    if (ttl <= allowed) return allowed;
  }
  return kAllowedTtls[std::size(kAllowedTtls) - 1];
}

Result<std::shared_ptr<DnsProvider>> NewLinodeProvider(const YamlNode& body,
                                                       const DnsProviderContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseLinodeSpec(body);
  if (!spec) return spec.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  auto o = MakeRestApiOptions(spec->api, "linode", ctx);
  if (!o) return o.error();
  UseLinodeErrors(*o);
  return std::shared_ptr<DnsProvider>(
      std::make_shared<LinodeProvider>(std::move(*o), std::move(*spec)));
}

}  // namespace failover
