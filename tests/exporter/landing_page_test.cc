// The exporter's landing page from a real ResultStore: failing probes first, the DNS
// target and replication lag where a probe reports them, and a probe's last runs with
// their failure detail.
#include "exporter/landing_page.h"

#include <gtest/gtest.h>

#include <chrono>

namespace failover {
namespace {

// Same names as the probers' families: the store reads the samples by metric name.
const MetricDesc kTarget = {"failover_dns_record_target", "test"};
const MetricDesc kLag = {"failover_replication_lag_seconds", "test"};

WallTime At(int s) { return WallTime() + std::chrono::seconds(1765000000 + s); }

TEST(ExporterLandingPageTest, FailingFirstWithTargetLagAndTheLastRuns) {
  ResultStore store;
  store.SetProbes({{"a-web", "us-east", "http", {}},
                   {"b-dns", "", "dns", {}},
                   {"c-db", "eu-west", "mysql", {}},
                   {"z-api", "eu-west", "http", {}}});
  ProbeResult ok;
  ok.success = true;
  store.Record("a-web", ok, 0.01, At(0));
  ProbeResult dns;
  dns.success = true;
  dns.samples.push_back({&kTarget, {{"target", "192.0.2.10"}, {"target_region", "us-east"}}, 1});
  store.Record("b-dns", std::move(dns), 0.002, At(0));
  ProbeResult db;
  db.success = true;
  db.samples.push_back({&kLag, {}, 2.5});
  store.Record("c-db", std::move(db), 0.005, At(0));
  for (int i = 0; i < 12; ++i) {
    ProbeResult r;
    r.success = i % 2 == 0;
    if (!r.success) {
      r.reason = "http_status";
      r.detail = "answered 503 (run " + std::to_string(i) + ")";
    }
    store.Record("z-api", r, 0.1, At(i));
  }

  std::string page = RenderExporterLandingPage(store.Snapshot(), "exporter.yml");
  size_t failing = page.find("<td>z-api</td>");
  ASSERT_NE(failing, std::string::npos) << page;
  EXPECT_LT(failing, page.find("<td>a-web</td>")) << "a failing probe comes first";
  EXPECT_NE(page.find("answered 503 (run 11)"), std::string::npos);
  EXPECT_NE(page.find("<td>192.0.2.10</td>"), std::string::npos) << "the DNS target";
  EXPECT_NE(page.find("<td>2.500s</td>"), std::string::npos) << "the replication lag";
  EXPECT_NE(page.find("href=\"/?probe=z-api\""), std::string::npos);
  EXPECT_NE(page.find("getElementById('live')"), std::string::npos) << "refreshes itself";

  std::string runs = RenderExporterLandingPage(store.Snapshot(), "exporter.yml", "z-api");
  EXPECT_NE(runs.find("Last runs of z-api"), std::string::npos);
  // The last ten runs, newest first, failures with their detail.
  EXPECT_LT(runs.find("answered 503 (run 11)"), runs.find("answered 503 (run 9)"));
  EXPECT_NE(runs.find("answered 503 (run 3)"), std::string::npos);
  EXPECT_EQ(runs.find("answered 503 (run 1)"), std::string::npos) << "only the last 10 runs";
  EXPECT_NE(
      RenderExporterLandingPage(store.Snapshot(), "exporter.yml", "nope").find("No probe named"),
      std::string::npos);
}

}  // namespace
}  // namespace failover
