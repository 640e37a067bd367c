// DnsProvider: what every DNS API looks like to the dns_update / dns_ttl steps.
// One implementation per provider in dns/<provider>.{h,cc}, registered in dns/registry.cc.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/http_client.h"
#include "common/kind_registry.h"
#include "common/result.h"
#include "common/yaml.h"

namespace failover {

// Route 53's alias: the record set answers what the target (an ALB, CloudFront, another
// record of the zone) answers. An alias has no TTL and no records of its own.
struct DnsAliasTarget {
  std::string hosted_zone_id;  // the target's hosted zone (an ALB's: its region's ELB zone)
  std::string dns_name;        // lower case, trailing dot
  bool evaluate_target_health = false;
  bool operator==(const DnsAliasTarget&) const = default;
};

struct DnsRecordSet {
  DnsRecordSet() = default;
  DnsRecordSet(std::string n, std::string t, int tt, std::vector<std::string> r)
      : name(std::move(n)), type(std::move(t)), ttl(tt), records(std::move(r)) {}

  std::string name;  // fully qualified, with the trailing dot: "www.example.test."
  std::string type;  // A, AAAA, CNAME, TXT
  int ttl = 0;
  std::vector<std::string> records;  // sorted; compare sets, not order
  // Routing (providers whose Supports() says so; empty for a simple record set). Several
  // record sets share a name and type, told apart by set_identifier.
  std::optional<DnsAliasTarget> alias;  // instead of ttl + records
  std::string set_identifier;           // weighted and failover record sets
  std::optional<int> weight;            // weighted: 0..255
  std::string failover;                 // "PRIMARY" | "SECONDARY" | ""
  std::string health_check_id;          // optional with a routing policy
  bool operator==(const DnsRecordSet&) const = default;
};

// Routing features a provider may manage besides simple record sets.
enum class DnsFeature { kAlias, kFailover, kWeighted };
const char* DnsFeatureName(DnsFeature f);  // "alias (AliasTarget)", ...

class DnsProvider {
 public:
  virtual ~DnsProvider() = default;
  virtual const std::string& kind() const = 0;
  // The record set, or nullopt when it does not exist. `zone` and `name` are fully
  // qualified with trailing dots. Errors: retryable for transport failures, 429 and 5xx;
  // not retryable for auth and validation errors, with the provider's own message.
  // `deadline` bounds the call including any waiting on a rate limit (Retry-After).
  virtual Result<std::optional<DnsRecordSet>> Get(const std::string& zone, const std::string& name,
                                                  const std::string& type, MonoTime deadline) = 0;
  // Makes the record set exactly `desired` (replacing what is there).
  virtual Status Set(const std::string& zone, const DnsRecordSet& desired, MonoTime deadline) = 0;

  // Routing records. Providers without them keep the defaults: Supports() false (steps
  // that need a feature are refused at load), ListSets() is Get() and Upsert() is Set() of
  // each set in turn.
  virtual bool Supports(DnsFeature) const { return false; }
  // Every record set at name + type, routing ones included (each with its set_identifier),
  // in the provider's order; empty when there is none.
  virtual Result<std::vector<DnsRecordSet>> ListSets(const std::string& zone,
                                                     const std::string& name,
                                                     const std::string& type, MonoTime deadline) {
    auto one = Get(zone, name, type, deadline);
    if (!one) return one.error();
    std::vector<DnsRecordSet> out;
    if (*one) out.push_back(std::move(**one));
    return out;
  }
  // Creates or replaces each record set (by name, type and set_identifier); Route 53 does
  // it in one atomic change batch, so a failover flip never has two PRIMARY sets.
  virtual Status Upsert(const std::string& zone, const std::vector<DnsRecordSet>& sets,
                        MonoTime deadline) {
    for (const DnsRecordSet& s : sets) {
      if (auto st = Set(zone, s, deadline); !st) return st;
    }
    return {};
  }
};

struct DnsProviderContext {
  HttpClient* http = nullptr;
  Clock* clock = nullptr;
};

using DnsProviderFactory = std::function<Result<std::shared_ptr<DnsProvider>>(
    const YamlNode& body, const DnsProviderContext& ctx)>;

// A kind's name is the key under providers.<id>: powerdns, cloudflare, ...
using DnsProviderRegistry = KindRegistry<DnsProviderFactory>;
using DnsProviderKind = DnsProviderRegistry::Kind;

// The single list of provider kinds (dns/registry.cc).
void RegisterBuiltinDnsProviders(DnsProviderRegistry& registry);

// Normalises a name to FQDN with a trailing dot, lower case.
std::string Fqdn(std::string name);

}  // namespace failover
