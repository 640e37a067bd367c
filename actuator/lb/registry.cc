// The single list of load-balancer provider kinds: config validation and docs go by it. A
// new provider is one line here plus its lb/<provider>.{h,cc} (docs/development.md,
// "Adding an LB provider").
#include <algorithm>
#include <cctype>

#include "actuator/lb/aws_alb.h"
#include "actuator/lb/cloudflare_lb.h"
#include "actuator/lb/digitalocean_lb.h"
#include "actuator/lb/linode_nodebalancer.h"
#include "actuator/lb/provider.h"

namespace failover {

std::vector<LbProviderKind> BuiltinLbProviders() {
  return {
      {"linode_nodebalancer", &NewLinodeNodeBalancerProvider},
      {"cloudflare_lb", &NewCloudflareLbProvider},
      {"aws_alb", &NewAwsAlbProvider},
      {"digitalocean_lb", &NewDigitalOceanLbProvider},
  };
}

Result<LbProviderMap> LoadLbProviders(const YamlNode& node, const LbProviderContext& ctx) {
  LbProviderMap out;
  auto entries = node.Entries();
  if (!entries) return entries.error();
  auto kinds = BuiltinLbProviders();
  for (const auto& [id, body] : *entries) {
    auto inner = body.Entries();
    if (!inner) return inner.error();
    if (inner->size() != 1) {
      return body.Fail(
          "a load balancer is a mapping with exactly one key, its kind (e.g. "
          "linode_nodebalancer:)");
    }
    const auto& [kind_name, kind_body] = (*inner)[0];
    const LbProviderKind* kind = nullptr;
    std::string known;
    for (const auto& k : kinds) {
      if (k.name == kind_name) kind = &k;
      known += (known.empty() ? "" : ", ") + k.name;
    }
    if (kind == nullptr) {
      return kind_body.Fail("unknown load balancer kind \"" + kind_name + "\" (known: " + known +
                            ")");
    }
    auto provider = kind->factory(kind_body, ctx);
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
