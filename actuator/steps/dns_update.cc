#include "actuator/steps/dns_update.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "actuator/dns/provider.h"
#include "common/dns_query.h"
#include "common/log.h"

namespace failover {
namespace {

constexpr const char* kTypes[] = {"A", "AAAA", "CNAME", "TXT"};
constexpr int kDefaultTtl = 300;  // a record set created without `ttl:`
constexpr Duration kMaxQueryTimeout = std::chrono::seconds(2);
constexpr Duration kFirstPoll = std::chrono::milliseconds(100);
constexpr Duration kMaxPoll = std::chrono::seconds(1);

std::string Join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

bool HasSpace(const std::string& s) {
  return std::any_of(s.begin(), s.end(),
                     [](unsigned char c) { return std::isspace(c) != 0 || std::iscntrl(c) != 0; });
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

Result<std::vector<std::string>> ParseQuotedTxt(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  auto bad = [&](const std::string& why) {
    return Error::Invalid("TXT record " + s + ": " + why + " at position " + std::to_string(i));
  };
  while (true) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])) != 0) ++i;
    if (i == s.size()) break;
    if (s[i] != '"') return bad("expected a quoted string");
    ++i;
    std::string cur;
    bool closed = false;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        closed = true;
        ++i;
        break;
      }
      if (c == '\\') {
        if (i + 1 >= s.size()) return bad("dangling backslash");
        if (std::isdigit(static_cast<unsigned char>(s[i + 1])) != 0) {
          if (i + 3 >= s.size() || std::isdigit(static_cast<unsigned char>(s[i + 2])) == 0 ||
              std::isdigit(static_cast<unsigned char>(s[i + 3])) == 0) {
            return bad("\\DDD needs three digits");
          }
          int v = std::stoi(s.substr(i + 1, 3));
          if (v > 255) return bad("\\DDD above 255");
          cur += static_cast<char>(v);
          i += 4;
        } else {
          cur += s[i + 1];
          i += 2;
        }
        continue;
      }
      cur += c;
      ++i;
    }
    if (!closed) return bad("unterminated quoted string");
    if (cur.size() > 255) return bad("a TXT string is at most 255 bytes");
    out.push_back(std::move(cur));
  }
  if (out.empty()) return bad("no quoted string");
  return out;
}

std::string Describe(const std::vector<std::string>& records, int ttl) {
  return (records.empty() ? std::string("nothing") : Join(records)) + " (ttl " +
         std::to_string(ttl) + ")";
}

std::string Describe(const std::optional<DnsRecordSet>& set) {
  return set ? DescribeDnsSet(*set) : std::string("nothing (no such record set)");
}

nlohmann::json SetJson(const std::optional<DnsRecordSet>& set) {
  if (!set) return nullptr;
  return DnsSetJson(*set);
}

DnsRecordSet Canonical(DnsRecordSet set) { return CanonicalDnsSet(std::move(set)); }

bool InZone(const std::string& name, const std::string& zone) {
  if (zone == ".") return true;
  if (name == zone) return true;
  return name.size() > zone.size() + 1 &&
         name.compare(name.size() - zone.size(), zone.size(), zone) == 0 &&
         name[name.size() - zone.size() - 1] == '.';
}

}  // namespace

Result<std::string> DnsTarget::RenderName(const TemplateVars& vars) const {
  auto n = name.Render(vars);
  if (!n) return n.error();
  return CheckName(*n);
}

Result<std::string> DnsTarget::CheckName(const std::string& text) const {
  if (Trim(text).empty()) return Error::Invalid("name is empty");
  if (HasSpace(text)) return Error::Invalid("name \"" + text + "\" contains white space");
  if (text.find("..") != std::string::npos) {
    return Error::Invalid("name \"" + text + "\" has an empty label");
  }
  std::string fq = Fqdn(text);
  if (!InZone(fq, zone)) {
    return Error::Invalid("name " + fq + " is not in zone " + zone +
                          " (names are fully qualified: www." + zone + ")");
  }
  return fq;
}

nlohmann::json DnsTarget::BaseJson(const std::string& rendered_name) const {
  return {{"provider", provider_id}, {"zone", zone}, {"name", rendered_name}, {"type", type}};
}

DnsRecordSet CanonicalDnsSet(DnsRecordSet set) {
  for (std::string& r : set.records) {
    if (auto c = CanonicalDnsRecord(set.type, r)) r = *c;
  }
  std::sort(set.records.begin(), set.records.end());
  set.records.erase(std::unique(set.records.begin(), set.records.end()), set.records.end());
  if (set.alias) {
    set.alias->dns_name = Fqdn(set.alias->dns_name);
    set.ttl = 0;
  }
  return set;
}

