// DnsProvider for the DigitalOcean API v2 domain records (docs/contracts/dns-providers.md):
//   providers:
//     do: {digitalocean: {token_file: /etc/failover/do.token, domain: example.com}}
// The token (token, token_file or token_env) is sent as a bearer token. Records are read
// by type and name on every call, following the answer's links.pages.next; Set creates,
// updates and deletes single records until exactly the desired ones remain.
#pragma once

#include <memory>

#include "actuator/dns/provider.h"

namespace failover {

// `body` is the mapping under `digitalocean:`.
Result<std::shared_ptr<DnsProvider>> NewDigitalOceanProvider(const YamlNode& body,
                                                             const DnsProviderContext& ctx);

}  // namespace failover
