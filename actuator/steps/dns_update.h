// dns_update: make a DNS record set hold exactly the given records (and TTL), through any
// DnsProvider, then verify; dns_ttl: set the TTL of an existing record set, keeping its
// records (lower it ahead of a switch). Both read first and write only on difference.
//
//   - dns_update: {provider: pdns, zone: example.test., name: "www.example.test.", type: A,
//                  records: ["127.0.0.3"], ttl: 30, verify_nameserver: 127.0.0.1:5353,
//                  verify_timeout: 30s, timeout: 60s, retries: 3}
//   - dns_ttl: {provider: pdns, zone: example.test., name: www.example.test., type: A, ttl: 30}
//
// `name` and `records` are templates ("{{labels.region}}.example.test."). See
// docs/actuator-steps.md.
#pragma once

#include <memory>
#include <string>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewDnsUpdateStep(const YamlNode& body, const StepFactoryContext& ctx);
Result<std::unique_ptr<Step>> NewDnsTtlStep(const YamlNode& body, const StepFactoryContext& ctx);

// One record's content in the canonical presentation form every provider and nameserver
// answer is compared in (the form QueryDns returns):
//   A, AAAA   the address as inet_ntop writes it ("2001:db8::1"); not an address: error
//   CNAME     lower case with the trailing dot
//   TXT       quoted character-strings ("\"v=spf1 -all\""); text without quotes is taken
//             as the value itself, split into strings of at most 255 bytes
Result<std::string> CanonicalDnsRecord(const std::string& type, const std::string& content);

}  // namespace failover
