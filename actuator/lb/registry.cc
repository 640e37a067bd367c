// The single list of load-balancer provider kinds: config validation and --list-kinds go by
// it. A new provider is one Register line here plus its lb/<provider>.{h,cc}
// (docs/development.md, "An LB provider"). The descriptions are empty: --list-kinds prints
// this family's names alone.
#include <algorithm>
#include <cctype>

#include "actuator/lb/aws_alb.h"
#include "actuator/lb/cloudflare_lb.h"
#include "actuator/lb/digitalocean_lb.h"
#include "actuator/lb/linode_nodebalancer.h"
#include "actuator/lb/provider.h"

namespace failover {

void RegisterBuiltinLbProviders(LbProviderRegistry& registry) {
  registry.Register({"linode_nodebalancer", "", &NewLinodeNodeBalancerProvider});
  registry.Register({"cloudflare_lb", "", &NewCloudflareLbProvider});
  registry.Register({"aws_alb", "", &NewAwsAlbProvider});
  registry.Register({"digitalocean_lb", "", &NewDigitalOceanLbProvider});
}

Result<LbProviderMap> LoadLbProviders(const YamlNode& node, const LbProviderContext& ctx) {
  LbProviderMap out;
  auto entries = node.Entries();
  if (!entries) return entries.error();
  LbProviderRegistry kinds;
  RegisterBuiltinLbProviders(kinds);
  for (const auto& [id, body] : *entries) {
    auto kind = ParseKindKey(body, kinds, "load balancer");
    if (!kind) return kind.error();
    const auto& [kind_entry, kind_body] = *kind;
    auto provider = kind_entry->factory(kind_body, ctx);
    if (!provider) return provider.error();
    out[id] = *provider;
  }
  return out;
}

Result<long long> RequirePositiveId(const YamlNode& body, const std::string& key) {
  auto n = body.Require(key);
  if (!n) return n.error();
  auto v = n->AsInt();
  if (!v) return v.error();
  if (*v <= 0) return n->Fail("expected a numeric id (a positive number)");
  return *v;
}

Result<std::string> RequireIdString(const YamlNode& body, const std::string& key) {
  auto n = body.Require(key);
  if (!n) return n.error();
  auto v = n->AsString();
  if (!v) return v.error();
  if (v->empty() || std::any_of(v->begin(), v->end(), [](unsigned char c) {
        return std::isspace(c) != 0 || std::iscntrl(c) != 0 || c == '/' || c == '?' || c == '#';
      })) {
    return n->Fail("expected an id without white space, '/', '?' or '#', found \"" + *v + "\"");
  }
  return *v;
}

Result<std::string> RequireOneOf(const YamlNode& body, const std::string& key,
                                 const std::vector<std::string>& allowed) {
  auto n = body.Require(key);
  if (!n) return n.error();
  auto v = n->AsString();
  if (!v) return v.error();
  std::string list;
  for (const auto& a : allowed) {
    if (a == *v) return *v;
    list += (list.empty() ? "" : "|") + a;
  }
  return n->Fail("expected one of " + list + ", found \"" + *v + "\"");
}

}  // namespace failover
