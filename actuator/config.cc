#include "actuator/config.h"

#include <filesystem>
#include <set>

#include "actuator/coordination/region_agent_config.h"
#include "actuator/db/database.h"
#include "common/config_fields.h"

namespace failover {
namespace {

// Reads the auth keys of `node` (webhook: or api:); the caller reads the rest of the
// mapping and then calls RejectUnreadKeys.
Result<AuthConfig> LoadAuth(const YamlNode& node) {
  AuthConfig auth;
  if (auto s = node.ExpectMap(); !s) return s.error();
  auto bearer = SecretRef::FromYaml(node, "bearer_token");
  if (!bearer) return bearer.error();
  auth.bearer_token = *bearer;
  if (auto ba = node.Get("basic_auth")) {
    if (auth.bearer_token) return ba->Fail("set either a bearer token or basic_auth, not both");
    auto basic = ParseBasicAuth(*ba);
    if (!basic) return basic.error();
    auth.basic_auth = std::move(*basic);
  }
  return auth;
}

Result<std::vector<StepConfig>> LoadSteps(const YamlNode& list, const ConfigDeps& deps,
                                          const StepFactoryContext& ctx) {
  std::vector<StepConfig> out;
  auto items = list.Items();
  if (!items) return items.error();
  for (const YamlNode& item : *items) {
    auto kind = ParseKindKey(item, *deps.steps, "step");
    if (!kind) return kind.error();
    const auto& [kind_entry, body] = *kind;
    auto step = kind_entry->factory(body, ctx);
    if (!step) return step.error();
    out.push_back({kind_entry->name, std::shared_ptr<Step>(std::move(*step))});
  }
  return out;
}

Result<RunbookConfig> LoadRunbook(const YamlNode& node, const ConfigDeps& deps,
                                  const StepFactoryContext& ctx, bool have_prometheus) {
  if (auto s = node.ExpectMap(); !s) return s.error();
  RunbookConfig rb;
  auto name = node.Require("name");
  if (!name) return name.error();
  auto n = name->AsString();
  if (!n) return n.error();
  if (n->empty() || n->find_first_of("/ \t\n?#") != std::string::npos) {
    return name->Fail("runbook names are non-empty and contain no '/', '?', '#' or spaces");
  }
  rb.name = *n;
  auto match = node.Require("match");
  if (!match) return match.error();
  auto entries = match->Entries();
  if (!entries) return entries.error();
  if (entries->empty()) return match->Fail("match needs at least one label matcher");
  for (const auto& [label, value] : *entries) {
    auto v = value.AsString();
    if (!v) return v.error();
    auto m = Matcher::Parse(label, *v);
    if (!m) return value.Fail(m.error().message);
    rb.match.push_back(*m);
  }
  if (auto on = node.Get("on")) {
    auto v = on->AsString();
    if (!v) return v.error();
    if (*v != "firing" && *v != "resolved") return on->Fail("must be firing or resolved");
    rb.on = *v;
  }
  if (auto mode = node.Get("mode")) {
    auto v = mode->AsString();
    if (!v) return v.error();
    auto m = ParseExecMode(*v);
    if (!m) return mode->Fail("must be auto, approve or dry-run");
    rb.mode = *m;
  }
  if (auto s = ReadOptional(node, "cooldown", rb.cooldown); !s) return s.error();
  if (auto l = node.Get("lock")) {
    auto v = l->AsString();
    if (!v) return v.error();
    if (v->empty() ||
        v->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
            std::string::npos) {
      return l->Fail("lock scope names use letters, digits, '_', '-' and '.'");
    }
    rb.lock = *v;
  }
  if (auto g = node.Get("guards")) {
    auto items = g->Items();
    if (!items) return items.error();
    if (!items->empty() && !have_prometheus) {
      return g->Fail("guards are PromQL queries: configure prometheus: {url: ...} first");
    }
    for (const YamlNode& item : *items) {
      if (auto s = item.ExpectMap(); !s) return s.error();
      GuardConfig guard;
      if (auto s = ReadRequired(item, "promql", guard.promql); !s) return s.error();
      guard.message = "guard " + guard.promql + " is not true";
      if (auto s = ReadOptional(item, "message", guard.message); !s) return s.error();
      if (auto s = item.RejectUnreadKeys(); !s) return s.error();
      rb.guards.push_back(guard);
    }
  }
  auto steps = node.Require("steps");
  if (!steps) return steps.error();
  auto s = LoadSteps(*steps, deps, ctx);
  if (!s) return s.error();
  if (s->empty()) return steps->Fail("a runbook needs at least one step");
  rb.steps = *s;
  if (auto f = node.Get("on_failure")) {
    auto of = LoadSteps(*f, deps, ctx);
    if (!of) return of.error();
    rb.on_failure = *of;
  }
  rb.brake = rb.ChangesSomething();
  if (auto b = node.Get("brake")) {
    auto v = b->AsBool();
    if (!v) return v.error();
    rb.brake = *v;
    rb.brake_explicit = true;
  }
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  return rb;
}

// journal: PATH | {path: PATH | etcd: {endpoints: [URL...], ttl: 15s, prefix: /failover/},
//                  retention: 30d, page_after: 1m}
Status LoadJournal(const YamlNode& j, ActuatorConfig& cfg) {
  if (j.IsScalar()) {
    auto s = j.AsString();
    if (!s) return s.error();
    if (s->empty()) return j.Fail("journal path is empty");
    cfg.journal_path = *s;
    return {};
  }
  if (!j.IsMap()) return j.Fail("journal must be a path or a map with path: or etcd:");
  if (auto s = ReadDurationAtLeast(j, "retention", std::chrono::hours(1), cfg.journal_retention);
      !s) {
    return s;
  }
  if (auto p = j.Get("page_after")) {
    auto d = p->AsDuration();
    if (!d) return d.error();
    if (*d < std::chrono::seconds(1) || *d > std::chrono::hours(24)) {
      return p->Fail("page_after must be between 1s and 24h");
    }
    cfg.journal_page_after = *d;
  }
  auto path = j.Get("path");
  auto etcd = j.Get("etcd");
  if (auto s = j.RejectUnreadKeys(); !s) return s;
  if (path && etcd) return j.Fail("journal takes path: or etcd:, not both");
  if (path) return LoadJournal(*path, cfg);
  if (!etcd) {
    if (!j.Get("retention") && !j.Get("page_after")) return j.Fail("journal needs path: or etcd:");
    return {};  // the default path, with retention or page_after set
  }
  if (auto s = etcd->ExpectMap(); !s) return s;
  EtcdJournalConfig e;
  if (auto s = LoadEtcdEndpoints(*etcd, e.endpoints); !s) return s;
  if (auto t = etcd->Get("ttl")) {
    auto d = t->AsDuration();
    if (!d) return d.error();
    if (*d < std::chrono::seconds(2) || *d > std::chrono::hours(1) ||
        *d % std::chrono::seconds(1) != Duration::zero()) {
      return t->Fail("ttl must be whole seconds between 2s and 1h");
    }
    e.ttl = *d;
  }
  if (auto s = LoadEtcdPrefix(*etcd, e.prefix); !s) return s;
  if (auto s = etcd->RejectUnreadKeys(); !s) return s;
  cfg.journal_etcd = std::move(e);
  return {};
}

}  // namespace

bool RunbookConfig::ChangesSomething() const {
  for (const auto* list : {&steps, &on_failure}) {
    for (const StepConfig& sc : *list) {
      if (sc.kind != "pagerduty" && sc.kind != "wait" && sc.kind != "wait_for") return true;
    }
  }
  return false;
}

const RunbookConfig* ActuatorConfig::FindRunbook(const std::string& name) const {
  for (const RunbookConfig& rb : runbooks) {
    if (rb.name == name) return &rb;
  }
  return nullptr;
}

Result<ActuatorConfig> LoadActuatorConfig(const YamlNode& root, const ConfigDeps& deps) {
  ActuatorConfig cfg;
  if (root.IsNull()) return root.Fail("the config is empty");
  if (auto s = root.ExpectMap(); !s) return s.error();
  if (auto w = root.Get("webhook")) {
    auto a = LoadAuth(*w);
    if (!a) return a.error();
    cfg.webhook_auth = *a;
    if (auto m = w->Get("max_body_bytes")) {
      auto v = m->AsInt();
      if (!v) return v.error();
      if (*v < 1024 || *v > (64LL << 20)) return m->Fail("must be between 1024 and 67108864");
      cfg.webhook_max_body_bytes = static_cast<size_t>(*v);
    }
    if (auto s = w->RejectUnreadKeys(); !s) return s.error();
  }
  if (auto a = root.Get("api")) {
    if (auto m = a->Get("max_body_bytes")) return m->Fail("max_body_bytes belongs to webhook:");
    auto auth = LoadAuth(*a);
    if (!auth) return auth.error();
    cfg.api_auth = *auth;
    if (auto s = a->RejectUnreadKeys(); !s) return s.error();
  }
  if (auto p = root.Get("prometheus")) {
    if (auto s = p->ExpectMap(); !s) return s.error();
    auto u = p->Require("url");
    if (!u) return u.error();
    auto us = u->AsString();
    if (!us) return us.error();
    if (us->rfind("http://", 0) != 0 && us->rfind("https://", 0) != 0) {
      return u->Fail("must be an http:// or https:// URL");
    }
    cfg.prometheus_url = *us;
    while (!cfg.prometheus_url.empty() && cfg.prometheus_url.back() == '/') {
      cfg.prometheus_url.pop_back();
    }
    if (auto t = p->Get("timeout")) {
      auto d = t->AsDuration();
      if (!d) return d.error();
      cfg.prometheus_timeout = *d;
    }
    if (auto s = p->RejectUnreadKeys(); !s) return s.error();
  }
  if (auto j = root.Get("journal")) {
    auto s = LoadJournal(*j, cfg);
    if (!s) return s.error();
  }
  cfg.lock_dir = (std::filesystem::path(cfg.journal_path).parent_path() / "locks").string();
  if (auto l = root.Get("lock_dir")) {
    auto s = l->AsString();
    if (!s) return s.error();
    cfg.lock_dir = *s;
  }
  if (auto pd = root.Get("pagerduty")) {
    if (auto s = pd->ExpectMap(); !s) return s.error();
    auto key = SecretRef::FromYaml(*pd, "routing_key");
    if (!key) return key.error();
    if (!*key)
      return pd->Fail("pagerduty needs routing_key_file (or routing_key, routing_key_env)");
    cfg.pagerduty_routing_key = *key;
    if (auto u = pd->Get("url")) {
      auto us = u->AsString();
      if (!us) return us.error();
      cfg.pagerduty_url = *us;
    }
    if (auto s = pd->RejectUnreadKeys(); !s) return s.error();
  }
  if (auto t = root.Get("approval_timeout")) {
    auto d = t->AsDuration();
    if (!d) return d.error();
    if (d->count() < 0) return t->Fail("must not be negative");
    cfg.approval_timeout = *d;
  }
  for (const char* key : {"external_url", "alertmanager"}) {
    auto node = root.Get(key);
    if (!node) continue;
    std::optional<YamlNode> u = node;
    if (std::string(key) == "alertmanager") {
      if (auto s = node->ExpectMap(); !s) return s.error();
      auto r = node->Require("url");
      if (!r) return r.error();
      if (auto s = node->RejectUnreadKeys(); !s) return s.error();
      u = *r;
    }
    auto us = u->AsString();
    if (!us) return us.error();
    if (us->rfind("http://", 0) != 0 && us->rfind("https://", 0) != 0) {
      return u->Fail("must be an http:// or https:// URL");
    }
    std::string url = *us;
    while (!url.empty() && url.back() == '/') url.pop_back();
    (std::string(key) == "alertmanager" ? cfg.alertmanager_url : cfg.external_url) = url;
  }
  if (auto c = root.Get("console")) {
    if (auto s = c->ExpectMap(); !s) return s.error();
    if (auto users = c->Get("users")) {
      auto entries = users->Entries();
      if (!entries) return entries.error();
      for (const auto& [name, role] : *entries) {
        auto r = role.AsString();
        if (!r) return r.error();
        if (*r != "viewer" && *r != "operator") {
          return role.Fail("role of user \"" + name + "\" must be viewer or operator");
        }
        cfg.console_roles[name] = *r;
      }
    }
    if (auto s = c->RejectUnreadKeys(); !s) return s.error();
  }
  if (auto b = root.Get("brake")) {
    if (auto s = b->ExpectMap(); !s) return s.error();
    if (auto m = b->Get("max_executions")) {
      auto v = m->AsInt();
      if (!v) return v.error();
      if (*v < 0 || *v > 1000) return m->Fail("must be between 0 and 1000");
      cfg.brake_max_executions = static_cast<int>(*v);
    }
    if (auto w = b->Get("window")) {
      auto d = w->AsDuration();
      if (!d) return d.error();
      if (d->count() <= 0) return w->Fail("must be positive");
      cfg.brake_window = *d;
    }
    if (auto s = b->RejectUnreadKeys(); !s) return s.error();
  }
  if (auto p = root.Get("providers")) {
    auto entries = p->Entries();
    if (!entries) return entries.error();
    DnsProviderRegistry kinds;
    RegisterBuiltinDnsProviders(kinds);
    for (const auto& [id, body] : *entries) {
      auto kind = ParseKindKey(body, kinds, "DNS provider");
      if (!kind) return kind.error();
      const auto& [kind_entry, kind_body] = *kind;
      auto provider = kind_entry->factory(kind_body, deps.provider_ctx);
      if (!provider) return provider.error();
      cfg.providers[id] = *provider;
    }
  }
  if (auto l = root.Get("load_balancers")) {
    auto lbs = LoadLbProviders(*l, {deps.provider_ctx.http, deps.provider_ctx.clock});
    if (!lbs) return lbs.error();
    cfg.load_balancers = std::move(*lbs);
  }
  if (auto d = root.Get("databases")) {
    auto dbs = LoadDatabases(*d);
    if (!dbs) return dbs.error();
    cfg.databases = std::move(*dbs);
  }
  StepFactoryContext ctx;
  ctx.providers = &cfg.providers;
  ctx.databases = &cfg.databases;
  ctx.lb_providers = &cfg.load_balancers;
  ctx.have_prometheus = !cfg.prometheus_url.empty();
  ctx.have_pagerduty = cfg.pagerduty_routing_key.has_value();
  if (auto w = root.Get("writer_lease")) {
    auto wl = LoadWriterLeaseConfig(*w);
    if (!wl) return wl.error();
    cfg.writer_lease = *wl;
    ctx.writer_lease = &*cfg.writer_lease;
  }
  std::set<std::string> names;
  if (auto r = root.Get("runbooks")) {
    auto items = r->Items();
    if (!items) return items.error();
    for (const YamlNode& item : *items) {
      auto rb = LoadRunbook(item, deps, ctx, ctx.have_prometheus);
      if (!rb) return rb.error();
      if (!names.insert(rb->name).second) {
        return item.Require("name")->Fail("duplicate runbook name \"" + rb->name + "\"");
      }
      cfg.runbooks.push_back(std::move(*rb));
    }
  }
  if (auto a = root.Get("region_agent")) {
    if (cfg.journal_etcd) return a->Fail("a region agent journals locally (it acts without etcd)");
    auto ra = LoadRegionAgentConfig(*a, cfg.databases,
                                    [&](const YamlNode& n) { return LoadSteps(n, deps, ctx); });
    if (!ra) return ra.error();
    cfg.region_agent = *ra;
  }
  if (auto s = root.RejectUnreadKeys(); !s) return s.error();
  return cfg;
}

Result<ActuatorConfig> LoadActuatorConfigFile(const std::string& path, const ConfigDeps& deps) {
  auto root = YamlNode::LoadFile(path);
  if (!root) return root.error();
  return LoadActuatorConfig(*root, deps);
}

}  // namespace failover
