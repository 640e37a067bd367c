// What the load-balancer providers on a hosted REST API (cloudflare_lb.cc,
// digitalocean_lb.cc, linode_nodebalancer.cc) build the same way: the provider from its
// block, through actuator/dns/rest_api.h.
#pragma once

#include <memory>
#include <string>

#include "actuator/dns/rest_api.h"
#include "actuator/lb/provider.h"

namespace failover {

// The provider of a `kind:` block: a mapping whose keys `parse` reads (into a spec with the
// RestApiSpec `api`), and no other keys; its API is named `kind`, with `use_errors` reading
// the API's error envelope. `Provider` is built from (RestApiOptions, Spec).
template <typename Provider, typename Spec>
Result<std::shared_ptr<LbProvider>> NewRestLbProvider(const YamlNode& body,
                                                      const LbProviderContext& ctx,
                                                      const std::string& kind,
                                                      Result<Spec> (*parse)(const YamlNode&),
                                                      void (*use_errors)(RestApiOptions&)) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = parse(body);
  if (!spec) return spec.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  auto api = MakeRestApiOptions(spec->api, kind, DnsProviderContext{ctx.http, ctx.clock});
  if (!api) return api.error();
  use_errors(*api);
  return std::shared_ptr<LbProvider>(std::make_shared<Provider>(*api, *spec));
}

}  // namespace failover
