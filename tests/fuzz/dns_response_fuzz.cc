// libFuzzer target: DNS response messages, as the two parsers in the project read them:
// ParseDnsAnswer (common/dns_query.cc: dns_update's verification, wait_for on DNS) and
// ParseDnsResponse (exporter/probers/dns.cc: the dns probe). The first byte picks the
// asked type; the rest is the message as a nameserver sent it. Neither parser may crash,
// and for the types both support they must agree (same records, same TTL).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "common/dns_query.h"
#include "exporter/probers/dns.h"

namespace {

// A, AAAA, CNAME, TXT (both parsers); NS, SOA (ParseDnsAnswer only).
constexpr int kTypes[] = {1, 28, 5, 16, 2, 6};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int qtype = kTypes[data[0] % std::size(kTypes)];
  const unsigned char* packet = data + 1;
  const size_t len = size - 1;
  // A copy of exactly `len` bytes, so ASan sees any read past the message.
  std::vector<unsigned char> copy(packet, packet + len);
  auto answer = failover::ParseDnsAnswer(copy.data(), copy.size(), qtype);
  if (qtype == 2 || qtype == 6) return 0;
  auto response = failover::ParseDnsResponse(copy.data(), copy.size(), qtype);
  if (answer.has_value() != response.has_value()) std::abort();
  if (!answer) return 0;
  std::set<std::string> unique(answer->records.begin(), answer->records.end());
  if (std::vector<std::string>(unique.begin(), unique.end()) != response->records) std::abort();
  if (!answer->records.empty() && static_cast<std::uint32_t>(answer->ttl) != response->ttl) {
    std::abort();
  }
  if (answer->rcode != failover::DnsRcodeName(response->rcode)) {
    std::abort();
  }
  return 0;
}
