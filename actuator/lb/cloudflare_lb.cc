#include "actuator/lb/cloudflare_lb.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include "actuator/dns/cloudflare.h"
#include "actuator/lb/rest_lb.h"

namespace failover {
namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string FormatWeight(double w) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", w);
  return buf;
}

// What one step asks of Cloudflare.
struct CfWant {
  std::string pool_id;
  std::string origin;  // "" = the pool itself
  std::optional<bool> enabled;
  std::optional<double> weight;
  std::string lb_id;
  std::optional<std::vector<std::string>> default_pools;
  std::optional<std::string> fallback_pool;
};

class CfChange final : public LbChange {
 public:
  CfChange(std::shared_ptr<RestApi> api, std::string account, std::string zone, CfWant want)
      : api_(std::move(api)),
        account_(std::move(account)),
        zone_(std::move(zone)),
        w_(std::move(want)) {}

  nlohmann::json Describe() const override {
    nlohmann::json out = nlohmann::json::object();
    if (!w_.lb_id.empty()) {
      out["zone_id"] = zone_;
      out["load_balancer_id"] = w_.lb_id;
      if (w_.default_pools) out["default_pools"] = *w_.default_pools;
      if (w_.fallback_pool) out["fallback_pool"] = *w_.fallback_pool;
      return out;
    }
    out["account_id"] = account_;
    out["pool_id"] = w_.pool_id;
    if (!w_.origin.empty()) out["origin"] = w_.origin;
    if (w_.enabled) out["enabled"] = *w_.enabled;
    if (w_.weight) out["weight"] = *w_.weight;
    return out;
  }
  std::string Label() const override {
    if (!w_.lb_id.empty()) return "load balancer " + w_.lb_id;
    if (!w_.origin.empty()) return "origin " + w_.origin + " of pool " + w_.pool_id;
    return "pool " + w_.pool_id;
  }
  std::string Want() const override {
    std::vector<std::string> parts;
    if (w_.enabled) parts.push_back(*w_.enabled ? "enabled" : "disabled");
    if (w_.weight) parts.push_back("weight " + FormatWeight(*w_.weight));
    if (w_.default_pools) parts.push_back("default pools [" + Join(*w_.default_pools) + "]");
    if (w_.fallback_pool) parts.push_back("fallback pool " + *w_.fallback_pool);
    return Join(parts);
  }

  Result<LbState> Read(MonoTime deadline) const override {
    const std::string what = "reading " + Label();
    auto doc = api_->Call("GET", Path(), nullptr, deadline, what);
    if (!doc) return doc.error();
    try {
      const auto& r = doc->at("result");
      return w_.lb_id.empty() ? ReadPool(r) : ReadLb(r);
    } catch (const nlohmann::json::exception& e) {
      return Error::Invalid("cloudflare_lb: " + what + ": unexpected answer from " +
                            api_->base_url() + ": " + e.what());
    }
  }

  Status Apply(const LbState& current, MonoTime deadline) const override {
    nlohmann::json body = nlohmann::json::object();
    if (!w_.lb_id.empty()) {
      if (w_.default_pools) body["default_pools"] = *w_.default_pools;
      if (w_.fallback_pool) body["fallback_pool"] = *w_.fallback_pool;
    } else if (w_.origin.empty()) {
      body["enabled"] = *w_.enabled;
    } else {
      // The pool's origins as read, with ours changed: Cloudflare takes the whole list.
      nlohmann::json origins = current.json.at("origins");
      for (auto& o : origins) {
        if (o.value("name", std::string()) != w_.origin) continue;
        if (w_.enabled) o["enabled"] = *w_.enabled;
        if (w_.weight) o["weight"] = *w_.weight;
      }
      body["origins"] = origins;
    }
    auto r = api_->Call("PATCH", Path(), &body, deadline, "setting " + Label() + " to " + Want());
    if (!r) return r.error();
    return {};
  }

