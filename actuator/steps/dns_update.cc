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
  return set ? Describe(set->records, set->ttl) : std::string("nothing (no such record set)");
}

nlohmann::json SetJson(const std::optional<DnsRecordSet>& set) {
  if (!set) return nullptr;
  return {{"name", set->name}, {"type", set->type}, {"ttl", set->ttl}, {"records", set->records}};
}

// The record set with every record in canonical form (unparseable content kept as it is),
// sorted, without duplicates: what comparisons use.
DnsRecordSet Canonical(DnsRecordSet set) {
  for (std::string& r : set.records) {
    if (auto c = CanonicalDnsRecord(set.type, r)) r = *c;
  }
  std::sort(set.records.begin(), set.records.end());
  set.records.erase(std::unique(set.records.begin(), set.records.end()), set.records.end());
  return set;
}

StepOutcome FromError(const Error& e) {
  return e.retryable ? StepOutcome::Retry(e.message) : StepOutcome::Fail(e.message);
}

bool InZone(const std::string& name, const std::string& zone) {
  if (zone == ".") return true;
  if (name == zone) return true;
  return name.size() > zone.size() + 1 &&
         name.compare(name.size() - zone.size(), zone.size(), zone) == 0 &&
         name[name.size() - zone.size() - 1] == '.';
}

// What both steps share: where the record set lives.
struct DnsTarget {
  std::string provider_id;
  std::shared_ptr<DnsProvider> provider;
  std::string zone;
  Template name;
  std::string type;

  Result<std::string> RenderName(const TemplateVars& vars) const {
    auto n = name.Render(vars);
    if (!n) return n.error();
    return CheckName(*n);
  }

