#include "exporter/config.h"

#include <arpa/inet.h>
// The one-call SHA256() of OpenSSL 3 goes through its provider machinery: the first call
// initialises the library and its default provider, ~2 MiB of libcrypto's pages resident
// for good (a process of TCP and DNS probes never needs them otherwise). The digest
// functions below hash directly. They are deprecated in OpenSSL 3, not removed.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <memory_resource>
#include <set>
#include <string_view>

#include "common/config_fields.h"

namespace failover {
namespace {

bool ValidIp(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Result<std::map<std::string, RegionConfig>> LoadRegions(const YamlNode& node) {
  std::map<std::string, RegionConfig> regions;
  auto entries = node.Entries();
  if (!entries) return entries.error();
  for (const auto& [name, body] : *entries) {
    if (name.empty()) return body.Fail("region name is empty");
    RegionConfig rc;
    if (!body.IsNull()) {
      if (auto s = body.ExpectMap(); !s) return s.error();
      if (auto a = body.Get("addresses")) {
        auto items = a->Items();
        if (!items) return items.error();
        for (const YamlNode& item : *items) {
          auto ip = item.AsString();
          if (!ip) return ip.error();
          if (!ValidIp(*ip)) return item.Fail("\"" + *ip + "\" is not an IPv4 or IPv6 address");
          rc.addresses.push_back(*ip);
        }
      }
      if (auto s = body.RejectUnreadKeys(); !s) return s.error();
    }
    regions[name] = rc;
  }
  return regions;
}

Result<ProbeConfig> LoadProbe(const YamlNode& node, const ExporterConfig& cfg,
                              const ProberRegistry& registry, const std::string& regions_fp) {
  std::vector<std::string> kinds = registry.Names();
  if (auto s = node.ExpectMap(); !s) return s.error();

  ProbeConfig p;
  auto name = RequireField<std::string>(node, "name");
  if (!name) return name.error();
  if (name->value.empty()) return name->node.Fail("probe name is empty");
  p.name = name->value;

  auto region = GetField<std::string>(node, "region");
  if (!region) return region.error();
  if (const auto& r = *region) {
    if (auto s = ExpectKnownRegion(r->node, r->value, cfg.regions); !s) return s.error();
    p.region = r->value;
  }
  p.interval = cfg.default_interval;
  p.timeout = cfg.default_timeout;
  if (auto s = ReadPositiveDuration(node, "interval", p.interval); !s) return s.error();
  if (auto s = ReadPositiveDuration(node, "timeout", p.timeout); !s) return s.error();
  if (p.timeout >= p.interval) {
    if (auto t = node.Get("timeout")) {
      return t->Fail("timeout (" + FormatDuration(p.timeout) + ") must be shorter than interval (" +
                     FormatDuration(p.interval) + ")");
    }
    // The inherited default does not fit this probe's shorter interval: like Prometheus'
    // scrape_timeout, it shrinks to fit (90% of the interval) instead of failing.
    p.timeout = p.interval * 9 / 10;
  }
  if (auto l = node.Get("labels")) {
    auto labels = ParseLabelMap(*l, "is not a valid label name");
    if (!labels) return labels.error();
    for (auto& [k, v] : *labels) p.labels[k] = std::move(v);
  }

  // Every key a probe takes has been read by now, but its kind: each kind's name is one.
  const std::vector<std::string> own = node.AskedKeys();  // name, region, ...
  for (const std::string& k : kinds) node.Asked(k);
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  std::vector<std::string_view> others(own.begin(), own.end());
  auto kind = ParseKindKey(node, registry, "probe", others);
  if (!kind) return kind.error();
  const auto& [kind_entry, body] = *kind;
  p.kind = kind_entry->name;
  ProberContext ctx{p.name, p.timeout, &cfg.regions};
  auto prober = kind_entry->factory(body, ctx);
  if (!prober) return prober.error();
  p.prober = *prober;
  std::string text = node.Fingerprint() + "|" + FormatDuration(p.interval) + "|" +
                     FormatDuration(p.timeout) + "|" + regions_fp;
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  static_assert(sizeof p.fingerprint <= sizeof digest);
  SHA256_CTX sha;
  SHA256_Init(&sha);
  SHA256_Update(&sha, text.data(), text.size());
  SHA256_Final(digest.data(), &sha);
  std::copy_n(digest.begin(), p.fingerprint.size(), p.fingerprint.begin());
  return p;
}

}  // namespace

bool ValidLabelName(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return s.rfind("__", 0) != 0;
}

bool ValidMetricName(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

Result<SampleLabels::Pairs> ParseLabelMap(const YamlNode& node, std::string_view not_a_name) {
  auto entries = node.Entries();
  if (!entries) return entries.error();
  SampleLabels::Pairs labels;
  for (const auto& [k, v] : *entries) {
    if (!ValidLabelName(k)) return v.Fail("\"" + k + "\" " + std::string(not_a_name));
    if (IsReservedLabel(k)) return v.Fail("label \"" + k + "\" is reserved by the exporter");
    auto s = v.AsString();
    if (!s) return s.error();
    labels.emplace_back(k, *s);
  }
  return labels;
}

Status ExpectKnownRegion(const YamlNode& node, const std::string& name,
                         const std::map<std::string, RegionConfig>& regions) {
  if (regions.count(name) > 0) return {};
  std::string known;
  for (const auto& [n, _] : regions) known += (known.empty() ? "" : ", ") + n;
  return node.Fail("unknown region \"" + name +
                   "\" (regions: " + (known.empty() ? "none defined" : known) + ")");
}

Status ReadPositiveDuration(const YamlNode& node, std::string_view key, Duration& out) {
  auto f = GetField<Duration>(node, key);
  if (!f) return f.error();
  if (const auto& d = *f) {
    if (d->value.count() <= 0) return d->node.Fail(std::string(key) + " must be positive");
    out = d->value;
  }
  return {};
}

bool IsReservedLabel(const std::string& name) {
  static const std::set<std::string> kReserved = {
      "probe",    "region",  "kind",          "reason",     "result",  "phase", "le",    "name",
      "type",     "target",  "target_region", "nameserver", "thread",  "role",  "error", "job",
      "instance", "standby", "stage",         "channel",    "replica", "side"};
  return kReserved.count(name) > 0;
}

Result<ExporterConfig> LoadExporterConfig(const YamlNode& root, const ProberRegistry& registry) {
  ExporterConfig cfg;
  if (root.IsNull()) return root.Fail("the config is empty");
  if (auto s = root.ExpectMap(); !s) return s.error();
  // The top-level keys, checked before any probe is built.
  const std::optional<YamlNode> defaults = root.Get("defaults");
  const std::optional<YamlNode> regions = root.Get("regions");
  const std::optional<YamlNode> probes = root.Get("probes");
  if (auto s = root.RejectUnreadKeys(); !s) return s.error();
  if (auto d = defaults) {
    if (auto s = d->ExpectMap(); !s) return s.error();
    if (auto i = d->Get("interval")) {
      auto v = i->AsDuration();
      if (!v) return v.error();
      if (v->count() <= 0) return i->Fail("interval must be positive");
      cfg.default_interval = *v;
    }
    if (auto t = d->Get("timeout")) {
      auto v = t->AsDuration();
      if (!v) return v.error();
      if (v->count() <= 0) return t->Fail("timeout must be positive");
      cfg.default_timeout = *v;
    }
    if (cfg.default_timeout >= cfg.default_interval) {
      auto where = d->Get("timeout") ? *d->Get("timeout") : *d;
      return where.Fail("timeout (" + FormatDuration(cfg.default_timeout) +
                        ") must be shorter than interval (" + FormatDuration(cfg.default_interval) +
                        ")");
    }
    if (auto s = d->RejectUnreadKeys(); !s) return s.error();
  }
  if (regions) {
    auto loaded = LoadRegions(*regions);
    if (!loaded) return loaded.error();
    cfg.regions = *loaded;
  }
  // The regions are part of what a probe is: a region's addresses changing must rebuild
  // probes that map answers to regions.
  std::string regions_fp = regions ? regions->Fingerprint() : "";
  // The names seen, as views of the probes' own (cfg.probes is reserved, so they stay
  // put), in a few blocks of a pool: a node per probe from the heap would sit between the
  // probers made meanwhile, and leave as many holes there once freed (~80 bytes a probe).
  std::pmr::monotonic_buffer_resource pool;
  std::pmr::set<std::string_view> names(&pool);
  if (auto p = probes) {
    auto items = p->Items();
    if (!items) return items.error();
    cfg.probes.reserve(items->size());
    for (const YamlNode& item : *items) {
      auto probe = LoadProbe(item, cfg, registry, regions_fp);
      if (!probe) return probe.error();
      cfg.probes.push_back(std::move(*probe));
      const std::string& name = cfg.probes.back().name;
      if (!names.insert(name).second) {
        return item.Require("name")->Fail("duplicate probe name \"" + name + "\"");
      }
    }
  }
  return cfg;
}

Result<ExporterConfig> LoadExporterConfigFile(const std::string& path,
                                              const ProberRegistry& registry) {
  auto root = YamlNode::LoadFile(path);
  if (!root) return root.error();
  return LoadExporterConfig(*root, registry);
}

}  // namespace failover
