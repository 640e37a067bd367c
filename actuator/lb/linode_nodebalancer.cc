#include "actuator/lb/linode_nodebalancer.h"

#include "actuator/lb/rest_lb.h"

namespace failover {
namespace {

class NodeChange final : public LbChange {
 public:
  NodeChange(std::shared_ptr<RestApi> api, long long nb, long long config, long long node,
             std::string mode)
      : api_(std::move(api)), nb_(nb), config_(config), node_(node), mode_(std::move(mode)) {}

  nlohmann::json Describe() const override {
    return {{"nodebalancer_id", nb_}, {"config_id", config_}, {"node_id", node_}, {"mode", mode_}};
  }
  std::string Label() const override {
    return "nodebalancer " + std::to_string(nb_) + " config " + std::to_string(config_) + " node " +
           std::to_string(node_);
  }
  std::string Want() const override { return "mode " + mode_; }

  Result<LbState> Read(MonoTime deadline) const override {
    const std::string what = "reading " + Label();
    auto doc = api_->Call("GET", Path(), nullptr, deadline, what);
    if (!doc) return doc.error();
    if (!doc->is_object() || !doc->contains("mode") || !(*doc)["mode"].is_string()) {
      return Error::Invalid("linode_nodebalancer: " + what + ": unexpected answer from " +
                            api_->base_url() + " (no mode)");
    }
    LbState s;
    std::string mode = (*doc)["mode"].get<std::string>();
    std::string status = doc->value("status", std::string());
    s.json = {{"mode", mode}, {"status", status}, {"label", doc->value("label", std::string())}};
    s.summary = "mode " + mode + (status.empty() ? "" : " (status " + status + ")");
    s.desired = mode == mode_;
    return s;
  }

  Status Apply(const LbState&, MonoTime deadline) const override {
    nlohmann::json body = {{"mode", mode_}};
    auto r = api_->Call("PUT", Path(), &body, deadline, "setting " + Label() + " to " + Want());
    if (!r) return r.error();
    return {};
  }

 private:
  std::string Path() const {
    return "/nodebalancers/" + std::to_string(nb_) + "/configs/" + std::to_string(config_) +
           "/nodes/" + std::to_string(node_);
  }

  std::shared_ptr<RestApi> api_;
  long long nb_, config_, node_;
  std::string mode_;
};

// What a linode_nodebalancer: load balancer block configures.
struct LinodeNodeBalancerSpec {
  RestApiSpec api;  // url and the token (inline, _file or _env)
  long long nodebalancer_id = 0;
};

Result<LinodeNodeBalancerSpec> ParseLinodeNodeBalancerSpec(const YamlNode& body) {
  LinodeNodeBalancerSpec spec;
  auto api = ParseRestApiSpec(body, "Linode", "https://api.linode.com/v4", "token");
  if (!api) return api.error();
  spec.api = *api;
  auto nb = RequirePositiveId(body, "nodebalancer_id");
  if (!nb) return nb.error();
  spec.nodebalancer_id = *nb;
  return spec;
}

class LinodeNodeBalancerProvider final : public LbProvider {
 public:
  LinodeNodeBalancerProvider(const RestApiOptions& api, const LinodeNodeBalancerSpec& spec)
      : api_(std::make_shared<RestApi>(api)), nb_(spec.nodebalancer_id) {}

  const std::string& kind() const override {
    static const std::string k = "linode_nodebalancer";
    return k;
  }
  Result<std::shared_ptr<LbChange>> ParseChange(const YamlNode& step) const override {
    auto config = RequirePositiveId(step, "config_id");
    if (!config) return config.error();
    auto node = RequirePositiveId(step, "node_id");
    if (!node) return node.error();
    auto mode = RequireOneOf(step, "mode", {"accept", "reject", "drain", "backup"});
    if (!mode) return mode.error();
    return std::shared_ptr<LbChange>(
        std::make_shared<NodeChange>(api_, nb_, *config, *node, *mode));
  }

 private:
  std::shared_ptr<RestApi> api_;
  long long nb_;
};

}  // namespace

Result<std::shared_ptr<LbProvider>> NewLinodeNodeBalancerProvider(const YamlNode& body,
                                                                  const LbProviderContext& ctx) {
  return NewRestLbProvider<LinodeNodeBalancerProvider>(
      body, ctx, "linode_nodebalancer", ParseLinodeNodeBalancerSpec, UseLinodeErrors);
}

}  // namespace failover