nlohmann::json DnsSetJson(const DnsRecordSet& set) {
  nlohmann::json j = {{"name", set.name}, {"type", set.type}};
  if (set.alias) {
    j["alias_target"] = {{"hosted_zone_id", set.alias->hosted_zone_id},
                         {"dns_name", set.alias->dns_name},
                         {"evaluate_target_health", set.alias->evaluate_target_health}};
  } else {
    j["ttl"] = set.ttl;
    j["records"] = set.records;
  }
  if (!set.set_identifier.empty()) j["set_identifier"] = set.set_identifier;
  if (set.weight) j["weight"] = *set.weight;
  if (!set.failover.empty()) j["failover"] = set.failover;
  if (!set.health_check_id.empty()) j["health_check_id"] = set.health_check_id;
  return j;
}

std::string DescribeDnsSet(const DnsRecordSet& set) {
  std::string out;
  if (!set.set_identifier.empty()) {
    out = "[SetIdentifier " + set.set_identifier;
    if (set.weight) out += ", weight " + std::to_string(*set.weight);
    if (!set.failover.empty()) out += ", " + set.failover;
    if (!set.health_check_id.empty()) out += ", health check " + set.health_check_id;
    out += "] ";
  }
  if (set.alias) {
    return out + "alias to " + set.alias->dns_name + " (zone " + set.alias->hosted_zone_id +
           (set.alias->evaluate_target_health ? ", evaluate target health)" : ")");
  }
  return out + Describe(set.records, set.ttl);
}

Result<DnsTarget> ParseDnsTarget(const YamlNode& body, const StepFactoryContext& ctx) {
  DnsTarget t;
  auto provider = body.Require("provider");
  if (!provider) return provider.error();
  auto pid = provider->AsString();
  if (!pid) return pid.error();
  t.provider_id = *pid;
  if (ctx.providers != nullptr) {
    auto it = ctx.providers->find(*pid);
    if (it != ctx.providers->end()) t.provider = it->second;
  }
  if (t.provider == nullptr) {
    std::vector<std::string> known;
    if (ctx.providers != nullptr) {
      for (const auto& [id, p] : *ctx.providers) known.push_back(id);
    }
    return provider->Fail("unknown provider \"" + *pid + "\" (" +
                          (known.empty() ? std::string("no providers are configured under "
                                                       "providers:")
                                         : "known providers: " + Join(known)) +
                          ")");
  }

  auto zone = body.Require("zone");
  if (!zone) return zone.error();
  auto z = zone->AsString();
  if (!z) return z.error();
  if (Trim(*z).empty() || HasSpace(*z) || z->find("..") != std::string::npos) {
    return zone->Fail("invalid zone name \"" + *z + "\"");
  }
  t.zone = Fqdn(*z);

  auto type = body.Require("type");
  if (!type) return type.error();
  auto ty = type->AsString();
  if (!ty) return ty.error();
  std::string upper = *ty;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  if (std::find(std::begin(kTypes), std::end(kTypes), upper) == std::end(kTypes)) {
    return type->Fail("unsupported record type \"" + *ty + "\" (supported: A, AAAA, CNAME, TXT)");
  }
  t.type = upper;

  auto name = body.Require("name");
  if (!name) return name.error();
  auto n = name->AsString();
  if (!n) return n.error();
  auto tmpl = Template::Parse(*n);
  if (!tmpl) return name->Fail(tmpl.error().message);
  // Each value is one DNS label: it cannot add labels and reach another record.
  if (auto c = tmpl->SetContext(TemplateContext::kDnsName); !c)
    return name->Fail(c.error().message);
  t.name = std::move(*tmpl);
  if (!t.name.has_variables()) {
    if (auto c = t.CheckName(*n); !c) return name->Fail(c.error().message);
  }
  return t;
}

