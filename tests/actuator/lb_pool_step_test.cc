// The lb_pool step (actuator/steps/lb_pool.cc) itself: its own keys and errors, and a run
// in the engine with a real SQLite journal against the Linode NodeBalancer fake
// (tests/support/fake_linode_nodebalancer.h): the change is journaled before it is made.
#include <gtest/gtest.h>

#include <mutex>

#include "actuator/engine.h"
#include "actuator/metrics.h"
#include "tests/actuator/lb_test_util.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_linode_nodebalancer.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

using testing::FakeLinodeNodeBalancer;
using testing::Has;

std::string NbYaml(const FakeLinodeNodeBalancer& nb) {
  return "  nb: {linode_nodebalancer: {url: \"" + nb.base_url() +
         "\", token: " + FakeLinodeNodeBalancer::kToken + ", nodebalancer_id: 4321}}";
}

TEST(LbPoolStep, ConfigErrorsNameFileLineAndKey) {
  FakeLinodeNodeBalancer nb;
  testing::LbStepRig rig;
  auto unknown =
      rig.Load(NbYaml(nb), "{load_balancer: nob, config_id: 1, node_id: 2, mode: drain}");
  ASSERT_FALSE(unknown);
  EXPECT_TRUE(Has(unknown.error().message, "actuator.yml:8:")) << unknown.error().message;
  EXPECT_TRUE(Has(unknown.error().message,
                  "lb_pool.load_balancer: unknown load balancer \"nob\" (configured: nb)"))
      << unknown.error().message;

  auto kind = rig.Load("  nb: {haproxy: {url: \"http://127.0.0.1:1\"}}",
                       "{load_balancer: nb, config_id: 1, node_id: 2, mode: drain}");
  ASSERT_FALSE(kind);
  EXPECT_TRUE(Has(kind.error().message, "actuator.yml:3:")) << kind.error().message;
  EXPECT_TRUE(Has(kind.error().message,
                  "unknown load balancer kind \"haproxy\" (known: "
                  "aws_alb, cloudflare_lb, digitalocean_lb, "
                  "linode_nodebalancer)"))
      << kind.error().message;

  auto no_wait = rig.Load(NbYaml(nb),
                          "{load_balancer: nb, config_id: 1, node_id: 2, mode: drain, "
                          "wait: false, wait_timeout: 1m}");
  ASSERT_FALSE(no_wait);
  EXPECT_TRUE(Has(no_wait.error().message, "lb_pool.wait_timeout: wait_timeout needs wait: true"))
      << no_wait.error().message;

  auto not_bool = rig.Load(NbYaml(nb),
                           "{load_balancer: nb, config_id: 1, node_id: 2, mode: drain, "
                           "wait: maybe}");
  ASSERT_FALSE(not_bool);
  EXPECT_TRUE(Has(not_bool.error().message, "actuator.yml:8:")) << not_bool.error().message;
  EXPECT_TRUE(Has(not_bool.error().message, "lb_pool.wait: ")) << not_bool.error().message;

  auto zero = rig.Load(NbYaml(nb),
                       "{load_balancer: nb, config_id: 1, node_id: 2, mode: drain, "
                       "wait_timeout: 0s}");
  ASSERT_FALSE(zero);
  EXPECT_TRUE(Has(zero.error().message, "lb_pool.wait_timeout: must be positive"))
      << zero.error().message;

  auto slow = rig.Load(NbYaml(nb),
                       "{load_balancer: nb, config_id: 1, node_id: 2, mode: drain, "
                       "poll_interval: 6m, timeout: 1h}");
  ASSERT_FALSE(slow);
  EXPECT_TRUE(Has(slow.error().message, "lb_pool.poll_interval: must be positive and at most 5m"))
      << slow.error().message;

  auto typo = rig.Load(NbYaml(nb),
                       "{load_balancer: nb, config_id: 1, node_id: 2, mode: drain, "
                       "wait_timout: 1m}");
  ASSERT_FALSE(typo);
  EXPECT_TRUE(Has(typo.error().message, "unknown key \"wait_timout\"")) << typo.error().message;

  auto poll = rig.Load(NbYaml(nb),
                       "{load_balancer: nb, config_id: 1, node_id: 2, mode: drain, "
                       "poll_interval: 0s}");
  ASSERT_FALSE(poll);
  EXPECT_TRUE(Has(poll.error().message, "poll_interval: must be positive")) << poll.error().message;
}