 private:
  std::string Path() const {
    if (!w_.lb_id.empty()) {
      return "/zones/" + UrlEncode(zone_) + "/load_balancers/" + UrlEncode(w_.lb_id);
    }
    return "/accounts/" + UrlEncode(account_) + "/load_balancers/pools/" + UrlEncode(w_.pool_id);
  }

  Result<LbState> ReadPool(const nlohmann::json& r) const {
    LbState s;
    const bool pool_enabled = r.at("enabled").get<bool>();
    s.json = {{"enabled", pool_enabled}, {"origins", r.at("origins")}};
    if (w_.origin.empty()) {
      s.summary = pool_enabled ? "enabled" : "disabled";
      s.desired = pool_enabled == *w_.enabled;
      return s;
    }
    for (const auto& o : r.at("origins")) {
      if (o.at("name").get<std::string>() != w_.origin) continue;
      const bool en = o.value("enabled", true);
      const double weight = o.value("weight", 1.0);
      s.summary = std::string(en ? "enabled" : "disabled") + ", weight " + FormatWeight(weight) +
                  " (pool " + (pool_enabled ? "enabled" : "disabled") + ")";
      s.desired = (!w_.enabled || en == *w_.enabled) &&
                  (!w_.weight || std::fabs(weight - *w_.weight) < 0.005);
      return s;
    }
    std::string names;
    for (const auto& o : r.at("origins")) {
      names += (names.empty() ? "" : ", ") + o.at("name").get<std::string>();
    }
    return Error::Invalid("cloudflare_lb: pool " + w_.pool_id + " has no origin named \"" +
                          w_.origin + "\" (it has: " + names + ")");
  }

  Result<LbState> ReadLb(const nlohmann::json& r) const {
    LbState s;
    std::vector<std::string> pools = r.at("default_pools").get<std::vector<std::string>>();
    std::string fallback = r.at("fallback_pool").get<std::string>();
    s.json = {{"default_pools", pools}, {"fallback_pool", fallback}};
    s.summary = "default pools [" + Join(pools) + "], fallback pool " + fallback;
    s.desired = (!w_.default_pools || pools == *w_.default_pools) &&
                (!w_.fallback_pool || fallback == *w_.fallback_pool);
    return s;
  }

  std::shared_ptr<RestApi> api_;
  std::string account_, zone_;
  CfWant w_;
};