namespace {

Result<int> ParseTtl(const YamlNode& node) {
  auto v = node.AsInt();
  if (!v) return v.error();
  if (*v < 0 || *v > 2147483647LL) return node.Fail("ttl must be between 0 and 2147483647");
  return static_cast<int>(*v);
}

// dns_update's Route 53 style fields (all empty for a plain record set).
struct DnsRouting {
  std::optional<DnsAliasTarget> alias;  // AliasTarget
  std::string set_identifier;           // SetIdentifier
  std::optional<int> weight;            // Weight
  std::string failover;                 // Failover
  std::string health_check_id;          // HealthCheckId
};

Status NeedFeature(const YamlNode& node, const DnsTarget& t, DnsFeature f) {
  if (t.provider->Supports(f)) return {};
  return node.Fail("provider \"" + t.provider_id + "\" (" + t.provider->kind() +
                   ") does not support " + DnsFeatureName(f) + "; route53 does");
}

Result<DnsRouting> ParseDnsRouting(const YamlNode& body, const DnsTarget& t) {
  DnsRouting r;
  if (auto a = body.Get("AliasTarget")) {
    if (auto s = a->ExpectMap(); !s) return s.error();
    if (auto s = NeedFeature(*a, t, DnsFeature::kAlias); !s) return s.error();
    DnsAliasTarget alias;
    auto zid = a->Require("HostedZoneId");
    if (!zid) return zid.error();
    auto z = zid->AsString();
    if (!z) return z.error();
    if (z->empty() ||
        !std::all_of(z->begin(), z->end(), [](unsigned char c) { return std::isalnum(c) != 0; })) {
      return zid->Fail("expected a hosted zone id like Z35SXDOTRQ7X7K, found \"" + *z + "\"");
    }
    alias.hosted_zone_id = *z;
    auto dn = a->Require("DNSName");
    if (!dn) return dn.error();
    auto d = dn->AsString();
    if (!d) return d.error();
    if (Trim(*d).empty() || HasSpace(*d) || d->find("..") != std::string::npos ||
        d->front() == '.') {
      return dn->Fail("expected a DNS name like my-alb-123.eu-west-1.elb.amazonaws.com, found \"" +
                      *d + "\"");
    }
    alias.dns_name = Fqdn(*d);
    auto eth = a->Require("EvaluateTargetHealth");
    if (!eth) return eth.error();
    auto e = eth->AsBool();
    if (!e) return e.error();
    alias.evaluate_target_health = *e;
    if (auto s = a->RejectUnreadKeys(); !s) return s.error();
    r.alias = alias;
  }
  auto sid = body.Get("SetIdentifier");
  if (sid) {
    auto v = sid->AsString();
    if (!v) return v.error();
    if (v->empty() || v->size() > 128) {
      return sid->Fail("SetIdentifier must be 1 to 128 characters");
    }
    r.set_identifier = *v;
  }
  if (auto w = body.Get("Weight")) {
    if (!sid) return w->Fail("Weight needs SetIdentifier (which weighted record set)");
    auto v = w->AsInt();
    if (!v) return v.error();
    if (*v < 0 || *v > 255) {
      return w->Fail("Weight must be between 0 and 255, found " + std::to_string(*v));
    }
    if (auto s = NeedFeature(*w, t, DnsFeature::kWeighted); !s) return s.error();
    r.weight = static_cast<int>(*v);
  }
  if (auto f = body.Get("Failover")) {
    if (!sid) return f->Fail("Failover needs SetIdentifier (which failover record set)");
    if (r.weight) return f->Fail("Failover and Weight exclude each other: one routing policy");
    auto v = f->AsString();
    if (!v) return v.error();
    if (*v != "PRIMARY" && *v != "SECONDARY") {
      return f->Fail("Failover must be PRIMARY or SECONDARY, found \"" + *v + "\"");
    }
    if (auto s = NeedFeature(*f, t, DnsFeature::kFailover); !s) return s.error();
    r.failover = *v;
  }
  if (auto h = body.Get("HealthCheckId")) {
    if (!sid) return h->Fail("HealthCheckId needs SetIdentifier (a weighted or failover set)");
    auto v = h->AsString();
    if (!v) return v.error();
    if (v->empty() || HasSpace(*v)) return h->Fail("HealthCheckId is empty or has white space");
    r.health_check_id = *v;
  }
  if (sid && !t.provider->Supports(DnsFeature::kWeighted) &&
      !t.provider->Supports(DnsFeature::kFailover)) {
    if (auto s = NeedFeature(*sid, t, DnsFeature::kFailover); !s) return s.error();
  }
  return r;
}

// What a dns_update: block asks for (besides timeout, retries, backoff).
struct DnsUpdateSpec {
  DnsTarget target;
  DnsRouting routing;             // AliasTarget, SetIdentifier, ... (empty for a plain set)
  std::vector<Template> records;  // empty: the records stay as they are (routing, alias)
  std::optional<int> ttl;         // unset: the set's TTL is kept (kDefaultTtl for a new set)
  std::string verify_nameserver;  // empty: no nameserver is asked
  Duration verify_timeout = std::chrono::seconds(30);
};

Result<DnsUpdateSpec> ParseDnsUpdateSpec(const YamlNode& body, const StepFactoryContext& ctx) {
  DnsUpdateSpec spec;
  auto target = ParseDnsTarget(body, ctx);
  if (!target) return target.error();
  spec.target = std::move(*target);
  auto routing = ParseDnsRouting(body, spec.target);
  if (!routing) return routing.error();
  spec.routing = std::move(*routing);

  auto records_node = body.Get("records");
  if (records_node && spec.routing.alias) {
    return records_node->Fail(
        "records and AliasTarget exclude each other: an alias answers what its target answers");
  }
  if (!records_node && !spec.routing.alias && spec.routing.set_identifier.empty()) {
    return body.Fail("records (or AliasTarget) is required");
  }
  std::vector<YamlNode> record_items;
  if (records_node) {
    auto items = records_node->Items();
    if (!items) return items.error();
    if (items->empty()) return records_node->Fail("needs at least one record");
    record_items = std::move(*items);
  }
  std::vector<std::string> literal;
  for (const YamlNode& item : record_items) {
    auto text = item.AsString();
    if (!text) return text.error();
    auto tmpl = Template::Parse(*text);
    if (!tmpl) return item.Fail(tmpl.error().message);
    if (spec.target.type == "CNAME") {  // a host name: values are single labels, as in `name`
      if (auto c = tmpl->SetContext(TemplateContext::kDnsName); !c) {
        return item.Fail(c.error().message);
      }
    }
    if (!tmpl->has_variables()) {
      auto c = CanonicalDnsRecord(spec.target.type, *text);
      if (!c) return item.Fail(c.error().message);
      if (std::find(literal.begin(), literal.end(), *c) != literal.end()) {
        return item.Fail("record " + *c + " is listed twice");
      }
      literal.push_back(*c);
    }
    spec.records.push_back(std::move(*tmpl));
  }
  if (records_node && spec.target.type == "CNAME" && spec.records.size() != 1) {
    return records_node->Fail("a CNAME record set holds exactly one record");
  }

  if (auto t = body.Get("ttl")) {
    if (spec.routing.alias) return t->Fail("an alias record (AliasTarget) has no TTL of its own");
    auto v = ParseTtl(*t);
    if (!v) return v.error();
    spec.ttl = *v;
  }
  if (auto v = body.Get("verify_nameserver")) {
    auto s = v->AsString();
    if (!s) return s.error();
    auto parsed = ParseDnsServer(*s);
    if (!parsed) return v->Fail(parsed.error().message);
    // The answer is known only for plain records, or a failover PRIMARY's (while healthy).
    if (spec.routing.alias) {
      return v->Fail(
          "verify_nameserver cannot check an alias (AliasTarget): the answer is "
          "the target's addresses; the record set is read back from the provider");
    }
    if (!spec.routing.set_identifier.empty() &&
        (spec.routing.failover != "PRIMARY" || records_node == std::nullopt)) {
      return v->Fail(
          "verify_nameserver checks the answer against records: with SetIdentifier "
          "it needs records and Failover: PRIMARY (a weighted or secondary set's "
          "answer is not known in advance)");
    }
    spec.verify_nameserver = *s;
  }
  if (auto v = body.Get("verify_timeout")) {
    if (spec.verify_nameserver.empty()) return v->Fail("verify_timeout needs verify_nameserver");
    auto d = v->AsDuration();
    if (!d) return d.error();
    if (d->count() <= 0) return v->Fail("must be positive");
    spec.verify_timeout = *d;
  }
  return spec;
}

// What a dns_ttl: block asks for (besides timeout, retries, backoff).
struct DnsTtlSpec {
  DnsTarget target;
  int ttl = 0;
};

Result<DnsTtlSpec> ParseDnsTtlSpec(const YamlNode& body, const StepFactoryContext& ctx) {
  DnsTtlSpec spec;
  auto target = ParseDnsTarget(body, ctx);
  if (!target) return target.error();
  spec.target = std::move(*target);
  auto t = body.Require("ttl");
  if (!t) return t.error();
  auto ttl = ParseTtl(*t);
  if (!ttl) return ttl.error();
  spec.ttl = *ttl;
  return spec;
}

Clock& ClockOf(const StepContext& ctx) {
  return ctx.clock != nullptr ? *ctx.clock : SystemClock::Get();
}

class DnsUpdateStep final : public Step {
 public:
  explicit DnsUpdateStep(DnsUpdateSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "dns_update";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars& vars) const override {
    auto name = spec_.target.RenderName(vars);
    if (!name) return name.error();
    auto records = RenderRecords(vars);
    if (!records) return records.error();
    nlohmann::json out = spec_.target.BaseJson(*name);
    if (spec_.routing.alias) {
      out["alias_target"] = {
          {"hosted_zone_id", spec_.routing.alias->hosted_zone_id},
          {"dns_name", spec_.routing.alias->dns_name},
          {"evaluate_target_health", spec_.routing.alias->evaluate_target_health}};
    } else if (!spec_.records.empty()) {
      out["records"] = *records;
      out["ttl"] = spec_.ttl ? nlohmann::json(*spec_.ttl) : nlohmann::json("unchanged");
    } else {
      out["records"] = "unchanged";
    }
    if (!spec_.routing.set_identifier.empty()) out["set_identifier"] = spec_.routing.set_identifier;
    if (spec_.routing.weight) out["weight"] = *spec_.routing.weight;
    if (!spec_.routing.failover.empty()) out["failover"] = spec_.routing.failover;
    if (!spec_.routing.health_check_id.empty())
      out["health_check_id"] = spec_.routing.health_check_id;
    if (!spec_.verify_nameserver.empty()) {
      out["verify_nameserver"] = spec_.verify_nameserver;
      out["verify_timeout"] = FormatDuration(spec_.verify_timeout);
    }
    return out;
  }

