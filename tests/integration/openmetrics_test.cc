// /metrics of both daemons as Prometheus itself scrapes them (common/metrics_format.cc):
// Prometheus asks for OpenMetrics 1.0.0 and gzip first, so a target that stays up with
// OpenMetrics metadata (a counter family named without _total, units) shows the protocol
// was negotiated and parsed by Prometheus' strict OpenMetrics parser; and `promtool check
// metrics` on both formats.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "common/encoding.h"
#include "common/http_client.h"
#include "tests/support/http_call.h"
#include "tests/support/stack.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace failover::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

Result<HttpResponse> Get(const std::string& url,
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
  return Http("GET", url, "", std::move(headers));
}

class OpenMetricsScrapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = &Stack::Get({"prometheus"});
    prometheus_ = stack_->Env("PROMETHEUS_URL");
    std::string prom_address = prometheus_.substr(prometheus_.find("//") + 2);
    exporter_ = std::make_unique<Daemon>("failover_exporter",
                                         dir_.Write("exporter.yml",
                                                    "defaults: {interval: 1s, timeout: 900ms}\n"
                                                    "regions: {here: {addresses: [127.0.0.1]}}\n"
                                                    "probes:\n"
                                                    "  - name: prometheus-port\n"
                                                    "    region: here\n"
                                                    "    tcp: {address: \"" +
                                                        prom_address + "\"}\n"),
                                         dir_.path());
    actuator_ = std::make_unique<Daemon>(
        "failover_actuator",
        dir_.Write("actuator.yml", "prometheus: {url: \"" + prometheus_ +
                                       "\"}\n"
                                       "journal: " +
                                       dir_.path() +
                                       "/journal.db\n"
                                       "runbooks:\n"
                                       "  - name: none\n"
                                       "    match: {alertname: OpenMetricsTestNever}\n"
                                       "    steps: [{wait: {duration: 1s}}]\n"),
        dir_.path());
    ASSERT_FALSE(HasFailure());
  }

  std::string Fetch(const std::string& address, const std::string& accept) {
    auto r = Get("http://" + address + "/metrics", {{"Accept", accept}});
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : r.error().message);
    return r ? r->body : "";
  }

  // promtool check metrics on a page: its exit code and what it printed.
  int Promtool(const std::string& page, std::string* out) {
    std::string path = dir_.Write("page.txt", page);
    return RunShell("promtool check metrics < '" + path + "' 2>&1", out);
  }

  Stack* stack_ = nullptr;
  std::string prometheus_;
  TempDir dir_;
  std::unique_ptr<Daemon> exporter_;
  std::unique_ptr<Daemon> actuator_;
};

TEST_F(OpenMetricsScrapeTest, PrometheusScrapesOpenMetricsAndTargetsAreUp) {
  std::string cfg =
      "global: {scrape_interval: 1s}\n"
      "scrape_configs:\n"
      "  - job_name: failover_exporter\n"
      "    static_configs: [{targets: [\"" +
      exporter_->address() +
      "\"]}]\n"
      "  - job_name: failover_actuator\n"
      "    static_configs: [{targets: [\"" +
      actuator_->address() + "\"]}]\n";
  std::ofstream(stack_->Env("PROMETHEUS_CONFIG"), std::ios::trunc) << cfg;
  HttpRequest reload;
  reload.method = "POST";
  reload.url = prometheus_ + "/-/reload";
  auto r = CurlHttpClient().Send(reload);
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : r.error().message);

  // Both targets healthy: Prometheus parsed what it negotiated without an error.
  json targets;
  bool up = WaitFor(
      [&] {
        auto t = Get(prometheus_ + "/api/v1/targets?state=active");
        if (!t || t->status != 200) return false;
        targets = json::parse(t->body, nullptr, false);
        if (targets.is_discarded()) return false;
        int healthy = 0;
        for (const json& a : targets["data"]["activeTargets"]) {
          std::string job = a["labels"].value("job", "");
          if ((job == "failover_exporter" || job == "failover_actuator") &&
              a.value("health", "") == "up") {
            ++healthy;
          }
        }
        return healthy == 2;
      },
      seconds(60));
  ASSERT_TRUE(up) << "targets not up:\n" << targets.dump(2);

  // OpenMetrics was negotiated: Prometheus keeps the families' metadata as the format
  // names them: counters without _total, with the unit of # UNIT. (From the text format
  // it would know process_cpu_seconds_total, without a unit.)
  auto metadata = [&](const std::string& job, const std::string& metric) {
    auto m = Get(prometheus_ + "/api/v1/targets/metadata?match_target=" +
                 UrlEncode("{job=\"" + job + "\"}") + "&metric=" + metric);
    json j = m && m->status == 200 ? json::parse(m->body, nullptr, false) : json();
    return j.is_object() && !j["data"].empty() ? j["data"][0] : json::object();
  };
  for (const std::string job : {"failover_exporter", "failover_actuator"}) {
    json cpu;
    ASSERT_TRUE(
        WaitFor([&] { return !(cpu = metadata(job, "process_cpu_seconds")).empty(); }, seconds(30)))
        << job << ": no metadata for the family process_cpu_seconds (not OpenMetrics?)";
    EXPECT_EQ(cpu.value("type", ""), "counter") << job;
    EXPECT_EQ(cpu.value("unit", ""), "seconds") << job;
  }
  json duration = metadata("failover_exporter", "failover_probe_duration_seconds");
  EXPECT_EQ(duration.value("unit", ""), "seconds") << duration.dump();

  // The samples arrive under their usual names.
  bool has_series = WaitFor(
      [&] {
        auto q = Get(prometheus_ + "/api/v1/query?query=" +
                     UrlEncode("failover_exporter_probes_total{result=\"success\"} > 0"));
        return q && q->status == 200 && q->body.find("\"kind\":\"tcp\"") != std::string::npos;
      },
      seconds(30));
  EXPECT_TRUE(has_series) << "failover_exporter_probes_total not scraped";
}

TEST_F(OpenMetricsScrapeTest, PromtoolChecksBothFormats) {
  for (const std::string& address : {exporter_->address(), actuator_->address()}) {
    // Text 0.0.4: no problem at all.
    std::string out;
    EXPECT_EQ(Promtool(Fetch(address, "text/plain;version=0.0.4"), &out), 0) << address << out;

    // OpenMetrics: promtool 2.42 lints with the text-format parser, which sees a counter's
    // samples (_total, _created) apart from its HELP (the family name without _total); that
    // is all it may report. Nothing else, and no parse error (exit code 1).
    std::string om = Fetch(address, "application/openmetrics-text;version=1.0.0");
    ASSERT_GE(om.size(), 6u);
    EXPECT_EQ(om.substr(om.size() - 6), "# EOF\n") << address;
    EXPECT_NE(om.find("# UNIT process_cpu_seconds seconds\n"), std::string::npos) << om;
    int rc = Promtool(om, &out);
    EXPECT_TRUE(rc == 0 || rc == 3) << address << " exit " << rc << ":\n" << out;
    std::istringstream lines(out);
    std::string line;
    static const std::regex counter_only("^[a-z_]+_(total|created) no help text$");
    while (std::getline(lines, line)) {
      EXPECT_TRUE(std::regex_match(line, counter_only)) << address << ": " << line;
    }
  }
}

}  // namespace
}  // namespace failover::testing