TEST(LbPoolStep, WithoutLoadBalancersTheStepSaysSo) {
  StepRegistry steps;
  RegisterBuiltinSteps(steps);
  ConfigDeps deps;
  deps.steps = &steps;
  CurlHttpClient http;
  deps.provider_ctx.http = &http;
  auto root = YamlNode::LoadString(
      "journal: /tmp/x.db\nrunbooks:\n  - name: d\n    match: {alertname: A}\n    steps:\n"
      "      - lb_pool: {load_balancer: nb, config_id: 1, node_id: 2, mode: drain}\n",
      "actuator.yml");
  ASSERT_TRUE(root);
  auto cfg = LoadActuatorConfig(*root, deps);
  ASSERT_FALSE(cfg);
  EXPECT_TRUE(Has(cfg.error().message, "no load_balancers: are configured")) << cfg.error().message;
}

TEST(LbPoolStep, RendersTheChangeWithoutTheToken) {
  FakeLinodeNodeBalancer nb;
  testing::LbStepRig rig;
  auto step = rig.Load(NbYaml(nb), "{load_balancer: nb, config_id: 40, node_id: 501, mode: drain}");
  ASSERT_TRUE(step) << step.error().message;
  auto r = (*step)->Render(TemplateVars{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["load_balancer"], "nb");
  EXPECT_EQ((*r)["provider"], "linode_nodebalancer");
  EXPECT_EQ((*r)["change"]["mode"], "drain");
  EXPECT_EQ((*r)["change"]["node_id"], 501);
  EXPECT_FALSE(Has(r->dump(), FakeLinodeNodeBalancer::kToken));
}

// lb_pool's own keys as the journal shows them (poll_interval is not shown), and the
// timeout the step gets: 10m unless timeout: says otherwise.
TEST(LbPoolStep, RendersItsOwnKeys) {
  FakeLinodeNodeBalancer nb;
  testing::LbStepRig rig;
  auto all = rig.Load(NbYaml(nb),
                      "{load_balancer: nb, config_id: 40, node_id: 501, mode: reject, "
                      "wait: true, wait_timeout: 2m, poll_interval: 10s, timeout: 3m, "
                      "retries: 4, backoff: 2s}");
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ((*all)->common().timeout, std::chrono::minutes(3));
  EXPECT_EQ((*all)->common().retries, 4);
  EXPECT_EQ((*all)->common().backoff, std::chrono::seconds(2));
  auto r = (*all)->Render(TemplateVars{});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["load_balancer"], "nb") << r->dump();
  EXPECT_EQ((*r)["provider"], "linode_nodebalancer") << r->dump();
  EXPECT_EQ((*r)["change"]["mode"], "reject") << r->dump();
  EXPECT_EQ((*r)["wait"], true) << r->dump();
  EXPECT_EQ((*r)["wait_timeout"], "2m") << r->dump();

  // Without the keys: wait, no wait_timeout of its own, the 10m timeout.
  auto bare = rig.Load(NbYaml(nb), "{load_balancer: nb, config_id: 40, node_id: 501, mode: drain}");
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_EQ((*bare)->common().timeout, std::chrono::minutes(10));
  auto b = (*bare)->Render(TemplateVars{});
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ((*b)["wait"], true) << b->dump();
  EXPECT_FALSE(b->contains("wait_timeout")) << b->dump();

  auto no_wait = rig.Load(NbYaml(nb),
                          "{load_balancer: nb, config_id: 40, node_id: 501, mode: drain, "
                          "wait: false}");
  ASSERT_TRUE(no_wait) << no_wait.error().message;
  auto n = (*no_wait)->Render(TemplateVars{});
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ((*n)["wait"], false) << n->dump();
  EXPECT_FALSE(n->contains("wait_timeout")) << n->dump();
}