  StepOutcome Run(StepContext& ctx) override {
    static const TemplateVars kNoVars;
    const TemplateVars& vars = ctx.vars != nullptr ? *ctx.vars : kNoVars;
    Clock& clock = ClockOf(ctx);
    auto name = spec_.target.RenderName(vars);
    if (!name) return StepOutcome::Fail(name.error().message);
    auto records = RenderRecords(vars);
    if (!records) return StepOutcome::Fail(records.error().message);
    const std::string label = *name + " " + spec_.target.type;
    if (!spec_.routing.set_identifier.empty()) return RunRouted(ctx, clock, *name, *records, label);

    auto before =
        spec_.target.provider->Get(spec_.target.zone, *name, spec_.target.type, ctx.deadline);
    if (!before) return StepOutcome::FromError(before.error());
    std::optional<DnsRecordSet> current;
    if (*before) current = Canonical(**before);

    DnsRecordSet desired;
    desired.name = *name;
    desired.type = spec_.target.type;
    desired.records = *records;
    desired.ttl =
        spec_.ttl ? *spec_.ttl : (current && !current->alias ? current->ttl : kDefaultTtl);
    if (spec_.routing.alias) {
      desired.alias = spec_.routing.alias;
      desired.ttl = 0;
    }

    nlohmann::json details = {{"before", SetJson(*before)}};
    if (current && *current == desired) {
      return Unchanged(ctx, clock, desired, label, SetJson(*before), std::move(details));
    }

    if (ctx.cancelled())
      return StepOutcome::Retry("shutting down before " + label + " was changed");
    if (auto s = spec_.target.provider->Set(spec_.target.zone, desired, ctx.deadline); !s) {
      return StepOutcome::FromError(s.error()).WithDetails(std::move(details));
    }
    log::Info("dns record set updated", {{"provider", spec_.target.provider_id},
                                         {"zone", spec_.target.zone},
                                         {"name", *name},
                                         {"type", spec_.target.type},
                                         {"before", Describe(*before)},
                                         {"after", DescribeDnsSet(desired)}});

    auto after =
        spec_.target.provider->Get(spec_.target.zone, *name, spec_.target.type, ctx.deadline);
    if (!after) {
      return StepOutcome::FromError(after.error()).WithDetails(std::move(details));
    }
    details["after"] = SetJson(*after);
    details["changed"] = true;
    if (!*after || Canonical(**after) != desired) {
      // Desired-state: running again reads and rewrites, so this is worth a retry.
      return StepOutcome::Retry("after the update " + spec_.target.provider->kind() + " reports " +
                                label + " as " + Describe(*after) + " instead of " +
                                DescribeDnsSet(desired))
          .WithDetails(std::move(details));
    }
    return Done(ctx, clock, desired, label, /*changed=*/true,
                label + ": " + Describe(*before) + " -> " + DescribeDnsSet(desired),
                std::move(details));
  }

