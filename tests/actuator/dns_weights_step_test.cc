// dns_weights against the Route 53 fake (tests/support/fake_route53.h), with the stack's
// real Prometheus (tests/support/stack.h) evaluating the condition between the stages. The
// condition's metric comes from a small page this test serves and Prometheus scrapes: an
// error counter that starts counting once eu-west gets `break_at` or more of the weight,
// as a region that cannot take that much traffic would.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>

#include "actuator/dns/route53.h"
#include "actuator/prometheus_client.h"
#include "actuator/steps/dns_weights.h"
#include "common/http_server.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/fake_route53.h"
#include "tests/support/stack.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using testing::FakeRoute53;
using testing::FakeRoute53RecordSet;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

FakeRoute53RecordSet Weighted(const std::string& id, const std::string& address, int weight) {
  FakeRoute53RecordSet s;
  s.name = "app.example.com.";
  s.type = "A";
  s.ttl = 60;
  s.values = {address};
  s.set_identifier = id;
  s.weight = weight;
  return s;
}

// A provider without routing records: what dns_weights must refuse at load.
class PlainProvider final : public DnsProvider {
 public:
  const std::string& kind() const override {
    static const std::string k = "plain";
    return k;
  }
  Result<std::optional<DnsRecordSet>> Get(const std::string&, const std::string&,
                                          const std::string&, MonoTime) override {
    return std::optional<DnsRecordSet>();
  }
  Status Set(const std::string&, const DnsRecordSet&, MonoTime) override { return {}; }
};

class DnsWeightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    id_file_ = dir_.Write("aws.id", std::string(testing::kFakeAwsAccessKeyId));
    secret_file_ = dir_.Write("aws.secret", std::string(testing::kFakeAwsSecretAccessKey));
    auto node = YamlNode::LoadString(
        "{hosted_zone_id: " + std::string(FakeRoute53::kZoneId) + ", url: " + fake_.base_url() +
            ", access_key_id_file: " + id_file_ + ", secret_access_key_file: " + secret_file_ +
            ", poll_interval: 100ms}",
        "actuator.yml");
    ASSERT_TRUE(node);
    auto p = NewRoute53Provider(*node, DnsProviderContext{&http_, &SystemClock::Get()});
    ASSERT_TRUE(p) << p.error().message;
    providers_["r53"] = *p;
    providers_["plain"] = std::make_shared<PlainProvider>();
    fctx_.providers = &providers_;
    fctx_.have_prometheus = true;
    fake_.Put(Weighted("us-east", "192.0.2.10", 100));
    fake_.Put(Weighted("eu-west", "198.51.100.10", 0));
  }

  // The stack's Prometheus scraping this test's page every second.
  void StartPrometheus() {
    HttpServerOptions opts;
    opts.listen_address = "127.0.0.1:0";
    opts.num_threads = 2;
    auto s = HttpServer::Start(opts, {{"GET", "/metrics", false, [this](const HttpServerRequest&) {
                                         auto eu = fake_.Find("app.example.com.", "A", "eu-west");
                                         int w = eu && eu->weight ? *eu->weight : 0;
                                         if (w >= break_at_.load()) ++errors_;
                                         HttpServerResponse r;
                                         r.content_type = "text/plain; version=0.0.4";
                                         r.body = "r53_test_eu_west_errors_total " +
                                                  std::to_string(errors_.load()) + "\n";
                                         return r;
                                       }}});
    ASSERT_TRUE(s) << s.error().message;
    metrics_ = std::move(*s);
    stack_ = &testing::Stack::Get({"prometheus"});
    prometheus_url_ = stack_->Env("PROMETHEUS_URL");
    std::ofstream(stack_->Env("PROMETHEUS_CONFIG"), std::ios::trunc)
        << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
           "scrape_configs:\n"
           "  - job_name: dns_weights_test\n"
           "    static_configs: [{targets: ['127.0.0.1:"
        << metrics_->port() << "']}]\n";
    HttpRequest reload;
    reload.method = "POST";
    reload.url = prometheus_url_ + "/-/reload";
    auto r = http_.Send(reload);
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : r.error().message);
    prom_ = std::make_unique<PromClient>(http_, prometheus_url_, std::chrono::seconds(5));
    // Scraped at least twice, so that increase() has something to look at.
    ASSERT_TRUE(testing::WaitFor(
        [&] {
          auto q = prom_->Query("count_over_time(r53_test_eu_west_errors_total[1m]) >= 2");
          return q && q->Truthy();
        },
        std::chrono::seconds(30)))
        << "Prometheus did not scrape the test's page";
  }

  Result<std::unique_ptr<Step>> Load(const std::string& yaml) {
    return testing::BuildStep(yaml, &NewDnsWeightsStep, fctx_);
  }

  StepOutcome Run(Step& step) {
    return testing::RunStep(step, SystemClock::Get(), &vars_, &http_,
                            [&](StepContext& c) { c.prometheus = prom_.get(); });
  }

  int Weight(const std::string& id) {
    auto s = fake_.Find("app.example.com.", "A", id);
    return s && s->weight ? *s->weight : -1;
  }

  // No eu-west error in the last 2s: the stage is held 3s first, so the window holds only
  // scrapes taken at the stage's weights.
  static constexpr const char* kCondition =
      "wait_for: {promql: 'increase(r53_test_eu_west_errors_total[2s]) == 0', timeout: 4s, "
      "interval: 500ms}";

  testing::TempDir dir_;
  std::string id_file_, secret_file_;
  FakeRoute53 fake_{"example.com."};
  CurlHttpClient http_;
  ProviderMap providers_;
  StepFactoryContext fctx_;
  TemplateVars vars_;
  std::atomic<int> break_at_{1000};
  std::atomic<int> errors_{0};
  std::unique_ptr<HttpServer> metrics_;
  testing::Stack* stack_ = nullptr;
  std::string prometheus_url_;
  std::unique_ptr<PromClient> prom_;
};

