// A small synchronous DNS client on c-ares: one question to one server, no search
// domains, no /etc/hosts, no recursion desired. Used to ask an authoritative nameserver
// what it answers right now (dns_update's verification, wait_for on a DNS answer).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/result.h"

struct ares_options;

namespace failover {

struct DnsAnswer {
  std::string rcode;  // NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... ("RCODE<n>" if unknown)
  // Records of the asked type in the answer section, in presentation format, sorted:
  //   A "127.0.0.3", AAAA "2001:db8::1" (inet_ntop), CNAME "target.example." (lower
  //   case, trailing dot), TXT "\"v=spf1 -all\"" (quoted strings separated by a space,
  //   '"' and '\' escaped, other bytes outside 0x20..0x7e as \DDD).
  std::vector<std::string> records;
  int ttl = 0;                 // smallest TTL among `records`; 0 when there are none
  bool authoritative = false;  // the AA bit
};

// Sends one query for `name` (with or without the trailing dot) of `type` (A, AAAA,
// CNAME, TXT) to `server` ("127.0.0.1:5353", "[::1]:53", or an address alone for port
// 53) over UDP (falls back to TCP on truncation) or TCP, and waits for the answer.
// Any response is a DnsAnswer, whatever its rcode; errors are for no usable answer
// (timeout: retryable, kTimeout; refused or unreachable: retryable, kUnavailable) and bad
// arguments (kInvalidArgument).
Result<DnsAnswer> QueryDns(const std::string& server, const std::string& name,
                           const std::string& type, Duration timeout, bool tcp = false);

// Parses one DNS response message as QueryDns does: the rcode, the AA bit and the records
// of type `qtype` (numeric: 1 A, 2 NS, 5 CNAME, 6 SOA, 16 TXT, 28 AAAA), class IN, in the
// answer section. Errors name what is malformed. Pure (tests and tests/fuzz call it).
Result<DnsAnswer> ParseDnsAnswer(const unsigned char* packet, size_t len, int qtype);

// "NXDOMAIN", "SERVFAIL", ... ("RCODE<n>" for the rest).
std::string DnsRcodeName(int rcode);

// The c-ares options (with ARES_OPT_DOMAINS, ARES_OPT_LOOKUPS and ARES_OPT_SERVERS) of a
// query to one given server, set after initialisation: no search domains, no hosts file,
// no servers from /etc/resolv.conf.
void SetAresDirectOptions(ares_options& opts);

// TXT character-strings in the presentation format above: "\"a\" \"b\"".
std::string QuoteTxt(const std::vector<std::string>& strings);

// Splits "host:port", "[v6]:port", "host" (port 53) into a numeric address and a port;
// the address must be an IPv4 or IPv6 literal.
Result<std::pair<std::string, int>> ParseDnsServer(const std::string& server);

}  // namespace failover
