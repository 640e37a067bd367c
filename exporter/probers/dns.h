// `dns:` probes: ask every configured nameserver for one name and type (c-ares on the
// exporter's event loop, all nameservers at once) and export where the record points,
// which region that is, and whether the nameservers agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/dns_query.h"  // DnsRcodeName
#include "exporter/prober.h"

namespace failover {

extern const MetricDesc kDnsRecordTargetMetric;
extern const MetricDesc kDnsRecordTtlMetric;
extern const MetricDesc kDnsLookupSecondsMetric;
extern const MetricDesc kDnsMatchesExpectedMetric;
extern const MetricDesc kDnsNameserversAgreeMetric;

Result<std::shared_ptr<Prober>> NewDnsProber(const YamlNode& node, const ProberContext& ctx);

// The parts of a DNS response the probe reads.
struct DnsResponse {
  int rcode = 0;
  bool truncated = false;  // the TC bit
  // Records of the asked type (class IN) in the answer section, in presentation format:
  // A/AAAA as inet_ntop prints them, CNAME lower case with the trailing dot, TXT as
  // quoted character-strings ("a" "b"). Sorted, duplicates removed.
  std::vector<std::string> records;
  std::uint32_t ttl = 0;  // the smallest TTL among `records`
};
Result<DnsResponse> ParseDnsResponse(const unsigned char* packet, size_t len, int qtype);

// What one nameserver said in one run.
struct NameserverOutcome {
  std::string nameserver;  // as configured; the `nameserver` label
  std::string reason;      // empty when the nameserver answered with records
  std::string detail;
  std::vector<std::string> targets;  // sorted, unique
  double ttl_seconds = 0;
  double lookup_seconds = 0;
};

// Turns a c-ares outcome (status, and the response when status is ARES_SUCCESS) into a
// NameserverOutcome. `question` names the query in details ("www.example.test A").
NameserverOutcome DnsOutcome(const std::string& nameserver, const std::string& question,
                             int ares_status, const std::vector<unsigned char>& packet, int qtype,
                             double lookup_seconds, Duration timeout);

// Which region an answer belongs to, from the config's `regions.*.addresses`.
class RegionIndex {
 public:
  RegionIndex() = default;
  explicit RegionIndex(const std::map<std::string, RegionConfig>& regions);
  // The region whose addresses contain `target` (compared as addresses, so "::01" finds
  // "::1"), else "unknown". An address listed under two regions maps to the first by name.
  std::string RegionOf(const std::string& target) const;

 private:
  std::map<std::string, std::string> by_address_;  // normalised address -> region
};

struct DnsCheck {
  std::string name;           // as configured; the `name` label
  std::string type;           // A, AAAA, CNAME, TXT
  std::string expect_region;  // empty: no expectation
  RegionIndex regions;
};

// The probe's result from every nameserver's outcome: success when all answered with
// records; the first failing nameserver's reason; the per-nameserver samples; agreement
// and, with expect_region, whether everything maps to it.
ProbeResult DnsProbeResult(const DnsCheck& check, const std::vector<NameserverOutcome>& outcomes);

}  // namespace failover