 private:
  // A record set among several at the name and type (SetIdentifier): read them all, change
  // the named one (and, for Failover, the other failover set, which takes the opposite
  // role) in one batch, read back.
  StepOutcome RunRouted(StepContext& ctx, Clock& clock, const std::string& name,
                        const std::vector<std::string>& records, const std::string& label) {
    auto before =
        spec_.target.provider->ListSets(spec_.target.zone, name, spec_.target.type, ctx.deadline);
    if (!before) return StepOutcome::FromError(before.error());
    nlohmann::json before_json = nlohmann::json::array();
    std::vector<DnsRecordSet> current;
    for (const DnsRecordSet& s : *before) {
      before_json.push_back(DnsSetJson(s));
      current.push_back(Canonical(s));
    }
    nlohmann::json details = {{"before", before_json}};
    auto fail = [&](std::string msg) {
      return StepOutcome::Fail(std::move(msg)).WithDetails(details);
    };
    const DnsRecordSet* mine = nullptr;
    for (const DnsRecordSet& s : current) {
      if (s.set_identifier == spec_.routing.set_identifier) mine = &s;
      if (s.set_identifier.empty()) {
        return fail(label + " is a simple record set (no SetIdentifier) at " +
                    spec_.target.provider->kind() + "; drop SetIdentifier to manage it");
      }
    }
    DnsRecordSet desired;
    if (mine != nullptr) {
      desired = *mine;
    } else {
      desired.name = name;
      desired.type = spec_.target.type;
      desired.set_identifier = spec_.routing.set_identifier;
      desired.ttl = kDefaultTtl;
      if (spec_.records.empty() && !spec_.routing.alias) {
        return fail(label + " has no record set with SetIdentifier " +
                    spec_.routing.set_identifier +
                    " to change; give records or AliasTarget to create it");
      }
      if (!spec_.routing.weight && spec_.routing.failover.empty()) {
        return fail(label + " has no record set with SetIdentifier " +
                    spec_.routing.set_identifier + "; creating it needs Weight or Failover");
      }
    }
    desired.name = name;
    if (spec_.routing.alias) {
      desired.alias = spec_.routing.alias;
      desired.records.clear();
      desired.ttl = 0;
    } else if (!spec_.records.empty()) {
      desired.alias.reset();
      desired.records = records;
      if (spec_.ttl) {
        desired.ttl = *spec_.ttl;
      } else if (mine == nullptr || mine->alias) {
        desired.ttl = kDefaultTtl;
      }
    } else if (spec_.ttl && !desired.alias) {
      desired.ttl = *spec_.ttl;
    }
    if (spec_.routing.weight) {
      desired.weight = spec_.routing.weight;
      desired.failover.clear();
    }
    if (!spec_.routing.failover.empty()) {
      desired.failover = spec_.routing.failover;
      desired.weight.reset();
    }
    if (!spec_.routing.health_check_id.empty())
      desired.health_check_id = spec_.routing.health_check_id;

    std::vector<DnsRecordSet> changes;
    if (mine == nullptr || *mine != desired) changes.push_back(desired);
    if (!desired.failover.empty()) {
      // Route 53 has one PRIMARY and one SECONDARY: the other one takes the opposite role.
      const std::string other_role = desired.failover == "PRIMARY" ? "SECONDARY" : "PRIMARY";
      for (const DnsRecordSet& s : current) {
        if (s.set_identifier != desired.set_identifier && s.failover == desired.failover) {
          DnsRecordSet flipped = s;
          flipped.failover = other_role;
          changes.push_back(flipped);
        }
      }
    }
    std::string plan;
    for (const DnsRecordSet& c : changes) {
      if (!plan.empty()) plan += "; ";
      plan += DescribeDnsSet(c);
    }
    if (changes.empty()) {
      return Unchanged(ctx, clock, desired, label, before_json, std::move(details));
    }
    if (ctx.cancelled())
      return StepOutcome::Retry("shutting down before " + label + " was changed");
    if (auto st = spec_.target.provider->Upsert(spec_.target.zone, changes, ctx.deadline); !st) {
      return StepOutcome::FromError(st.error()).WithDetails(std::move(details));
    }
    log::Info("dns record sets updated", {{"provider", spec_.target.provider_id},
                                          {"zone", spec_.target.zone},
                                          {"name", name},
                                          {"type", spec_.target.type},
                                          {"changes", plan}});
    auto after =
        spec_.target.provider->ListSets(spec_.target.zone, name, spec_.target.type, ctx.deadline);
    if (!after) {
      return StepOutcome::FromError(after.error()).WithDetails(std::move(details));
    }
    nlohmann::json after_json = nlohmann::json::array();
    std::string missing;
    for (const DnsRecordSet& s : *after) after_json.push_back(DnsSetJson(s));
    for (const DnsRecordSet& want : changes) {
      bool found = false;
      for (const DnsRecordSet& s : *after) found = found || Canonical(s) == Canonical(want);
      if (!found) missing += (missing.empty() ? "" : "; ") + DescribeDnsSet(want);
    }
    details["after"] = after_json;
    details["changed"] = true;
    if (!missing.empty()) {
      return StepOutcome::Retry("after the update " + spec_.target.provider->kind() +
                                " does not report " + label + " as " + missing)
          .WithDetails(std::move(details));
    }
    return Done(ctx, clock, desired, label, /*changed=*/true, label + ": " + plan,
                std::move(details));
  }

