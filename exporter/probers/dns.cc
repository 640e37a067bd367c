#include "exporter/probers/dns.h"

#include <ares.h>
#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <set>

#include "common/config_fields.h"
#include "common/dns_query.h"
#include "exporter/ares_driver.h"
#include "exporter/config.h"

namespace failover {

const MetricDesc kDnsRecordTargetMetric = {
    "failover_dns_record_target",
    "One series per record in the last answer of each nameserver; always 1. target_region is "
    "the region whose addresses contain the target, or \"unknown\"."};
const MetricDesc kDnsRecordTtlMetric = {
    "failover_dns_record_ttl_seconds",
    "Smallest TTL of the records in the last answer of each nameserver."};
const MetricDesc kDnsLookupSecondsMetric = {
    "failover_dns_lookup_seconds",
    "How long each nameserver took to answer in the last run (until the failure, if any)."};
const MetricDesc kDnsMatchesExpectedMetric = {
    "failover_dns_record_matches_expected",
    "1 if every nameserver answered and every record maps to expect_region, else 0."};
const MetricDesc kDnsNameserversAgreeMetric = {
    "failover_dns_nameservers_agree",
    "1 if every nameserver answered with the same set of records, else 0."};

namespace {

struct TypeInfo {
  const char* name;
  int code;
};
constexpr TypeInfo kTypes[] = {{"A", 1}, {"AAAA", 28}, {"CNAME", 5}, {"TXT", 16}};

unsigned U16(const unsigned char* p) { return (unsigned{p[0]} << 8) | p[1]; }
std::uint32_t U32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The (compressed) name at `p` in `packet`; advances `p` past its encoding.
Result<std::string> ReadName(const unsigned char* packet, size_t len, const unsigned char*& p) {
  char* out = nullptr;
  long enclen = 0;
  if (p < packet || p >= packet + len ||
      ares_expand_name(p, packet, static_cast<int>(len), &out, &enclen) != ARES_SUCCESS) {
    return Error::Invalid("malformed response (bad name)");
  }
  std::string name = Lower(out);
  ares_free_string(out);
  p += enclen;
  if (name.empty() || name.back() != '.') name += '.';
  return name;
}

Result<std::string> FormatRdata(const unsigned char* packet, size_t len, int type,
                                const unsigned char* rdata, size_t rdlen) {
  char text[INET6_ADDRSTRLEN] = {0};
  switch (type) {
    case 1:
      if (rdlen != 4) return Error::Invalid("malformed response (A record of length != 4)");
      inet_ntop(AF_INET, rdata, text, sizeof text);
      return std::string(text);
    case 28:
      if (rdlen != 16) return Error::Invalid("malformed response (AAAA record of length != 16)");
      inet_ntop(AF_INET6, rdata, text, sizeof text);
      return std::string(text);
    case 5: {
      const unsigned char* p = rdata;
      return ReadName(packet, len, p);
    }
    case 16: {
      std::vector<std::string> strings;
      size_t i = 0;
      while (i < rdlen) {
        size_t n = rdata[i];
        if (i + 1 + n > rdlen) return Error::Invalid("malformed response (bad TXT record)");
        strings.emplace_back(reinterpret_cast<const char*>(rdata + i + 1), n);
        i += 1 + n;
      }
      return QuoteTxt(strings);
    }
  }
  return Error::Invalid("unsupported record type " + std::to_string(type));
}

std::string ReasonForRcode(int rcode) {
  switch (rcode) {
    case 1:
      return "dns_formerr";
    case 2:
      return "dns_servfail";
    case 3:
      return "dns_nxdomain";
    case 4:
      return "dns_notimp";
    case 5:
      return "dns_refused";
    case 9:
      return "dns_notauth";
  }
  return "dns_rcode";
}

std::string NormaliseAddress(const std::string& s) {
  unsigned char buf[sizeof(in6_addr)];
  char text[INET6_ADDRSTRLEN] = {0};
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    inet_ntop(AF_INET, buf, text, sizeof text);
    return text;
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    inet_ntop(AF_INET6, buf, text, sizeof text);
    return text;
  }
  return s;
}

struct Nameserver {
  std::string label;  // as configured
  std::string host;
  int port = 53;
};

class DnsProber final : public Prober, public std::enable_shared_from_this<DnsProber> {
 public:
  DnsProber(DnsCheck check, int qtype, bool tcp, std::vector<Nameserver> servers,
            std::vector<unsigned char> query, Duration timeout)
      : check_(std::move(check)),
        qtype_(qtype),
        tcp_(tcp),
        servers_(std::move(servers)),
        query_(std::move(query)),
        timeout_(timeout) {}

