// DnsProvider for the Linode API v4 domain records (docs/contracts/dns-providers.md):
//   providers:
//     lin: {linode: {token_file: /etc/failover/linode.token, domain_id: 1234}}
// The token (token, token_file or token_env) is sent as a bearer token. Records are read
// by name+type (X-Filter, all pages) on every call; Set creates, updates and deletes
// single records until exactly the desired ones remain. Linode takes only some TTLs
// (ttl_sec): others are rounded up to the next one, with a warning.
#pragma once

#include <memory>

#include "actuator/dns/provider.h"

namespace failover {

// `body` is the mapping under `linode:`.
Result<std::shared_ptr<DnsProvider>> NewLinodeProvider(const YamlNode& body,
                                                       const DnsProviderContext& ctx);

// The ttl_sec Linode stores for a requested TTL: the next allowed value at or above it
// (0 stays 0, the domain's default; above the largest, the largest).
int LinodeTtl(int ttl);

}  // namespace failover