  // Nothing to change: the provider holds `desired` already (`after`, as read). A crash
  // between the write and the verification leaves nothing to write on the resumed run; the
  // nameserver is still asked, which only reads.
  StepOutcome Unchanged(StepContext& ctx, Clock& clock, const DnsRecordSet& desired,
                        const std::string& label, nlohmann::json after,
                        nlohmann::json details) const {
    details["after"] = std::move(after);
    details["changed"] = false;
    return Done(ctx, clock, desired, label, /*changed=*/false,
                label + " already " + DescribeDnsSet(desired) + ", nothing to do",
                std::move(details));
  }

  // The step's success, once verify_nameserver (when set) answers `desired`: `msg`, and
  // that the nameserver agrees ("verified at" it after a change).
  StepOutcome Done(StepContext& ctx, Clock& clock, const DnsRecordSet& desired,
                   const std::string& label, bool changed, std::string msg,
                   nlohmann::json details) const {
    if (spec_.verify_nameserver.empty()) {
      details["verified_by"] = nullptr;
      return StepOutcome::Ok(std::move(msg), std::move(details));
    }
    if (auto v = Verify(ctx, clock, desired, label); !v) {
      return StepOutcome::Fail(v.error().message).WithDetails(std::move(details));
    }
    details["verified_by"] = spec_.verify_nameserver;
    msg += changed ? ", verified at " + spec_.verify_nameserver
                   : " (" + spec_.verify_nameserver + " agrees)";
    return StepOutcome::Ok(std::move(msg), std::move(details));
  }