  void Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) override {
    if (env.ares == nullptr) {
      done(ProbeResult::Failure("error", "no DNS resolver in this exporter (internal error)"));
      return;
    }
    struct Run {
      std::shared_ptr<DnsProber> prober;
      ProbeDone done;
      std::vector<NameserverOutcome> outcomes;
      size_t pending = 0;
      MonoTime start;
    };
    auto run = std::make_shared<Run>();
    run->prober = shared_from_this();
    run->done = std::move(done);
    run->outcomes.resize(servers_.size());
    run->pending = servers_.size();
    run->start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < servers_.size(); ++i) {
      AresDriver::Request req;
      req.server = servers_[i].host;
      req.port = servers_[i].port;
      req.tcp = tcp_;
      req.query = query_;
      req.deadline = deadline;
      env.ares->Send(req, [run, i](AresDriver::Reply reply) {
        const DnsProber& p = *run->prober;
        double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - run->start).count();
        run->outcomes[i] = DnsOutcome(p.servers_[i].label, p.check_.name + " " + p.check_.type,
                                      reply.status, reply.packet, p.qtype_, seconds, p.timeout_);
        if (--run->pending > 0) return;
        ProbeResult result = DnsProbeResult(p.check_, run->outcomes);
        ProbeDone d = std::move(run->done);
        d(std::move(result));
      });
    }
  }

 private:
  DnsCheck check_;
  int qtype_;
  bool tcp_;
  std::vector<Nameserver> servers_;
  std::vector<unsigned char> query_;
  Duration timeout_;
};

}  // namespace

Result<DnsResponse> ParseDnsResponse(const unsigned char* packet, size_t len, int qtype) {
  if (len < 12) return Error::Invalid("malformed response (short header)");
  DnsResponse r;
  r.truncated = (packet[2] & 0x02) != 0;
  r.rcode = packet[3] & 0x0f;
  unsigned qdcount = U16(packet + 4);
  unsigned ancount = U16(packet + 6);
  const unsigned char* p = packet + 12;
  const unsigned char* end = packet + len;
  for (unsigned i = 0; i < qdcount; ++i) {
    auto q = ReadName(packet, len, p);
    if (!q) return q.error();
    if (end - p < 4) return Error::Invalid("malformed response (short question)");
    p += 4;
  }
  std::set<std::string> records;
  bool have_ttl = false;
  for (unsigned i = 0; i < ancount; ++i) {
    auto owner = ReadName(packet, len, p);
    if (!owner) return owner.error();
    if (end - p < 10) return Error::Invalid("malformed response (short record)");
    int type = static_cast<int>(U16(p));
    unsigned klass = U16(p + 2);
    std::uint32_t ttl = U32(p + 4);
    size_t rdlen = U16(p + 8);
    p += 10;
    if (static_cast<size_t>(end - p) < rdlen) {
      return Error::Invalid("malformed response (short record data)");
    }
    if (type == qtype && klass == 1) {
      auto text = FormatRdata(packet, len, type, p, rdlen);
      if (!text) return text.error();
      records.insert(std::move(*text));
      // RFC 2181 8: a TTL with the top bit set counts as zero.
      std::uint32_t t = ttl > static_cast<std::uint32_t>(INT_MAX) ? 0 : ttl;
      r.ttl = have_ttl ? std::min(r.ttl, t) : t;
      have_ttl = true;
    }
    p += rdlen;
  }
  r.records.assign(records.begin(), records.end());
  return r;
}

