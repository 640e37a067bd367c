// LbProvider: what every load-balancer API looks like to the lb_pool step. One
// implementation per provider in lb/<provider>.{h,cc}, registered in lb/registry.cc;
// endpoints and error shapes in docs/contracts/load-balancers.md.
//
// A provider is configured under `load_balancers.<id>` (its credentials and which load
// balancer); a step names that id and gives the provider's own keys for one change (a
// node's mode, a pool's enabled flag, a target's registration, ...). The provider parses
// those keys at config load into an LbChange, which the step then reads, applies and
// reads back.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/http_client.h"
#include "common/kind_registry.h"
#include "common/result.h"
#include "common/yaml.h"

namespace failover {

// What a change finds at the load balancer.
struct LbState {
  std::string summary;  // one line for messages: "mode drain (status UP)"
  nlohmann::json json = nlohmann::json::object();  // for the step's details
  bool desired = false;  // the change's desired state holds (nothing to write)
  // False while the load balancer is still moving towards it by itself: connections still
  // draining (ALB `draining`), a new target not yet healthy. The step waits for this.
  bool settled = true;
  std::string unsettled;  // what is still going on when !settled ("draining")
};

// One change of one load balancer, built from a step's keys.
class LbChange {
 public:
  virtual ~LbChange() = default;
  // What the step will change, for the journal (written before the change is made).
  virtual nlohmann::json Describe() const = 0;
  // "nodebalancer 123 config 4 node 5": the thing changed, for messages.
  virtual std::string Label() const = 0;
  // "mode drain": the desired state, for messages.
  virtual std::string Want() const = 0;
  // Reads the current state. Errors: retryable for transport failures, 429 and 5xx.
  virtual Result<LbState> Read(MonoTime deadline) const = 0;
  // Makes the desired state hold, given what Read found.
  virtual Status Apply(const LbState& current, MonoTime deadline) const = 0;
};

class LbProvider {
 public:
  virtual ~LbProvider() = default;
  virtual const std::string& kind() const = 0;
  // Reads and validates the step's keys that are this provider's (errors name the file, line
  // and key) into a change. The keys it reads are the ones the step accepts besides lb_pool's
  // own (steps/lb_pool.cc rejects any other with RejectUnreadKeys).
  virtual Result<std::shared_ptr<LbChange>> ParseChange(const YamlNode& step) const = 0;
};

struct LbProviderContext {
  HttpClient* http = nullptr;
  Clock* clock = nullptr;
};

using LbProviderFactory = std::function<Result<std::shared_ptr<LbProvider>>(
    const YamlNode& body, const LbProviderContext& ctx)>;

// A kind's name is the key under load_balancers.<id>: linode_nodebalancer, ...
using LbProviderRegistry = KindRegistry<LbProviderFactory>;
using LbProviderKind = LbProviderRegistry::Kind;

// The single list of load-balancer provider kinds (lb/registry.cc).
void RegisterBuiltinLbProviders(LbProviderRegistry& registry);

using LbProviderMap = std::map<std::string, std::shared_ptr<LbProvider>>;

// The `load_balancers:` mapping of actuator.yml: id -> {kind: {...}}.
Result<LbProviderMap> LoadLbProviders(const YamlNode& node, const LbProviderContext& ctx);

// Helpers for the providers' ParseChange.
// A required positive integer id (Linode, DigitalOcean droplet ids).
Result<long long> RequirePositiveId(const YamlNode& body, const std::string& key);
// A required non-empty string without white space or '/', '?', '#'.
Result<std::string> RequireIdString(const YamlNode& body, const std::string& key);
// `key` is one of `allowed` ("mode: accept|reject|drain|backup").
Result<std::string> RequireOneOf(const YamlNode& body, const std::string& key,
                                 const std::vector<std::string>& allowed);

}  // namespace failover
