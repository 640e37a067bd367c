// The console's overview against the real servers it reads: Debian's Prometheus (scraping a
// running failover_exporter, evaluating rules/profiles/fast.rules.yml) for each region's
// health, and Debian's Alertmanager (its API, `alertmanager:` in actuator.yml) for the
// firing alerts that match a runbook. Then Prometheus stops, and the page says so. One
// server set for all of it (actuator/console.cc, docs/actuator.md "Console").
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "common/http_client.h"
#include "tests/support/http_call.h"
#include "tests/support/stack.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"
#include "tests/support/wait.h"

namespace failover::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const std::string kFastRules = std::string(FAILOVER_SOURCE_DIR) + "/rules/profiles/fast.rules.yml";

// The text of the element with this id attribute up to its closing tag `end` ("" if absent).
std::string Element(const std::string& page, const std::string& id, const std::string& end) {
  size_t at = page.find("id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  size_t stop = page.find(end, at);
  return page.substr(at, stop == std::string::npos ? std::string::npos : stop - at);
}

TEST(ConsoleOverviewTest, RegionsFromPrometheusFiringAlertsFromAlertmanagerAndPrometheusDown) {
  Stack& stack = Stack::Get({"alertmanager", "prometheus"});
  const std::string prometheus = stack.Env("PROMETHEUS_URL");
  const std::string alertmanager = stack.Env("ALERTMANAGER_URL");
  TempDir dir;
  TestHttpServer web;  // us-east answers /healthz; eu-west's probe gets a 503

  Daemon exporter("failover_exporter",
                  dir.Write("exporter.yml",
                            "defaults: {interval: 1s, timeout: 900ms}\n"
                            "regions:\n"
                            "  us-east: {addresses: [127.0.0.2]}\n"
                            "  eu-west: {addresses: [127.0.0.3]}\n"
                            "probes:\n"
                            "  - {name: us-east-web, region: us-east, http: {url: \"" +
                                web.url("/healthz") +
                                "\"}}\n"
                                "  - {name: eu-west-web, region: eu-west, http: {url: \"" +
                                web.url("/status/503") + "\"}}\n"),
                  dir.path());
  Daemon actuator("failover_actuator",
                  dir.Write("actuator.yml", "prometheus: {url: \"" + prometheus +
                                                "\", timeout: 2s}\n"
                                                "alertmanager: {url: \"" +
                                                alertmanager +
                                                "\"}\n"
                                                "journal: " +
                                                dir.path() +
                                                "/journal.db\n"
                                                "runbooks:\n"
                                                "  - name: failover-eu-west\n"
                                                "    match: {alertname: RegionDown, region: "
                                                "eu-west}\n"
                                                "    mode: approve\n"
                                                "    steps:\n"
                                                "      - exec: {argv: [/bin/true]}\n"),
                  dir.path());
  ASSERT_FALSE(HasFailure());

  // Prometheus scrapes the exporter every second and evaluates the fast rules.
  std::ofstream(stack.Env("PROMETHEUS_CONFIG"), std::ios::trunc)
      << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
         "rule_files: [\""
      << kFastRules
      << "\"]\n"
         "scrape_configs:\n"
         "  - job_name: failover_exporter\n"
         "    static_configs: [{targets: [\""
      << exporter.address() << "\"]}]\n";
  auto reload = Http("POST", prometheus + "/-/reload");
  ASSERT_TRUE(reload && reload->status == 200) << (reload ? reload->body : reload.error().message);

  // Two firing alerts in Alertmanager: one a runbook matches, one none does.
  json alerts = json::array(
      {{{"labels", {{"alertname", "RegionDown"}, {"region", "eu-west"}, {"severity", "critical"}}},
        {"annotations", {{"summary", "eu-west is down"}}}},
       {{"labels", {{"alertname", "DiskAlmostFull"}, {"instance", "db-1"}}}}});
  auto posted = Http("POST", alertmanager + "/api/v2/alerts", alerts.dump(),
                     {{"Content-Type", "application/json"}});
  ASSERT_TRUE(posted && posted->status == 200) << (posted ? posted->body : posted.error().message);

  std::string page, regions, firing;
  bool shown = WaitFor(
      [&] {
        auto r = Http("GET", actuator.url() + "/");
        if (!r || r->status != 200) {
          page = r ? "status " + std::to_string(r->status) + ": " + r->body : r.error().message;
          return false;
        }
        page = r->body;
        regions = Element(page, "regions", "</table>");
        firing = Element(page, "alerts", "</table>");
        return regions.find("data-region=\"eu-west\"") != std::string::npos &&
               regions.find("data-region=\"us-east\"") != std::string::npos &&
               firing.find("RegionDown") != std::string::npos;
      },
      seconds(60));
  ASSERT_TRUE(shown) << page << "\nexporter:\n"
                     << exporter.Log() << "\nactuator:\n"
                     << actuator.Log();
  // Each region's health as the recording rules have it.
  EXPECT_NE(regions.find("<tr data-region=\"us-east\"><td>us-east</td><td><span class=\"state "
                         "up\">up</span>"),
            std::string::npos)
      << regions;
  EXPECT_NE(regions.find("<tr data-region=\"eu-west\"><td>eu-west</td><td><span class=\"state "
                         "down\">down</span>"),
            std::string::npos)
      << regions;
  // The alert a runbook matches, with its labels and the runbook; not the other one.
  EXPECT_NE(firing.find("<td>RegionDown</td>"), std::string::npos) << firing;
  EXPECT_NE(firing.find("region=&quot;eu-west&quot;"), std::string::npos) << firing;
  EXPECT_NE(firing.find("<td>failover-eu-west</td>"), std::string::npos) << firing;
  EXPECT_EQ(firing.find("DiskAlmostFull"), std::string::npos) << firing;

  // Prometheus stops: the page still answers, and says so instead of showing regions.
  ASSERT_EQ(stack.Run({"stop", "prometheus"}), 0);
  auto r = Http("GET", actuator.url() + "/");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : r.error().message);
  regions = Element(r->body, "regions", "</p>");
  EXPECT_NE(regions.find("Prometheus unreachable"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("data-region="), std::string::npos) << "no stale region health";
  EXPECT_NE(Element(r->body, "alerts", "</table>").find("RegionDown"), std::string::npos)
      << "Alertmanager's panel does not depend on Prometheus";
}

}  // namespace
}  // namespace failover::testing