TEST_F(DnsWeightsTest, ShiftsInStagesCheckingTheConditionBetween) {
  StartPrometheus();
  ASSERT_FALSE(HasFailure());
  auto step = Load(
      "{provider: r53, zone: example.com., name: app.example.com., type: A,\n"
      " shift: {from: us-east, to: eu-west, steps: [10, 50, 100]}, hold: 3s,\n " +
      std::string(kCondition) + "}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kOk) << out.message;
  EXPECT_EQ(Weight("eu-west"), 100);
  EXPECT_EQ(Weight("us-east"), 0);
  EXPECT_TRUE(Contains(out.message, "eu-west 0, us-east 100 -> eu-west 100, us-east 0"))
      << out.message;
  // One atomic batch per stage, both weights in it; records untouched.
  ASSERT_EQ(fake_.WriteCount(), 3);
  const std::string second = fake_.ChangeBodies()[1];
  EXPECT_TRUE(Contains(second, "<SetIdentifier>eu-west</SetIdentifier><Weight>50</Weight>"))
      << second;
  EXPECT_TRUE(Contains(second, "<SetIdentifier>us-east</SetIdentifier><Weight>50</Weight>"))
      << second;
  EXPECT_EQ(fake_.Find("app.example.com.", "A", "eu-west")->values,
            std::vector<std::string>{"198.51.100.10"});
  // The journal's details: each stage's weights before and after, and its condition.
  const auto& stages = out.details["stages"];
  ASSERT_EQ(stages.size(), 3u) << out.details.dump();
  EXPECT_EQ(stages[0]["before"]["eu-west"], 0);
  EXPECT_EQ(stages[0]["after"]["eu-west"], 10);
  EXPECT_EQ(stages[1]["after"]["us-east"], 50);
  EXPECT_EQ(stages[2]["after"]["eu-west"], 100);
  for (const auto& st : stages) {
    EXPECT_TRUE(Contains(st["condition"].get<std::string>(), "condition met")) << st.dump();
  }

  // Running again: the last stage is in place, nothing written, its condition checked.
  StepOutcome again = Run(**step);
  ASSERT_EQ(again.status, StepStatus::kOk) << again.message;
  EXPECT_EQ(fake_.WriteCount(), 3);
  EXPECT_EQ(again.details["stages"].size(), 1u);
}

TEST_F(DnsWeightsTest, RollsBackToTheLastGoodWeightsWhenTheConditionFails) {
  break_at_ = 50;  // eu-west fails once it takes half the traffic
  StartPrometheus();
  ASSERT_FALSE(HasFailure());
  auto step = Load(
      "{provider: r53, zone: example.com., name: app.example.com., type: A,\n"
      " stages: [{us-east: 90, eu-west: 10}, {us-east: 50, eu-west: 50},"
      " {us-east: 0, eu-west: 100}], hold: 3s,\n " +
      std::string(kCondition) + "}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_TRUE(Contains(out.message, "stage 2 of 3 (eu-west 50, us-east 50)")) << out.message;
  EXPECT_TRUE(Contains(out.message, "condition not met within 4s")) << out.message;
  EXPECT_TRUE(Contains(out.message, "rolled back to eu-west 10, us-east 90")) << out.message;
  EXPECT_EQ(Weight("eu-west"), 10);
  EXPECT_EQ(Weight("us-east"), 90);
  EXPECT_EQ(fake_.WriteCount(), 3);  // stage 1, stage 2, the rollback; never stage 3
  EXPECT_EQ(out.details["stages"].size(), 2u) << out.details.dump();
  EXPECT_EQ(out.details["rollback"]["before"]["eu-west"], 50);
  EXPECT_EQ(out.details["rollback"]["after"]["eu-west"], 10);

  // Failing at the first stage goes back to the weights found at the start.
  fake_.Put(Weighted("us-east", "192.0.2.10", 100));
  fake_.Put(Weighted("eu-west", "198.51.100.10", 0));
  auto bold = Load(
      "{provider: r53, zone: example.com., name: app.example.com., type: A,\n"
      " shift: {from: us-east, to: eu-west, steps: [50, 100]}, hold: 3s,\n " +
      std::string(kCondition) + "}");
  ASSERT_TRUE(bold) << bold.error().message;
  StepOutcome first = Run(**bold);
  ASSERT_EQ(first.status, StepStatus::kFailed) << first.message;
  EXPECT_TRUE(Contains(first.message, "rolled back to eu-west 0, us-east 100")) << first.message;
  EXPECT_EQ(Weight("eu-west"), 0);
  EXPECT_EQ(Weight("us-east"), 100);
}

TEST_F(DnsWeightsTest, SetsThatAreMissingOrNotWeightedFailWithoutWriting) {
  auto step = Load(
      "{provider: r53, zone: example.com., name: app.example.com., type: A,\n"
      " shift: {from: us-east, to: ap-south, steps: [100]},\n"
      " wait_for: {promql: 'vector(1)', timeout: 1s}}");
  ASSERT_TRUE(step) << step.error().message;
  StepOutcome out = Run(**step);
  ASSERT_EQ(out.status, StepStatus::kFailed) << out.message;
  EXPECT_TRUE(Contains(out.message, "no record set with SetIdentifier ap-south")) << out.message;
  EXPECT_TRUE(Contains(out.message, "found: eu-west, us-east")) << out.message;
  EXPECT_EQ(fake_.WriteCount(), 0);
}

// What the journal and dry-run show before a run: every key of the block as parsed (shift
// expanded into its stages, the condition's template rendered), and the timeout it gets
// without one: each stage's hold and wait plus a minute.
TEST_F(DnsWeightsTest, RendersEveryKeyOfTheBlock) {
  auto shift = Load(
      "{provider: r53, zone: example.com, name: App.example.com, type: a,\n"
      " shift: {from: us-east, to: eu-west, steps: [25, 100]}, hold: 90s,\n"
      " wait_for: {promql: 'up{region=\"{{labels.region}}\"} == 1', timeout: 2m, "
      "interval: 15s},\n retries: 0, backoff: 4s}");
  ASSERT_TRUE(shift) << shift.error().message;
  EXPECT_EQ((*shift)->common().timeout, 2 * (std::chrono::seconds(90) + std::chrono::minutes(3)));
  EXPECT_EQ((*shift)->common().retries, 0);
  EXPECT_EQ((*shift)->common().backoff, std::chrono::seconds(4));
  TemplateVars vars;
  vars.labels = {{"region", "eu-west"}};
  auto r = (*shift)->Render(vars);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(
      *r,
      nlohmann::json(
          {{"provider", "r53"},
           {"zone", "example.com."},
           {"name", "app.example.com."},
           {"type", "A"},
           {"stages", {{{"us-east", 75}, {"eu-west", 25}}, {{"us-east", 0}, {"eu-west", 100}}}},
           {"hold", "1m30s"},
           {"wait_for",
            {{"promql", "up{region=\"eu-west\"} == 1"}, {"timeout", "2m"}, {"interval", "15s"}}}}))
      << r->dump();

  // stages: as given; hold and the condition's interval and timeout have defaults.
  auto staged = Load(
      "{provider: r53, zone: example.com., name: app.example.com., type: A,\n"
      " stages: [{us-east: 90, eu-west: 10}, {us-east: 0, eu-west: 255}],\n"
      " wait_for: {promql: 'vector(1)'}, timeout: 3m}");
  ASSERT_TRUE(staged) << staged.error().message;
  EXPECT_EQ((*staged)->common().timeout, std::chrono::minutes(3));
  auto s = (*staged)->Render({});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ((*s)["stages"], nlohmann::json({{{"us-east", 90}, {"eu-west", 10}},
                                            {{"us-east", 0}, {"eu-west", 255}}}))
      << s->dump();
  EXPECT_EQ((*s)["hold"], "0s") << s->dump();
  EXPECT_EQ((*s)["wait_for"]["timeout"], "1m") << s->dump();
  EXPECT_EQ((*s)["wait_for"]["interval"], "2s") << s->dump();
}

TEST_F(DnsWeightsTest, ConfigErrorsAreLocated) {
  const std::string head = "provider: r53\nzone: example.com.\nname: app.example.com.\ntype: A\n";
  const std::string cond = "wait_for: {promql: 'up == 1', timeout: 1m}\n";
  struct Case {
    std::string yaml;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"stages: [{us-east: 256, eu-west: 0}]\n" + cond,
       "actuator.yml:5:20: stages[0].us-east: Weight must be between 0 and 255, found 256"},
      {"stages: [{us-east: 0, eu-west: 0}]\n" + cond, "every weight of the stage is 0"},
      {"stages: []\n" + cond, "stages: needs at least one stage"},
      {"shift: {from: a, to: b, steps: [10, 101]}\n" + cond,
       "actuator.yml:5:37: shift.steps[1]: a shift step (the percentage `to` gets) must be "
       "between 0 and 100, found 101"},
      {"shift: {from: a, to: a, steps: [10]}\n" + cond, "from and to are the same SetIdentifier"},
      {"shift: {from: a, to: b, steps: [10]}\nstages: [{a: 1}]\n" + cond,
       "give either stages or shift, not both"},
      {cond, "stages (or shift: {from, to, steps}) is required"},
      {"shift: {from: a, to: b, steps: [10]}\n", "missing required key \"wait_for\""},
      {"shift: {from: a, to: b, steps: [10]}\nwait_for: {promql: 'up', timout: 1m}\n",
       "unknown key \"timout\""},
      {"shift: {from: a, to: b, steps: [10]}\n" + cond + "hold: -1s\n",
       "actuator.yml:7:7: hold: invalid duration \"-1s\""},
      {"shift: {from: a, to: b, steps: [10]}\n" + cond + "hold: [1s]\n",
       "actuator.yml:7:7: hold: "},
      {"shift: {from: a, to: b, steps: [10]}\n" + cond + "holds: 1s\n",
       "actuator.yml:7:1: holds: unknown key \"holds\""},
      {"shift: {from: a, to: b, steps: [10, 50]}\n" + cond + "timeout: 90s\n",
       "actuator.yml:7:10: timeout: timeout 1m30s is shorter than the 2 stages' hold + "
       "wait_for.timeout (2 x 1m)"},
  };
  for (const Case& c : cases) {
    auto step = Load(head + c.yaml);
    ASSERT_FALSE(step) << c.yaml;
    EXPECT_TRUE(Contains(step.error().message, c.want))
        << "got:  " << step.error().message << "\nwant: " << c.want;
  }
  // A provider without weighted records is refused at load, naming the provider key.
  auto plain = Load(
      "provider: plain\nzone: example.com.\nname: app.example.com.\ntype: A\n"
      "shift: {from: a, to: b, steps: [10]}\n" +
      cond);
  ASSERT_FALSE(plain);
  EXPECT_TRUE(Contains(plain.error().message,
                       "actuator.yml:1:11: provider: provider \"plain\" (plain) does not support "
                       "weighted routing"))
      << plain.error().message;
  // Without prometheus: there is nothing to evaluate the condition with.
  fctx_.have_prometheus = false;
  auto no_prom = Load(head + "shift: {from: a, to: b, steps: [10]}\n" + cond);
  ASSERT_FALSE(no_prom);
  EXPECT_TRUE(Contains(no_prom.error().message, "needs a prometheus section"))
      << no_prom.error().message;
}

}  // namespace
}  // namespace failover
