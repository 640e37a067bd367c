// DnsProvider for RFC 2136 dynamic updates signed with TSIG (RFC 8945), e.g. to a BIND
// primary (docs/contracts/dns-providers.md, "RFC 2136 dynamic update"):
//   providers:
//     bind: {rfc2136: {server: 127.0.0.1:53, key_name: failover-key,
//                      key_secret_file: /etc/failover/tsig.secret, algorithm: hmac-sha256}}
// The secret (base64, as tsig-keygen prints it) comes from key_secret, key_secret_file or
// key_secret_env; it is read on every call and never appears in a message.
// Messages are built, signed and checked with ldns and go over TCP to `server` only:
// Get asks the server for the record set (a TSIG-signed query, answered authoritatively);
// Set sends one UPDATE for the zone that deletes the RRset and adds every desired record
// (none: delete only), which the server applies atomically. Every answer's rcode and TSIG
// are checked; all network waits end at the call's deadline.
#pragma once

#include <memory>

#include "actuator/dns/provider.h"

namespace failover {

// `body` is the mapping under `rfc2136:`.
Result<std::shared_ptr<DnsProvider>> NewRfc2136Provider(const YamlNode& body,
                                                        const DnsProviderContext& ctx);

}  // namespace failover
