// DnsProvider for the Cloudflare API v4 (docs/contracts/dns-providers.md):
//   providers:
//     cf: {cloudflare: {api_token_file: /etc/failover/cf.token,
//                       zone_id: 023e105f4ecef8ad9ca31a8372d0c353, proxied: false}}
// The token (api_token, api_token_file or api_token_env) is sent as a bearer token. A
// record set is several records in Cloudflare, looked up by name+type on every call
// (ids are never cached); Set creates, updates and deletes single records until exactly
// the desired ones remain. `proxied` of an existing record is kept unless configured.
#pragma once

#include <memory>

#include "actuator/dns/provider.h"
#include "actuator/dns/rest_api.h"

namespace failover {

// `body` is the mapping under `cloudflare:`.
Result<std::shared_ptr<DnsProvider>> NewCloudflareProvider(const YamlNode& body,
                                                           const DnsProviderContext& ctx);

// Cloudflare's error envelope and retry rule on a REST client's options (the DNS provider
// here and the load-balancer provider in actuator/lb/cloudflare_lb.cc share them).
void UseCloudflareErrors(RestApiOptions& o);

}  // namespace failover
