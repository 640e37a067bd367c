// The single list of DNS provider kinds: config validation and --list-kinds go by it. A
// new provider is one Register line here plus its dns/<provider>.{h,cc}. The descriptions
// are empty: --list-kinds prints this family's names alone.
#include <algorithm>
#include <cctype>

#include "actuator/dns/cloudflare.h"
#include "actuator/dns/digitalocean.h"
#include "actuator/dns/linode.h"
#include "actuator/dns/powerdns.h"
#include "actuator/dns/provider.h"
#include "actuator/dns/rfc2136.h"
#include "actuator/dns/route53.h"

namespace failover {

void RegisterBuiltinDnsProviders(DnsProviderRegistry& registry) {
  registry.Register({"powerdns", "", &NewPowerDnsProvider});
  registry.Register({"rfc2136", "", &NewRfc2136Provider});
  registry.Register({"route53", "", &NewRoute53Provider});
  registry.Register({"cloudflare", "", &NewCloudflareProvider});
  registry.Register({"linode", "", &NewLinodeProvider});
  registry.Register({"digitalocean", "", &NewDigitalOceanProvider});
}

const char* DnsFeatureName(DnsFeature f) {
  switch (f) {
    case DnsFeature::kAlias:
      return "alias records (AliasTarget)";
    case DnsFeature::kFailover:
      return "failover routing (Failover, SetIdentifier)";
    case DnsFeature::kWeighted:
      return "weighted routing (Weight, SetIdentifier)";
  }
  return "?";
}

std::string Fqdn(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name.empty() || name.back() != '.') name += '.';
  return name;
}

}  // namespace failover