  Result<std::vector<std::string>> RenderRecords(const TemplateVars& vars) const {
    std::vector<std::string> out;
    for (size_t i = 0; i < spec_.records.size(); ++i) {
      auto text = spec_.records[i].Render(vars);
      if (!text)
        return Error::Invalid("records[" + std::to_string(i) + "]: " + text.error().message);
      auto c = CanonicalDnsRecord(spec_.target.type, *text);
      if (!c) return Error::Invalid("records[" + std::to_string(i) + "]: " + c.error().message);
      out.push_back(*c);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    if (spec_.target.type == "CNAME" && !spec_.records.empty() && out.size() != 1) {
      return Error::Invalid("a CNAME record set holds exactly one record");
    }
    return out;
  }

  // Polls the authoritative nameserver until it answers the desired records.
  Status Verify(StepContext& ctx, Clock& clock, const DnsRecordSet& desired,
                const std::string& label) const {
    const MonoTime start = clock.Now();
    const MonoTime until = std::min(start + spec_.verify_timeout, ctx.deadline);
    Duration interval = kFirstPoll;
    std::string last = "nothing";
    while (true) {
      if (ctx.cancelled()) {
        return Error{ErrorCode::kUnavailable, "shutting down while verifying " + label, true};
      }
      Duration left = until - clock.Now();
      Duration qt = std::clamp<Duration>(left, std::chrono::milliseconds(100), kMaxQueryTimeout);
      auto answer = QueryDns(spec_.verify_nameserver, desired.name, desired.type, qt);
      if (answer) {
        std::vector<std::string> got;
        for (const std::string& r : answer->records) {
          auto c = CanonicalDnsRecord(desired.type, r);
          got.push_back(c ? *c : r);
        }
        std::sort(got.begin(), got.end());
        got.erase(std::unique(got.begin(), got.end()), got.end());
        if (answer->rcode == "NOERROR" && got == desired.records) return {};
        last = answer->rcode == "NOERROR"
                   ? (got.empty() ? std::string("no records (NODATA)") : Join(got))
                   : answer->rcode;
      } else {
        last = "no answer (" + answer.error().message + ")";
      }
      MonoTime now = clock.Now();
      if (now >= until) break;
      clock.SleepUntil(std::min(now + interval, until));
      interval = std::min<Duration>(interval * 2, kMaxPoll);
    }
    return Error::Invalid("nameserver " + spec_.verify_nameserver + " still answers " + last +
                          " for " + label + " after " + FormatDuration(clock.Now() - start) +
                          ", expected " + Join(desired.records) + " (the provider holds it)");
  }

  DnsUpdateSpec spec_;
};

class DnsTtlStep final : public Step {
 public:
  explicit DnsTtlStep(DnsTtlSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "dns_ttl";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars& vars) const override {
    auto name = spec_.target.RenderName(vars);
    if (!name) return name.error();
    nlohmann::json out = spec_.target.BaseJson(*name);
    out["ttl"] = spec_.ttl;
    return out;
  }

