// DnsProvider for the PowerDNS Authoritative HTTP API (docs/contracts/dns-providers.md):
//   providers:
//     pdns: {powerdns: {url: http://127.0.0.1:8081, api_key_file: /etc/failover/pdns.key,
//                       server_id: localhost}}
// The key comes from api_key, api_key_file or api_key_env and is sent as X-API-Key; it is
// read on every call (a rotated file is picked up) and never appears in a message.
// Get reads one rrset (GET .../zones/{zone}?rrset_name=..&rrset_type=..); Set replaces it
// with one PATCH (changetype REPLACE), which PowerDNS applies atomically.
#pragma once

#include <memory>

#include "actuator/dns/provider.h"

namespace failover {

// `body` is the mapping under `powerdns:`.
Result<std::shared_ptr<DnsProvider>> NewPowerDnsProvider(const YamlNode& body,
                                                         const DnsProviderContext& ctx);

// PowerDNS' zone id for a zone name, as used in URLs: "example.test." stays as it is,
// other characters than letters, digits, '.' and '-' become "=XX"; the root is "=2E".
std::string PowerDnsZoneId(const std::string& zone);

}  // namespace failover