NameserverOutcome DnsOutcome(const std::string& nameserver, const std::string& question,
                             int ares_status, const std::vector<unsigned char>& packet, int qtype,
                             double lookup_seconds, Duration timeout) {
  NameserverOutcome o;
  o.nameserver = nameserver;
  o.lookup_seconds = lookup_seconds;
  auto fail = [&](std::string reason, const std::string& detail) {
    o.reason = std::move(reason);
    o.detail = nameserver + ": " + detail;
    return o;
  };
  if (ares_status == ARES_ETIMEOUT) {
    return fail("timeout", "no answer for " + question + " within " + FormatDuration(timeout));
  }
  if (ares_status == ARES_ECONNREFUSED) {
    return fail("connection_refused", "connection refused (nothing listens on the port)");
  }
  if (ares_status != ARES_SUCCESS) {
    return fail("error",
                std::string("query for ") + question + " failed: " + ares_strerror(ares_status));
  }
  auto r = ParseDnsResponse(packet.data(), packet.size(), qtype);
  if (!r) return fail("error", r.error().message);
  if (r->truncated) {
    return fail("dns_truncated", "truncated answer for " + question +
                                     " over UDP (transport: tcp gets the whole answer)");
  }
  if (r->rcode != 0)
    return fail(ReasonForRcode(r->rcode), DnsRcodeName(r->rcode) + " for " + question);
  if (r->records.empty())
    return fail("dns_nodata", "no " + question + " record (NOERROR, empty answer)");
  o.targets = r->records;
  o.ttl_seconds = r->ttl;
  return o;
}

RegionIndex::RegionIndex(const std::map<std::string, RegionConfig>& regions) {
  for (const auto& [name, region] : regions) {
    for (const std::string& a : region.addresses) by_address_.emplace(NormaliseAddress(a), name);
  }
}

std::string RegionIndex::RegionOf(const std::string& target) const {
  auto it = by_address_.find(NormaliseAddress(target));
  return it == by_address_.end() ? "unknown" : it->second;
}

ProbeResult DnsProbeResult(const DnsCheck& check, const std::vector<NameserverOutcome>& outcomes) {
  ProbeResult result;
  result.success = !outcomes.empty();
  bool agree = !outcomes.empty();
  bool matches = !outcomes.empty();
  for (const NameserverOutcome& o : outcomes) {
    result.samples.push_back(
        {&kDnsLookupSecondsMetric, {{"nameserver", o.nameserver}}, o.lookup_seconds});
    if (!o.reason.empty()) {
      if (result.success) result.reason = o.reason;
      result.detail += (result.detail.empty() ? "" : "; ") + o.detail;
      result.success = false;
      agree = matches = false;
      continue;
    }
    result.samples.push_back({&kDnsRecordTtlMetric, {{"nameserver", o.nameserver}}, o.ttl_seconds});
    for (const std::string& target : o.targets) {
      std::string region = check.regions.RegionOf(target);
      if (region != check.expect_region) matches = false;
      result.samples.push_back({&kDnsRecordTargetMetric,
                                {{"name", check.name},
                                 {"type", check.type},
                                 {"target", target},
                                 {"target_region", region},
                                 {"nameserver", o.nameserver}},
                                1});
    }
    if (o.targets != outcomes.front().targets) agree = false;
  }
  result.samples.push_back({&kDnsNameserversAgreeMetric, {}, agree ? 1.0 : 0.0});
  if (!check.expect_region.empty()) {
    result.samples.push_back({&kDnsMatchesExpectedMetric, {}, matches ? 1.0 : 0.0});
  }
  return result;
}