  StepOutcome Run(StepContext& ctx) override {
    static const TemplateVars kNoVars;
    const TemplateVars& vars = ctx.vars != nullptr ? *ctx.vars : kNoVars;
    auto name = spec_.target.RenderName(vars);
    if (!name) return StepOutcome::Fail(name.error().message);
    const std::string label = *name + " " + spec_.target.type;

    auto before =
        spec_.target.provider->Get(spec_.target.zone, *name, spec_.target.type, ctx.deadline);
    if (!before) return StepOutcome::FromError(before.error());
    nlohmann::json details = {{"before", SetJson(*before)}};
    if (!*before) {
      return StepOutcome::Fail(label + " does not exist in zone " + spec_.target.zone +
                               ": there is no TTL to change")
          .WithDetails(std::move(details));
    }
    const DnsRecordSet& cur = **before;
    if (cur.ttl == spec_.ttl) {
      details["after"] = SetJson(*before);
      details["changed"] = false;
      return StepOutcome::Ok(label + " already has ttl " + std::to_string(spec_.ttl) +
                                 " (records " + Join(cur.records) + "), nothing to do",
                             std::move(details));
    }
    if (ctx.cancelled())
      return StepOutcome::Retry("shutting down before " + label + " was changed");
    DnsRecordSet desired = cur;  // the records exactly as the provider holds them
    desired.name = *name;
    desired.ttl = spec_.ttl;
    if (auto s = spec_.target.provider->Set(spec_.target.zone, desired, ctx.deadline); !s) {
      return StepOutcome::FromError(s.error()).WithDetails(std::move(details));
    }
    log::Info("dns record set ttl changed", {{"provider", spec_.target.provider_id},
                                             {"name", *name},
                                             {"type", spec_.target.type},
                                             {"from", cur.ttl},
                                             {"to", spec_.ttl}});
    auto after =
        spec_.target.provider->Get(spec_.target.zone, *name, spec_.target.type, ctx.deadline);
    if (!after) {
      return StepOutcome::FromError(after.error()).WithDetails(std::move(details));
    }
    details["after"] = SetJson(*after);
    details["changed"] = true;
    if (!*after || (*after)->ttl != spec_.ttl ||
        Canonical(**after).records != Canonical(cur).records) {
      return StepOutcome::Retry("after the update " + spec_.target.provider->kind() + " reports " +
                                label + " as " + Describe(*after) + " instead of " +
                                Describe(cur.records, spec_.ttl))
          .WithDetails(std::move(details));
    }
    std::string msg = label + ": ttl " + std::to_string(cur.ttl) + " -> " +
                      std::to_string(spec_.ttl) + " (records kept: " + Join(cur.records) + ")";
    if (spec_.ttl < cur.ttl) {
      msg += "; resolvers may cache the old answer for up to " + std::to_string(cur.ttl) + "s";
    }
    return StepOutcome::Ok(msg, std::move(details));
  }

 private:
  DnsTtlSpec spec_;
};

}  // namespace

Result<std::string> CanonicalDnsRecord(const std::string& type, const std::string& content) {
  if (type == "A" || type == "AAAA") {
    const int family = type == "A" ? AF_INET : AF_INET6;
    std::string text = Trim(content);
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(family, text.c_str(), buf) != 1) {
      return Error::Invalid("\"" + content + "\" is not an " + (type == "A" ? "IPv4" : "IPv6") +
                            " address (type " + type + ")");
    }
    char out[INET6_ADDRSTRLEN] = {0};
    inet_ntop(family, buf, out, sizeof out);
    return std::string(out);
  }
  if (type == "CNAME") {
    std::string text = Trim(content);
    if (text.empty() || HasSpace(text) || text.find("..") != std::string::npos ||
        text.front() == '.') {
      return Error::Invalid("\"" + content + "\" is not a host name (type CNAME)");
    }
    return Fqdn(text);
  }
  if (type == "TXT") {
    std::string text = Trim(content);
    if (!text.empty() && text.front() == '"') {
      auto strings = ParseQuotedTxt(text);
      if (!strings) return strings.error();
      return QuoteTxt(*strings);
    }
    std::vector<std::string> strings;
    for (size_t i = 0; i < content.size(); i += 255) strings.push_back(content.substr(i, 255));
    if (strings.empty()) strings.emplace_back();
    return QuoteTxt(strings);
  }
  return Error::Invalid("unsupported record type \"" + type + "\"");
}

Result<std::unique_ptr<Step>> NewDnsUpdateStep(const YamlNode& body,
                                               const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  auto spec = ParseDnsUpdateSpec(body, ctx);
  if (!spec) return spec.error();
  return FinishStep<DnsUpdateStep>(body, std::move(*spec), *common);
}

Result<std::unique_ptr<Step>> NewDnsTtlStep(const YamlNode& body, const StepFactoryContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  auto spec = ParseDnsTtlSpec(body, ctx);
  if (!spec) return spec.error();
  return FinishStep<DnsTtlStep>(body, std::move(*spec), *common);
}

}  // namespace failover