  Result<std::string> CheckName(const std::string& text) const {
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

  nlohmann::json BaseJson(const std::string& rendered_name) const {
    return {{"provider", provider_id}, {"zone", zone}, {"name", rendered_name}, {"type", type}};
  }
};

Result<DnsTarget> ParseTarget(const YamlNode& body, const StepFactoryContext& ctx) {
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

Result<int> ParseTtl(const YamlNode& node) {
  auto v = node.AsInt();
  if (!v) return v.error();
  if (*v < 0 || *v > 2147483647LL) return node.Fail("ttl must be between 0 and 2147483647");
  return static_cast<int>(*v);
}

Clock& ClockOf(const StepContext& ctx) {
  return ctx.clock != nullptr ? *ctx.clock : SystemClock::Get();
}

class DnsUpdateStep final : public Step {
 public:
  DnsUpdateStep(DnsTarget target, std::vector<Template> records, std::optional<int> ttl,
                std::string verify_nameserver, Duration verify_timeout)
      : target_(std::move(target)),
        records_(std::move(records)),
        ttl_(ttl),
        verify_nameserver_(std::move(verify_nameserver)),
        verify_timeout_(verify_timeout) {}

  const std::string& kind() const override {
    static const std::string k = "dns_update";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars& vars) const override {
    auto name = target_.RenderName(vars);
    if (!name) return name.error();
    auto records = RenderRecords(vars);
    if (!records) return records.error();
    nlohmann::json out = target_.BaseJson(*name);
    out["records"] = *records;
    out["ttl"] = ttl_ ? nlohmann::json(*ttl_) : nlohmann::json("unchanged");
    if (!verify_nameserver_.empty()) {
      out["verify_nameserver"] = verify_nameserver_;
      out["verify_timeout"] = FormatDuration(verify_timeout_);
    }
    return out;
  }

  StepOutcome Run(StepContext& ctx) override {
    static const TemplateVars kNoVars;
    const TemplateVars& vars = ctx.vars != nullptr ? *ctx.vars : kNoVars;
    Clock& clock = ClockOf(ctx);
    auto name = target_.RenderName(vars);
    if (!name) return StepOutcome::Fail(name.error().message);
    auto records = RenderRecords(vars);
    if (!records) return StepOutcome::Fail(records.error().message);
    const std::string label = *name + " " + target_.type;

    auto before = target_.provider->Get(target_.zone, *name, target_.type, ctx.deadline);
    if (!before) return FromError(before.error());
    std::optional<DnsRecordSet> current;
    if (*before) current = Canonical(**before);

    DnsRecordSet desired;
    desired.name = *name;
    desired.type = target_.type;
    desired.records = *records;
    desired.ttl = ttl_ ? *ttl_ : (current ? current->ttl : kDefaultTtl);

    nlohmann::json details = {{"before", SetJson(*before)}};
    if (current && *current == desired) {
      details["after"] = SetJson(*before);
      details["changed"] = false;
      std::string msg = label + " already " + Describe(desired.records, desired.ttl);
      if (!verify_nameserver_.empty()) {
        // A crash between the write and the verification leaves nothing to write on the
        // resumed run; the nameserver is still asked, which only reads.
        if (auto v = Verify(ctx, clock, desired, label); !v) {
          StepOutcome out = StepOutcome::Fail(v.error().message);
          out.details = std::move(details);
          return out;
        }
        details["verified_by"] = verify_nameserver_;
        return StepOutcome::Ok(msg + ", nothing to do (" + verify_nameserver_ + " agrees)",
                               std::move(details));
      }
      details["verified_by"] = nullptr;
      return StepOutcome::Ok(msg + ", nothing to do", std::move(details));
    }

    if (ctx.cancelled())
      return StepOutcome::Retry("shutting down before " + label + " was changed");
    if (auto s = target_.provider->Set(target_.zone, desired, ctx.deadline); !s) {
      StepOutcome out = FromError(s.error());
      out.details = std::move(details);
      return out;
    }
    log::Info("dns record set updated", {{"provider", target_.provider_id},
                                         {"zone", target_.zone},
                                         {"name", *name},
                                         {"type", target_.type},
                                         {"before", Describe(*before)},
                                         {"after", Describe(desired.records, desired.ttl)}});

    auto after = target_.provider->Get(target_.zone, *name, target_.type, ctx.deadline);
    if (!after) {
      StepOutcome out = FromError(after.error());
      out.details = std::move(details);
      return out;
    }
    details["after"] = SetJson(*after);
    details["changed"] = true;
    if (!*after || Canonical(**after) != desired) {
      // Desired-state: running again reads and rewrites, so this is worth a retry.
      StepOutcome out = StepOutcome::Retry("after the update " + target_.provider->kind() +
                                           " reports " + label + " as " + Describe(*after) +
                                           " instead of " + Describe(desired.records, desired.ttl));
      out.details = std::move(details);
      return out;
    }
    std::string msg =
        label + ": " + Describe(*before) + " -> " + Describe(desired.records, desired.ttl);
    if (!verify_nameserver_.empty()) {
      if (auto v = Verify(ctx, clock, desired, label); !v) {
        StepOutcome out = StepOutcome::Fail(v.error().message);
        out.details = std::move(details);
        return out;
      }
      details["verified_by"] = verify_nameserver_;
      return StepOutcome::Ok(msg + ", verified at " + verify_nameserver_, std::move(details));
    }
    details["verified_by"] = nullptr;
    return StepOutcome::Ok(msg, std::move(details));
  }

 private:
  Result<std::vector<std::string>> RenderRecords(const TemplateVars& vars) const {
    std::vector<std::string> out;
    for (size_t i = 0; i < records_.size(); ++i) {
      auto text = records_[i].Render(vars);
      if (!text)
        return Error::Invalid("records[" + std::to_string(i) + "]: " + text.error().message);
      auto c = CanonicalDnsRecord(target_.type, *text);
      if (!c) return Error::Invalid("records[" + std::to_string(i) + "]: " + c.error().message);
      out.push_back(*c);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    if (target_.type == "CNAME" && out.size() != 1) {
      return Error::Invalid("a CNAME record set holds exactly one record");
    }
    return out;
  }

  // Polls the authoritative nameserver until it answers the desired records.
  Status Verify(StepContext& ctx, Clock& clock, const DnsRecordSet& desired,
                const std::string& label) const {
    const MonoTime start = clock.Now();
    const MonoTime until = std::min(start + verify_timeout_, ctx.deadline);
    Duration interval = kFirstPoll;
    std::string last = "nothing";
    while (true) {
      if (ctx.cancelled()) {
        return Error{ErrorCode::kUnavailable, "shutting down while verifying " + label, true};
      }
      Duration left = until - clock.Now();
      Duration qt = std::clamp<Duration>(left, std::chrono::milliseconds(100), kMaxQueryTimeout);
      auto answer = QueryDns(verify_nameserver_, desired.name, desired.type, qt);
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
    return Error::Invalid("nameserver " + verify_nameserver_ + " still answers " + last + " for " +
                          label + " after " + FormatDuration(clock.Now() - start) + ", expected " +
                          Join(desired.records) + " (the provider holds it)");
  }

  DnsTarget target_;
  std::vector<Template> records_;
  std::optional<int> ttl_;
  std::string verify_nameserver_;
  Duration verify_timeout_;
};

class DnsTtlStep final : public Step {
 public:
  DnsTtlStep(DnsTarget target, int ttl) : target_(std::move(target)), ttl_(ttl) {}

  const std::string& kind() const override {
    static const std::string k = "dns_ttl";
    return k;
  }

  Result<nlohmann::json> Render(const TemplateVars& vars) const override {
    auto name = target_.RenderName(vars);
    if (!name) return name.error();
    nlohmann::json out = target_.BaseJson(*name);
    out["ttl"] = ttl_;
    return out;
  }

  StepOutcome Run(StepContext& ctx) override {
    static const TemplateVars kNoVars;
    const TemplateVars& vars = ctx.vars != nullptr ? *ctx.vars : kNoVars;
    auto name = target_.RenderName(vars);
    if (!name) return StepOutcome::Fail(name.error().message);
    const std::string label = *name + " " + target_.type;

    auto before = target_.provider->Get(target_.zone, *name, target_.type, ctx.deadline);
    if (!before) return FromError(before.error());
    nlohmann::json details = {{"before", SetJson(*before)}};
    if (!*before) {
      StepOutcome out = StepOutcome::Fail(label + " does not exist in zone " + target_.zone +
                                          ": there is no TTL to change");
      out.details = std::move(details);
      return out;
    }
    const DnsRecordSet& cur = **before;
    if (cur.ttl == ttl_) {
      details["after"] = SetJson(*before);
      details["changed"] = false;
      return StepOutcome::Ok(label + " already has ttl " + std::to_string(ttl_) + " (records " +
                                 Join(cur.records) + "), nothing to do",
                             std::move(details));
    }
    if (ctx.cancelled())
      return StepOutcome::Retry("shutting down before " + label + " was changed");
    DnsRecordSet desired = cur;  // the records exactly as the provider holds them
    desired.name = *name;
    desired.ttl = ttl_;
    if (auto s = target_.provider->Set(target_.zone, desired, ctx.deadline); !s) {
      StepOutcome out = FromError(s.error());
      out.details = std::move(details);
      return out;
    }
    log::Info("dns record set ttl changed", {{"provider", target_.provider_id},
                                             {"name", *name},
                                             {"type", target_.type},
                                             {"from", cur.ttl},
                                             {"to", ttl_}});
    auto after = target_.provider->Get(target_.zone, *name, target_.type, ctx.deadline);
    if (!after) {
      StepOutcome out = FromError(after.error());
      out.details = std::move(details);
      return out;
    }
    details["after"] = SetJson(*after);
    details["changed"] = true;
    if (!*after || (*after)->ttl != ttl_ || Canonical(**after).records != Canonical(cur).records) {
      StepOutcome out = StepOutcome::Retry("after the update " + target_.provider->kind() +
                                           " reports " + label + " as " + Describe(*after) +
                                           " instead of " + Describe(cur.records, ttl_));
      out.details = std::move(details);
      return out;
    }
    std::string msg = label + ": ttl " + std::to_string(cur.ttl) + " -> " + std::to_string(ttl_) +
                      " (records kept: " + Join(cur.records) + ")";
    if (ttl_ < cur.ttl) {
      msg += "; resolvers may cache the old answer for up to " + std::to_string(cur.ttl) + "s";
    }
    return StepOutcome::Ok(msg, std::move(details));
  }

 private:
  DnsTarget target_;
  int ttl_;
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
  if (auto s = body.ExpectKeys(WithCommonKeys({"provider", "zone", "name", "type", "records", "ttl",
                                               "verify_nameserver", "verify_timeout"}));
      !s) {
    return s.error();
  }
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  auto target = ParseTarget(body, ctx);
  if (!target) return target.error();

  auto records_node = body.Require("records");
  if (!records_node) return records_node.error();
  auto items = records_node->Items();
  if (!items) return items.error();
  if (items->empty()) return records_node->Fail("needs at least one record");
  std::vector<Template> records;
  std::vector<std::string> literal;
  for (const YamlNode& item : *items) {
    auto text = item.AsString();
    if (!text) return text.error();
    auto tmpl = Template::Parse(*text);
    if (!tmpl) return item.Fail(tmpl.error().message);
    if (target->type == "CNAME") {  // a host name: values are single labels, as in `name`
      if (auto c = tmpl->SetContext(TemplateContext::kDnsName); !c) {
        return item.Fail(c.error().message);
      }
    }
    if (!tmpl->has_variables()) {
      auto c = CanonicalDnsRecord(target->type, *text);
      if (!c) return item.Fail(c.error().message);
      if (std::find(literal.begin(), literal.end(), *c) != literal.end()) {
        return item.Fail("record " + *c + " is listed twice");
      }
      literal.push_back(*c);
    }
    records.push_back(std::move(*tmpl));
  }
  if (target->type == "CNAME" && records.size() != 1) {
    return records_node->Fail("a CNAME record set holds exactly one record");
  }

  std::optional<int> ttl;
  if (auto t = body.Get("ttl")) {
    auto v = ParseTtl(*t);
    if (!v) return v.error();
    ttl = *v;
  }
  std::string verify_nameserver;
  if (auto v = body.Get("verify_nameserver")) {
    auto s = v->AsString();
    if (!s) return s.error();
    auto parsed = ParseDnsServer(*s);
    if (!parsed) return v->Fail(parsed.error().message);
    verify_nameserver = *s;
  }
  Duration verify_timeout = std::chrono::seconds(30);
  if (auto v = body.Get("verify_timeout")) {
    if (verify_nameserver.empty()) return v->Fail("verify_timeout needs verify_nameserver");
    auto d = v->AsDuration();
    if (!d) return d.error();
    if (d->count() <= 0) return v->Fail("must be positive");
    verify_timeout = *d;
  }
  auto step = std::make_unique<DnsUpdateStep>(std::move(*target), std::move(records), ttl,
                                              std::move(verify_nameserver), verify_timeout);
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

Result<std::unique_ptr<Step>> NewDnsTtlStep(const YamlNode& body, const StepFactoryContext& ctx) {
  if (auto s = body.ExpectKeys(WithCommonKeys({"provider", "zone", "name", "type", "ttl"})); !s) {
    return s.error();
  }
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  auto target = ParseTarget(body, ctx);
  if (!target) return target.error();
  auto t = body.Require("ttl");
  if (!t) return t.error();
  auto ttl = ParseTtl(*t);
  if (!ttl) return ttl.error();
  auto step = std::make_unique<DnsTtlStep>(std::move(*target), *ttl);
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