bool IsCloudflareId(const std::string& s) {
  return s.size() == 32 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

Result<std::string> CloudflareId(const YamlNode& body, const std::string& key) {
  auto n = body.Require(key);
  if (!n) return n.error();
  auto v = n->AsString();
  if (!v) return v.error();
  if (!IsCloudflareId(*v)) {
    return n->Fail("expected Cloudflare's 32-character hex id, found \"" + *v + "\"");
  }
  return *v;
}

// What a cloudflare_lb: load balancer block configures.
struct CloudflareLbSpec {
  RestApiSpec api;         // url and the token (inline, _file or _env)
  std::string account_id;  // the account that holds the pools
  std::string zone_id;     // the zone of the load balancers; "" = pool changes only
};

Result<CloudflareLbSpec> ParseCloudflareLbSpec(const YamlNode& body) {
  CloudflareLbSpec spec;
  auto api =
      ParseRestApiSpec(body, "Cloudflare", "https://api.cloudflare.com/client/v4", "api_token");
  if (!api) return api.error();
  spec.api = *api;
  auto account = CloudflareId(body, "account_id");
  if (!account) return account.error();
  spec.account_id = *account;
  if (body.Has("zone_id")) {
    auto z = CloudflareId(body, "zone_id");
    if (!z) return z.error();
    spec.zone_id = *z;
  }
  return spec;
}

class CloudflareLbProvider final : public LbProvider {
 public:
  CloudflareLbProvider(const RestApiOptions& api, const CloudflareLbSpec& spec)
      : api_(std::make_shared<RestApi>(api)), account_(spec.account_id), zone_(spec.zone_id) {}

  const std::string& kind() const override {
    static const std::string k = "cloudflare_lb";
    return k;
  }
  Result<std::shared_ptr<LbChange>> ParseChange(const YamlNode& step) const override {
    CfWant w;
    const bool has_pool = step.Has("pool_id"), has_lb = step.Has("load_balancer_id");
    if (has_pool == has_lb) {
      return step.Fail(
          "a cloudflare_lb change names exactly one of pool_id (a pool or one of "
          "its origins) and load_balancer_id (its default and fallback pools)");
    }
    if (has_lb) {
      for (const char* k : {"origin", "enabled", "weight"}) {
        if (auto n = step.Get(k)) return n->Fail(std::string(k) + " belongs with pool_id");
      }
      if (zone_.empty()) {
        return step.Require("load_balancer_id")
            ->Fail("a load balancer change needs zone_id in the cloudflare_lb load balancer");
      }
      auto lb = CloudflareId(step, "load_balancer_id");
      if (!lb) return lb.error();
      w.lb_id = *lb;
      if (auto n = step.Get("default_pools")) {
        auto items = n->Items();
        if (!items) return items.error();
        if (items->empty()) return n->Fail("needs at least one pool");
        std::vector<std::string> pools;
        for (const YamlNode& item : *items) {
          auto v = item.AsString();
          if (!v) return v.error();
          if (!IsCloudflareId(*v)) {
            return item.Fail("expected Cloudflare's 32-character hex pool id, found \"" + *v +
                             "\"");
          }
          if (std::find(pools.begin(), pools.end(), *v) != pools.end()) {
            return item.Fail("pool " + *v + " is listed twice");
          }
          pools.push_back(*v);
        }
        w.default_pools = pools;
      }
      if (step.Has("fallback_pool")) {
        auto f = CloudflareId(step, "fallback_pool");
        if (!f) return f.error();
        w.fallback_pool = *f;
      }
      if (!w.default_pools && !w.fallback_pool) {
        return step.Fail("a load balancer change needs default_pools, fallback_pool or both");
      }
    } else {
      for (const char* k : {"default_pools", "fallback_pool"}) {
        if (auto n = step.Get(k)) return n->Fail(std::string(k) + " belongs with load_balancer_id");
      }
      auto pool = CloudflareId(step, "pool_id");
      if (!pool) return pool.error();
      w.pool_id = *pool;
      if (auto n = step.Get("origin")) {
        auto v = n->AsString();
        if (!v) return v.error();
        if (v->empty()) return n->Fail("expected the origin's name");
        w.origin = *v;
      }
      if (auto n = step.Get("enabled")) {
        auto b = n->AsBool();
        if (!b) return b.error();
        w.enabled = *b;
      }
      if (auto n = step.Get("weight")) {
        if (w.origin.empty()) return n->Fail("weight is an origin's: it needs origin");
        auto d = n->AsDouble();
        if (!d) return d.error();
        if (!(*d >= 0 && *d <= 1)) return n->Fail("expected a weight between 0 and 1");
        w.weight = *d;
      }
      if (!w.enabled && !w.weight) {
        return step.Fail(w.origin.empty() ? "a pool change needs enabled"
                                          : "an origin change needs enabled, weight or both");
      }
    }
    return std::shared_ptr<LbChange>(std::make_shared<CfChange>(api_, account_, zone_, w));
  }

 private:
  std::shared_ptr<RestApi> api_;
  std::string account_, zone_;
};

}  // namespace

Result<std::shared_ptr<LbProvider>> NewCloudflareLbProvider(const YamlNode& body,
                                                            const LbProviderContext& ctx) {
  return NewRestLbProvider<CloudflareLbProvider>(body, ctx, "cloudflare_lb", ParseCloudflareLbSpec,
                                                 UseCloudflareErrors);
}

}  // namespace failover
