// DnsProvider for Amazon Route 53 (docs/contracts/dns-providers.md, "AWS Route 53"):
//   providers:
//     r53: {route53: {hosted_zone_id: Z0123, access_key_id_file: /etc/failover/aws.id,
//                     secret_access_key_file: /etc/failover/aws.secret}}
// Optional: session_token(_file/_env), url (base URL instead of
// https://route53.amazonaws.com, for tests and proxies), poll_interval (GetChange, 3s).
// Without access_key_id*/secret_access_key* the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
// (/ AWS_SESSION_TOKEN) environment variables are used. Every request is SigV4-signed
// (service route53, region us-east-1).
// Get: ListResourceRecordSets from name+type (maxitems=1, following NextRecord* while it
// stays on the same name and type). Set: one ChangeResourceRecordSets batch (UPSERT, or
// DELETE of the current set when no records are desired), then GetChange until INSYNC.
#pragma once

#include <memory>

#include "actuator/dns/provider.h"

namespace failover {

// `body` is the mapping under `route53:`.
Result<std::shared_ptr<DnsProvider>> NewRoute53Provider(const YamlNode& body,
                                                        const DnsProviderContext& ctx);

// A name as Route 53 shows it ("\052.example.com.") as a normalised FQDN ("*.example.com.").
std::string Route53Name(const std::string& name);

}  // namespace failover
