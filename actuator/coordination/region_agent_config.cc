#include "actuator/coordination/region_agent_config.h"

namespace failover {
namespace {

// etcd: {endpoints: [URL...], prefix: /failover/}
Status LoadEtcd(const YamlNode& node, std::vector<std::string>& endpoints, std::string& prefix) {
  if (auto s = node.ExpectMap(); !s) return s;
  if (auto s = LoadEtcdEndpoints(node, endpoints); !s) return s;
  if (auto s = LoadEtcdPrefix(node, prefix); !s) return s;
  return node.RejectUnreadKeys();
}

Result<Duration> LoadTtl(const YamlNode& t) {
  auto d = t.AsDuration();
  if (!d) return d.error();
  if (*d < std::chrono::seconds(2) || *d > std::chrono::hours(1) ||
      *d % std::chrono::seconds(1) != Duration::zero()) {
    return t.Fail("ttl must be whole seconds between 2s and 1h (etcd leases count seconds)");
  }
  return *d;
}

Result<Duration> LoadPositive(const YamlNode& t) {
  auto d = t.AsDuration();
  if (!d) return d.error();
  if (*d <= Duration::zero()) return t.Fail("must be greater than zero");
  return *d;
}

bool ValidRegion(const std::string& r) {
  return !r.empty() && r.size() <= 63 &&
         r.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
             std::string::npos;
}

}  // namespace

Status LoadEtcdEndpoints(const YamlNode& node, std::vector<std::string>& endpoints) {
  auto eps = node.Require("endpoints");
  if (!eps) return eps.error();
  auto items = eps->Items();
  if (!items) return items.error();
  if (items->empty()) return eps->Fail("endpoints must list at least one etcd client URL");
  for (const YamlNode& it : *items) {
    auto u = it.AsString();
    if (!u) return u.error();
    if ((u->rfind("http://", 0) != 0 && u->rfind("https://", 0) != 0) ||
        u->find('/', u->find("//") + 2) != std::string::npos || u->size() < 9) {
      return it.Fail("must be an etcd client URL like http://127.0.0.1:2379 (no path)");
    }
    endpoints.push_back(*u);
  }
  return {};
}

Status LoadEtcdPrefix(const YamlNode& node, std::string& prefix) {
  if (auto p = node.Get("prefix")) {
    auto s = p->AsString();
    if (!s) return s.error();
    if (s->empty() || s->front() != '/' || s->back() != '/') {
      return p->Fail("prefix must start and end with / (e.g. /failover/)");
    }
    prefix = *s;
  }
  return {};
}

Result<WriterLeaseConfig> LoadWriterLeaseConfig(const YamlNode& node) {
  if (auto s = node.ExpectMap(); !s) return s.error();
  WriterLeaseConfig c;
  auto etcd = node.Require("etcd");
  if (!etcd) return etcd.error();
  if (auto s = LoadEtcd(*etcd, c.endpoints, c.prefix); !s) return s.error();
  if (auto t = node.Get("ttl")) {
    auto d = LoadTtl(*t);
    if (!d) return d.error();
    c.ttl = *d;
  }
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  return c;
}

Result<std::shared_ptr<const RegionAgentConfig>> LoadRegionAgentConfig(
    const YamlNode& node, const DatabaseMap& databases, const StepListLoader& load_steps) {
  if (auto s = node.ExpectMap(); !s) return s.error();
  auto c = std::make_shared<RegionAgentConfig>();
  auto region = node.Require("region");
  if (!region) return region.error();
  auto r = region->AsString();
  if (!r) return r.error();
  if (!ValidRegion(*r)) {
    return region->Fail("region names use letters, digits, '_', '-' and '.' (at most 63)");
  }
  c->region = *r;
  auto etcd = node.Require("etcd");
  if (!etcd) return etcd.error();
  if (auto s = LoadEtcd(*etcd, c->endpoints, c->prefix); !s) return s.error();
  auto db = node.Require("database");
  if (!db) return db.error();
  auto id = db->AsString();
  if (!id) return id.error();
  auto it = databases.find(*id);
  if (it == databases.end()) {
    std::string known;
    for (const auto& [k, d] : databases) known += (known.empty() ? "" : ", ") + k;
    return db->Fail("unknown database \"" + *id + "\" (" +
                    (known.empty() ? "there is no databases: section" : "known: " + known) + ")");
  }
  c->database_id = *id;
  c->database = it->second;
  if (auto t = node.Get("ttl")) {
    auto d = LoadTtl(*t);
    if (!d) return d.error();
    c->ttl = *d;
  }
  for (auto [key, field] :
       {std::pair{"renew_every", &c->renew_every}, std::pair{"fence_after", &c->fence_after},
        std::pair{"fence_timeout", &c->fence_timeout}}) {
    if (auto t = node.Get(key)) {
      auto d = LoadPositive(*t);
      if (!d) return d.error();
      *field = *d;
    }
  }
  if (c->fence_timeout < std::chrono::seconds(1) ||
      c->fence_timeout % std::chrono::seconds(1) != Duration::zero()) {
    auto where = node.Get("fence_timeout") ? *node.Get("fence_timeout") : node;
    return where.Fail(
        "fence_timeout must be whole seconds, at least 1s (the MySQL client "
        "counts its timeouts in seconds)");
  }
  if (c->renew_every >= c->fence_after) {
    auto where = node.Get("renew_every") ? *node.Get("renew_every") : node;
    return where.Fail("renew_every (" + FormatDuration(c->renew_every) +
                      ") must be shorter than fence_after (" + FormatDuration(c->fence_after) +
                      "): the agent needs at least one renewal before it fences");
  }
  if (c->fence_after + c->fence_timeout + ClockMargin(c->ttl) > c->ttl) {
    auto where = node.Get("fence_after") ? *node.Get("fence_after") : node;
    return where.Fail("fence_after (" + FormatDuration(c->fence_after) + ") + fence_timeout (" +
                      FormatDuration(c->fence_timeout) + ") + the clock margin ttl/10 (" +
                      FormatDuration(ClockMargin(c->ttl)) + ") must not exceed ttl (" +
                      FormatDuration(c->ttl) +
                      "): the region must be fenced before its lease can expire");
  }
  if (auto m = node.Get("make_writable")) {
    auto b = m->AsBool();
    if (!b) return b.error();
    c->make_writable = *b;
  }
  for (auto [key, field] :
       {std::pair{"fence_steps", &c->fence_steps}, std::pair{"unfence_steps", &c->unfence_steps}}) {
    if (auto s = node.Get(key)) {
      auto steps = load_steps(*s);
      if (!steps) return steps.error();
      *field = std::move(*steps);
    }
  }
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  return std::shared_ptr<const RegionAgentConfig>(std::move(c));
}

}  // namespace failover
