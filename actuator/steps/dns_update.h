// dns_update: make a DNS record set hold exactly the given records (and TTL), through any
// DnsProvider, then verify; dns_ttl: set the TTL of an existing record set, keeping its
// records (lower it ahead of a switch). Both read first and write only on difference.
//
//   - dns_update: {provider: pdns, zone: example.test., name: "www.example.test.", type: A,
//                  records: ["127.0.0.3"], ttl: 30, verify_nameserver: 127.0.0.1:5353,
//                  verify_timeout: 30s, timeout: 60s, retries: 3}
//   - dns_ttl: {provider: pdns, zone: example.test., name: www.example.test., type: A, ttl: 30}
//
// `name` and `records` are templates ("{{labels.region}}.example.test."). With providers
// that have routing records (route53), dns_update also takes `AliasTarget: {HostedZoneId,
// DNSName, EvaluateTargetHealth}` instead of records, and `SetIdentifier` with `Failover:
// PRIMARY|SECONDARY` (the other failover set is flipped in the same batch), `Weight` and
// `HealthCheckId`. See docs/actuator-steps.md.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "actuator/dns/provider.h"
#include "actuator/steps/step.h"

namespace failover {

// Where a record set lives (provider, zone, name, type), shared by the dns_* steps.
struct DnsTarget {
  std::string provider_id;
  std::shared_ptr<DnsProvider> provider;
  std::string zone;
  Template name;
  std::string type;

  Result<std::string> RenderName(const TemplateVars& vars) const;
  Result<std::string> CheckName(const std::string& text) const;
  nlohmann::json BaseJson(const std::string& rendered_name) const;
};

// `provider`, `zone`, `name`, `type` of a dns_* step block (located errors).
Result<DnsTarget> ParseDnsTarget(const YamlNode& body, const StepFactoryContext& ctx);
// The record set with every record in canonical form, sorted, without duplicates, and
// the alias target's name as an FQDN: what comparisons use.
DnsRecordSet CanonicalDnsSet(DnsRecordSet set);
// {name, type, ttl, records} plus the routing fields a set has: what the journal shows.
nlohmann::json DnsSetJson(const DnsRecordSet& set);
// One line: "192.0.2.1 (ttl 60)", "alias to alb.example. (zone Z1)", with
// "[SetIdentifier x, PRIMARY]" / "[SetIdentifier x, weight 10]" in front for routing sets.
std::string DescribeDnsSet(const DnsRecordSet& set);

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