// The step in the engine: the journal holds the step (running, with the node and mode it
// is about to set) when the PUT arrives, and the outcome with before/after afterwards.
TEST(LbPoolStep, InTheEngineTheChangeIsJournaledBeforeItIsMade) {
  testing::TempDir dir;
  FakeLinodeNodeBalancer nb;
  nb.AddNode(40, 501, {"us-east", "192.168.130.10:80", "accept", "UP", 100});
  auto journal = OpenSqliteJournal(dir.path() + "/journal.db");
  ASSERT_TRUE(journal) << journal.error().message;

  std::mutex mu;
  std::vector<StepRecord> seen_at_write;
  nb.OnWrite([&] {
    ExecutionQuery q;
    auto execs = (*journal)->List(q);
    if (!execs || execs->empty()) return;
    auto steps = (*journal)->Steps(execs->front().id);
    std::lock_guard<std::mutex> l(mu);
    if (steps) seen_at_write = *steps;
  });

  StepRegistry steps;
  RegisterBuiltinSteps(steps);
  CurlHttpClient http;
  ConfigDeps deps;
  deps.steps = &steps;
  deps.provider_ctx.http = &http;
  deps.provider_ctx.clock = &SystemClock::Get();
  auto root = YamlNode::LoadString(
      "journal: " + dir.path() + "/journal.db\nload_balancers:\n" + NbYaml(nb) +
          "\nrunbooks:\n  - name: drain-us-east\n    match: {alertname: RegionDown}\n"
          "    steps:\n      - lb_pool: {load_balancer: nb, config_id: 40, node_id: 501, "
          "mode: drain}\n",
      "actuator.yml");
  ASSERT_TRUE(root) << root.error().message;
  auto cfg = LoadActuatorConfig(*root, deps);
  ASSERT_TRUE(cfg) << cfg.error().message;
  ActuatorMetrics metrics;
  Engine engine(**journal, SystemClock::Get(), http, metrics, {});
  engine.SetConfig(std::make_shared<ActuatorConfig>(std::move(*cfg)));
  ASSERT_TRUE(engine.Start());

  AlertGroup g = testing::FiringRegionDown("us-east", "2026-12-06T12:00:00Z", "00000000000000aa");
  auto out = engine.HandleWebhook(g, "{}");
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_TRUE(engine.WaitIdle(std::chrono::seconds(30)));
  engine.Stop();
  ASSERT_EQ(out->execution_ids.size(), 1u);

  EXPECT_EQ(nb.Mode(40, 501), "drain");
  {
    std::lock_guard<std::mutex> l(mu);
    ASSERT_EQ(seen_at_write.size(), 1u) << "the step was not journaled before the PUT";
    EXPECT_EQ(seen_at_write[0].kind, "lb_pool");
    EXPECT_EQ(seen_at_write[0].state, "running");
    EXPECT_EQ(seen_at_write[0].rendered["change"]["mode"], "drain");
    EXPECT_EQ(seen_at_write[0].rendered["change"]["node_id"], 501);
  }
  auto e = (*journal)->Get(out->execution_ids[0]);
  ASSERT_TRUE(e && *e);
  EXPECT_EQ((*e)->state, ExecState::kSucceeded) << (*e)->message;
  auto recs = (*journal)->Steps(out->execution_ids[0]);
  ASSERT_TRUE(recs);
  ASSERT_EQ(recs->size(), 1u);
  EXPECT_EQ((*recs)[0].state, "ok");
  EXPECT_EQ((*recs)[0].details["before"]["mode"], "accept");
  EXPECT_EQ((*recs)[0].details["after"]["mode"], "drain");
  std::string all = (*recs)[0].rendered.dump() + (*recs)[0].details.dump() + (*recs)[0].message;
  EXPECT_FALSE(Has(all, FakeLinodeNodeBalancer::kToken)) << "the token reached the journal";
}

}  // namespace
}  // namespace failover
