#include "actuator/lb/digitalocean_lb.h"

#include <algorithm>

#include "actuator/lb/rest_lb.h"

namespace failover {
namespace {

class DropletChange final : public LbChange {
 public:
  DropletChange(std::shared_ptr<RestApi> api, std::string lb, long long droplet, bool in)
      : api_(std::move(api)), lb_(std::move(lb)), droplet_(droplet), in_(in) {}

  nlohmann::json Describe() const override {
    return {{"load_balancer_id", lb_}, {"droplet_id", droplet_}, {"state", in_ ? "in" : "out"}};
  }
  std::string Label() const override {
    return "droplet " + std::to_string(droplet_) + " of load balancer " + lb_;
  }
  std::string Want() const override { return in_ ? "in" : "out"; }

  Result<LbState> Read(MonoTime deadline) const override {
    const std::string what = "reading load balancer " + lb_;
    auto doc = api_->Call("GET", "/v2/load_balancers/" + UrlEncode(lb_), nullptr, deadline, what);
    if (!doc) return doc.error();
    std::vector<long long> ids;
    std::string status;
    try {
      const auto& lb = doc->at("load_balancer");
      for (const auto& id : lb.at("droplet_ids")) ids.push_back(id.get<long long>());
      status = lb.value("status", std::string());
    } catch (const nlohmann::json::exception& e) {
      return Error::Invalid("digitalocean_lb: " + what + ": unexpected answer from " +
                            api_->base_url() + ": " + e.what());
    }
    bool present = std::find(ids.begin(), ids.end(), droplet_) != ids.end();
    LbState s;
    s.json = {{"droplet_ids", ids}, {"status", status}, {"state", present ? "in" : "out"}};
    s.summary = std::string(present ? "in" : "out") + " (load balancer status " + status + ", " +
                std::to_string(ids.size()) + " droplets)";
    s.desired = present == in_;
    return s;
  }

  Status Apply(const LbState&, MonoTime deadline) const override {
    nlohmann::json body = {{"droplet_ids", {droplet_}}};
    auto r =
        api_->Call(in_ ? "POST" : "DELETE", "/v2/load_balancers/" + UrlEncode(lb_) + "/droplets",
                   &body, deadline, (in_ ? "adding " : "removing ") + Label());
    if (!r) return r.error();
    return {};
  }

 private:
  std::shared_ptr<RestApi> api_;
  std::string lb_;
  long long droplet_;
  bool in_;
};

// What a digitalocean_lb: load balancer block configures.
struct DigitalOceanLbSpec {
  RestApiSpec api;               // url and the token (inline, _file or _env)
  std::string load_balancer_id;  // the load balancer's UUID
};

Result<DigitalOceanLbSpec> ParseDigitalOceanLbSpec(const YamlNode& body) {
  DigitalOceanLbSpec spec;
  auto api = ParseRestApiSpec(body, "DigitalOcean", "https://api.digitalocean.com", "token");
  if (!api) return api.error();
  spec.api = *api;
  auto lb = RequireIdString(body, "load_balancer_id");
  if (!lb) return lb.error();
  spec.load_balancer_id = *lb;
  return spec;
}

class DigitalOceanLbProvider final : public LbProvider {
 public:
  DigitalOceanLbProvider(const RestApiOptions& api, const DigitalOceanLbSpec& spec)
      : api_(std::make_shared<RestApi>(api)), lb_(spec.load_balancer_id) {}

  const std::string& kind() const override {
    static const std::string k = "digitalocean_lb";
    return k;
  }
  Result<std::shared_ptr<LbChange>> ParseChange(const YamlNode& step) const override {
    auto droplet = RequirePositiveId(step, "droplet_id");
    if (!droplet) return droplet.error();
    auto state = RequireOneOf(step, "state", {"in", "out"});
    if (!state) return state.error();
    return std::shared_ptr<LbChange>(
        std::make_shared<DropletChange>(api_, lb_, *droplet, *state == "in"));
  }

 private:
  std::shared_ptr<RestApi> api_;
  std::string lb_;
};

}  // namespace

Result<std::shared_ptr<LbProvider>> NewDigitalOceanLbProvider(const YamlNode& body,
                                                              const LbProviderContext& ctx) {
  return NewRestLbProvider<DigitalOceanLbProvider>(body, ctx, "digitalocean_lb",
                                                   ParseDigitalOceanLbSpec, UseDigitalOceanErrors);
}

}  // namespace failover