namespace {

// A dns probe's block as parsed; the keys read here are the keys a dns probe accepts.
struct DnsSpec {
  DnsCheck check;
  int qtype = 1;
  bool tcp = false;
  std::vector<Nameserver> servers;
  std::vector<unsigned char> query;  // the question, built (and so validated) at load
};

Result<DnsSpec> ParseDnsSpec(const YamlNode& node, const ProberContext& ctx) {
  DnsCheck check;
  auto name = RequireField<std::string>(node, "name");
  if (!name) return name.error();
  if (name->value.empty()) return name->node.Fail("name is empty");
  check.name = name->value;

  int qtype = 1;
  check.type = "A";
  if (auto t = node.Get("type")) {
    auto s = t->AsString();
    if (!s) return s.error();
    std::string upper = *s;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    qtype = 0;
    for (const TypeInfo& ti : kTypes) {
      if (upper == ti.name) qtype = ti.code;
    }
    if (qtype == 0) return t->Fail("unsupported type \"" + *s + "\" (A, AAAA, CNAME, TXT)");
    check.type = upper;
  }

  // Building the query now validates the name (label and total lengths, escapes).
  unsigned char* qbuf = nullptr;
  int qlen = 0;
  int rc = ares_create_query(check.name.c_str(), 1 /* IN */, qtype, 0, /*rd=*/1, &qbuf, &qlen, 0);
  if (rc != ARES_SUCCESS) {
    return name->node.Fail("\"" + check.name + "\" is not a valid DNS name (" + ares_strerror(rc) +
                           ")");
  }
  std::vector<unsigned char> query(qbuf, qbuf + qlen);
  ares_free_string(qbuf);

  auto ns = node.Require("nameservers");
  if (!ns) return ns.error();
  auto items = ns->Items();
  if (!items) return items.error();
  if (items->empty()) return ns->Fail("at least one nameserver is needed");
  std::vector<Nameserver> servers;
  std::set<std::string> seen;
  for (const YamlNode& item : *items) {
    auto s = item.AsString();
    if (!s) return s.error();
    auto hp = ParseDnsServer(*s);
    if (!hp) return item.Fail(hp.error().message);
    if (!seen.insert(*s).second) return item.Fail("nameserver \"" + *s + "\" is listed twice");
    servers.push_back({*s, hp->first, hp->second});
  }

  bool tcp = false;
  if (auto t = node.Get("transport")) {
    auto s = t->AsString();
    if (!s) return s.error();
    if (*s != "udp" && *s != "tcp")
      return t->Fail("transport must be udp or tcp, not \"" + *s + "\"");
    tcp = *s == "tcp";
  }

  static const std::map<std::string, RegionConfig> kNoRegions;
  const auto& regions = ctx.regions != nullptr ? *ctx.regions : kNoRegions;
  if (auto e = node.Get("expect_region")) {
    auto s = e->AsString();
    if (!s) return s.error();
    if (auto known = ExpectKnownRegion(*e, *s, regions); !known) return known.error();
    if (qtype != 1 && qtype != 28) {
      return e->Fail("expect_region needs type A or AAAA (regions are matched by address)");
    }
    if (regions.at(*s).addresses.empty()) {
      return e->Fail("region \"" + *s + "\" has no addresses to match answers against");
    }
    check.expect_region = *s;
  }
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  check.regions = RegionIndex(regions);
  return DnsSpec{std::move(check), qtype, tcp, std::move(servers), std::move(query)};
}

}  // namespace

Result<std::shared_ptr<Prober>> NewDnsProber(const YamlNode& node, const ProberContext& ctx) {
  auto spec = ParseDnsSpec(node, ctx);
  if (!spec) return spec.error();
  return std::shared_ptr<Prober>(std::make_shared<DnsProber>(std::move(spec->check), spec->qtype,
                                                             spec->tcp, std::move(spec->servers),
                                                             std::move(spec->query), ctx.timeout));
}

}  // namespace failover
