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
#include "common/result.h"
#include "common/yaml.h"

namespace failover {

struct DnsRecordSet {
  std::string name;  // fully qualified, with the trailing dot: "www.example.test."
  std::string type;  // A, AAAA, CNAME, TXT
  int ttl = 0;
  std::vector<std::string> records;  // sorted; compare sets, not order
  bool operator==(const DnsRecordSet&) const = default;
};

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
};

struct DnsProviderContext {
  HttpClient* http = nullptr;
  Clock* clock = nullptr;
};

using DnsProviderFactory = std::function<Result<std::shared_ptr<DnsProvider>>(
    const YamlNode& body, const DnsProviderContext& ctx)>;

struct DnsProviderKind {
  std::string name;  // the key under providers.<id>: powerdns, cloudflare, ...
  DnsProviderFactory factory;
};

// The single list of provider kinds.
std::vector<DnsProviderKind> BuiltinDnsProviders();

// Normalises a name to FQDN with a trailing dot, lower case.
std::string Fqdn(std::string name);

}  // namespace failover
