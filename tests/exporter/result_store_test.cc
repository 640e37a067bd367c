#include "exporter/result_store.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace failover {
namespace {

const MetricDesc kStatus = {"failover_probe_http_status_code", "Status."};

// What /metrics serves for the probes.
std::string Render(const ResultStore& store) {
  std::string out;
  store.WriteText(out);
  return out;
}

// The same store through prometheus-cpp's serializer: the format /metrics had before
// the direct writer, which dashboards, rules and Prometheus were built against.
std::string RenderWithPrometheusCpp(const ResultStore& store) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, store.Collect());
  return out.str();
}

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(ResultStoreTest, NothingButRunCountersBeforeTheFirstRun) {
  ResultStore store;
  store.SetProbes({{"web", "us-east", "http", {{"tier", "web"}}}});
  std::string text = Render(store);
  EXPECT_TRUE(Has(text,
                  "failover_probe_runs_total{probe=\"web\",region=\"us-east\",kind=\"http\","
                  "tier=\"web\",result=\"success\"} 0"))
      << text;
  EXPECT_EQ(text.find("failover_probe_success{"), std::string::npos);
}

TEST(ResultStoreTest, SuccessFailureReasonAndSamples) {
  ResultStore store;
  store.SetProbes({{"web", "us-east", "http", {}}, {"dns", "", "dns", {}}});
  ProbeResult ok;
  ok.success = true;
  ok.samples.push_back({&kStatus, {}, 200});
  store.Record("web", ok, 0.02, WallTime() + std::chrono::seconds(100));
  std::string text = Render(store);
  EXPECT_TRUE(
      Has(text, "failover_probe_success{probe=\"web\",region=\"us-east\",kind=\"http\"} 1"));
  EXPECT_TRUE(Has(
      text, "failover_probe_http_status_code{probe=\"web\",region=\"us-east\",kind=\"http\"} 200"));
  EXPECT_TRUE(Has(text,
                  "failover_probe_last_run_timestamp_seconds{probe=\"web\",region=\"us-east\",kind="
                  "\"http\"} 100"));
  EXPECT_EQ(text.find("failover_probe_failure_info"), std::string::npos);

  ProbeResult bad = ProbeResult::Failure("http_status", "status 503 is not 2xx");
  bad.samples.push_back({&kStatus, {}, 503});
  store.Record("web", bad, 0.03, WallTime());
  text = Render(store);
  EXPECT_TRUE(
      Has(text, "failover_probe_success{probe=\"web\",region=\"us-east\",kind=\"http\"} 0"));
  EXPECT_TRUE(Has(text,
                  "failover_probe_failure_info{probe=\"web\",region=\"us-east\",kind=\"http\","
                  "reason=\"http_status\"} 1"));
  EXPECT_TRUE(Has(
      text, "failover_probe_http_status_code{probe=\"web\",region=\"us-east\",kind=\"http\"} 503"));
  EXPECT_TRUE(Has(text,
                  "failover_probe_runs_total{probe=\"web\",region=\"us-east\",kind=\"http\",result="
                  "\"failure\"} 1"));
  EXPECT_TRUE(Has(text,
                  "failover_probe_runs_total{probe=\"web\",region=\"us-east\",kind=\"http\",result="
                  "\"success\"} 1"));
  // A probe without a region has no region label (not region="").
  store.Record("dns", ok, 0.001, WallTime());
  EXPECT_TRUE(Has(Render(store), "failover_probe_success{probe=\"dns\",kind=\"dns\"} 1"));
}

TEST(ResultStoreTest, HistogramCountsEveryRun) {
  ResultStore store;
  store.SetProbes({{"web", "r", "http", {}}});
  ProbeResult ok;
  ok.success = true;
  for (double d : {0.004, 0.004, 0.2, 7.0}) store.Record("web", ok, d, WallTime());
  std::string text = Render(store);
  const std::string l = "{probe=\"web\",region=\"r\",kind=\"http\"";
  EXPECT_TRUE(Has(text, "failover_probe_latency_seconds_count" + l + "} 4")) << text;
  EXPECT_TRUE(Has(text, "failover_probe_latency_seconds_bucket" + l + ",le=\"0.005\"} 2"));
  EXPECT_TRUE(Has(text, "failover_probe_latency_seconds_bucket" + l + ",le=\"0.25\"} 3"));
  EXPECT_TRUE(Has(text, "failover_probe_latency_seconds_bucket" + l + ",le=\"5\"} 3"));
  EXPECT_TRUE(Has(text, "failover_probe_latency_seconds_bucket" + l + ",le=\"+Inf\"} 4"));
}

// `/metrics?name[]=...`: only the families named, each whole; the page without a filter
// is the full page.
TEST(ResultStoreTest, APageKeepsOnlyTheFamiliesNamed) {
  ResultStore store;
  store.SetProbes({{"web", "r", "http", {}}});
  ProbeResult bad = ProbeResult::Failure("http_status", "status 503 is not 2xx");
  bad.samples.push_back({&kStatus, {}, 503});
  store.Record("web", bad, 0.2, WallTime());
  auto page_of = [&](std::vector<std::string> only) {
    ResultStore::Page page = store.TakePage();
    page.KeepOnly(std::move(only));
    std::string out;
    while (page.Next(out, 1)) {
    }
    return out;
  };
  EXPECT_EQ(page_of({}), Render(store));
  std::string text = page_of(
      {"failover_probe_latency_seconds", "failover_probe_http_status_code", "no_such_family"});
  const std::string l = "{probe=\"web\",region=\"r\",kind=\"http\"";
  EXPECT_TRUE(Has(text, "# TYPE failover_probe_latency_seconds histogram")) << text;
  EXPECT_TRUE(Has(text, "failover_probe_latency_seconds_bucket" + l + ",le=\"+Inf\"} 1")) << text;
  EXPECT_TRUE(Has(text, "failover_probe_latency_seconds_count" + l + "} 1")) << text;
  EXPECT_TRUE(Has(text, "failover_probe_http_status_code" + l + "} 503")) << text;
  for (const char* gone :
       {"failover_probe_success", "failover_probe_runs_total", "failover_probe_failure_info",
        "failover_probe_duration_seconds", "failover_probe_last_run_timestamp_seconds"}) {
    EXPECT_EQ(text.find(gone), std::string::npos) << gone << "\n" << text;
  }
  EXPECT_EQ(page_of({"no_such_family"}), "");
}

TEST(ResultStoreTest, ReloadDropsRemovedProbesKeepsUnchangedResetsChanged) {
  ResultStore store;
  store.SetProbes({{"a", "r", "http", {}}, {"b", "r", "http", {}}, {"c", "r", "tcp", {}}});
  ProbeResult ok;
  ok.success = true;
  for (const char* n : {"a", "b", "c"}) store.Record(n, ok, 0.01, WallTime());
  store.SetProbes({{"a", "r", "http", {}}, {"c", "r", "tcp", {{"tier", "db"}}}});
  std::string text = Render(store);
  EXPECT_EQ(text.find("probe=\"b\""), std::string::npos) << "removed probe still exported";
  EXPECT_TRUE(Has(
      text,
      "failover_probe_runs_total{probe=\"a\",region=\"r\",kind=\"http\",result=\"success\"} 1"));
  EXPECT_TRUE(Has(text,
                  "failover_probe_runs_total{probe=\"c\",region=\"r\",kind=\"tcp\",tier=\"db\","
                  "result=\"success\"} 0"));
  // A result arriving for a removed probe is dropped.
  store.Record("b", ok, 0.01, WallTime());
  EXPECT_EQ(Render(store).find("probe=\"b\""), std::string::npos);
}

TEST(ResultStoreTest, SampleSeriesFollowTheLatestResult) {
  static const MetricDesc kTarget = {"failover_dns_record_target", "Target."};
  ResultStore store;
  store.SetProbes({{"dns", "", "dns", {}}});
  ProbeResult r;
  r.success = true;
  r.samples.push_back({&kTarget, {{"target", "127.0.0.2"}}, 1});
  store.Record("dns", r, 0.001, WallTime());
  EXPECT_NE(Render(store).find("target=\"127.0.0.2\""), std::string::npos);
  r.samples = {{&kTarget, {{"target", "127.0.0.3"}}, 1}};
  store.Record("dns", r, 0.001, WallTime());
  std::string text = Render(store);
  EXPECT_EQ(text.find("target=\"127.0.0.2\""), std::string::npos) << "stale series left behind";
  EXPECT_NE(text.find("target=\"127.0.0.3\""), std::string::npos);
}

// The store keeps a sample's metric and labels once for every probe that reports the same
// ones, and only the values per probe: each probe must still show its own values and its
// own latest labels, through many shapes coming and going, and a page taken earlier must
// still show what was current when it was taken.
TEST(ResultStoreTest, ProbesSharingSampleShapesKeepTheirOwnValuesAndLabels) {
  static const MetricDesc kTarget = {"failover_dns_record_target", "Target."};
  static const MetricDesc kPhase = {"failover_probe_http_phase_seconds", "Phase."};
  static const SampleLabels kConnect({{"phase", "connect"}});
  ResultStore store;
  std::vector<ProbeIdentity> ids;
  for (int i = 0; i < 300; ++i) ids.push_back({"p" + std::to_string(1000 + i), "", "dns", {}});
  store.SetProbes(ids);
  auto record = [&store](int round) {
    for (int i = 0; i < 300; ++i) {
      ProbeResult r;
      r.success = true;
      r.samples.push_back({&kStatus, {}, static_cast<double>(round * 1000 + i)});
      r.samples.push_back({&kPhase, kConnect, 0.5});
      // Every probe and round its own target: many shapes, most of them soon unused.
      r.samples.push_back(
          {&kTarget,
           {{"target", "10." + std::to_string(round) + "." + std::to_string(i / 200) + "." +
                           std::to_string(i % 200)}},
           1});
      store.Record("p" + std::to_string(1000 + i), std::move(r), 0.001, WallTime());
    }
  };
  auto series = [](int round, int i) {
    std::string probe = "{probe=\"p" + std::to_string(1000 + i) + "\",kind=\"dns\"";
    return std::make_pair(
        "failover_probe_http_status_code" + probe + "} " + std::to_string(round * 1000 + i),
        "failover_dns_record_target" + probe + ",target=\"10." + std::to_string(round) + "." +
            std::to_string(i / 200) + "." + std::to_string(i % 200) + "\"} 1");
  };
  std::string before;
  for (int round = 1; round <= 3; ++round) {
    record(round);
    if (round == 2) {
      ResultStore::Page page = store.TakePage();
      record(3);  // after the page was taken: the page still has round 2
      while (page.Next(before, std::numeric_limits<size_t>::max())) {
      }
      round = 3;
    }
    std::string text = Render(store);
    EXPECT_EQ(text, RenderWithPrometheusCpp(store));
    for (int i = 0; i < 300; ++i) {
      auto [status, target] = series(round, i);
      ASSERT_TRUE(Has(text, status)) << status;
      ASSERT_TRUE(Has(text, target)) << target;
      ASSERT_TRUE(Has(text, "failover_probe_http_phase_seconds{probe=\"p" +
                                std::to_string(1000 + i) +
                                "\",kind=\"dns\",phase=\"connect\"} 0.5"));
      ASSERT_FALSE(Has(text, series(round - 1, i).second)) << "stale series left behind";
    }
  }
  for (int i = 0; i < 300; ++i) {
    auto [status, target] = series(2, i);
    ASSERT_TRUE(Has(before, status)) << status;
    ASSERT_TRUE(Has(before, target)) << target;
  }
}

TEST(ResultStoreTest, ReloadRemovesTheFamiliesOnlyRemovedProbesHad) {
  static const MetricDesc kLookup = {"failover_dns_lookup_seconds", "Lookup."};
  ResultStore store;
  store.SetProbes({{"web", "r", "http", {}}, {"dns", "", "dns", {}}});
  ProbeResult bad = ProbeResult::Failure("timeout", "timeout after 5s");
  bad.samples.push_back({&kStatus, {}, 0});
  store.Record("web", bad, 5, WallTime());
  ProbeResult ok;
  ok.success = true;
  ok.samples.push_back({&kLookup, {{"nameserver", "127.0.0.1:53"}}, 0.001});
  store.Record("dns", ok, 0.001, WallTime());
  std::string text = Render(store);
  EXPECT_NE(text.find("# TYPE failover_probe_http_status_code gauge"), std::string::npos);
  EXPECT_NE(text.find("# TYPE failover_probe_failure_info gauge"), std::string::npos);

  store.SetProbes({{"dns", "", "dns", {}}});
  text = Render(store);
  // No orphaned HELP/TYPE lines either: the families go with their last series.
  EXPECT_EQ(text.find("failover_probe_http_status_code"), std::string::npos) << text;
  EXPECT_EQ(text.find("failover_probe_failure_info"), std::string::npos) << text;
  EXPECT_EQ(text.find("probe=\"web\""), std::string::npos) << text;
  EXPECT_TRUE(Has(text,
                  "failover_dns_lookup_seconds{probe=\"dns\",kind=\"dns\",nameserver=\"127.0.0."
                  "1:53\"} 0.001"));

  store.SetProbes({});
  EXPECT_EQ(Render(store), "") << "no probes, no probe families";
}

// A store with every kind of series: probes with and without region, own labels with
// characters that need escaping, not yet run, failed, and probe-specific families.
void FillVariedStore(ResultStore& store) {
  static const MetricDesc kPhase = {"failover_probe_http_phase_seconds", "Phase."};
  static const MetricDesc kTarget = {"failover_dns_record_target", "Target."};
  store.SetProbes({{"a-web", "us-east", "http", {{"tier", "web"}, {"note", R"(say "hi" \o/)"}}},
                   {"b-new", "eu-west", "http", {}},
                   {"c-dns", "", "dns", {}},
                   {"d-down", "eu-west", "tcp", {}}});
  ProbeResult ok;
  ok.success = true;
  ok.samples.push_back({&kStatus, {}, 200});
  ok.samples.push_back({&kPhase, {{"phase", "connect"}}, 0.000123});
  ok.samples.push_back({&kPhase, {{"phase", "transfer"}}, 1.0 / 3});
  for (double d : {0.0004, 0.003, 0.07, 2.0, 45.0}) {
    store.Record("a-web", ok, d, WallTime() + std::chrono::microseconds(1795314825895473));
  }
  ProbeResult dns;
  dns.success = true;
  dns.samples.push_back({&kTarget, {{"target", "127.0.0.2"}, {"nameserver", "[::1]:53"}}, 1});
  store.Record("c-dns", dns, 0.0015, WallTime());
  ProbeResult down = ProbeResult::Failure("connection_refused", "refused");
  store.Record("d-down", down, 1e-5, WallTime() + std::chrono::seconds(7));
  ProbeResult unknown = ProbeResult::Failure("", "no reason given");
  store.Record("d-down", unknown, 123456.789, WallTime() + std::chrono::seconds(8));
}

TEST(ResultStoreTest, WrittenTextIsWhatPrometheusCppSerializes) {
  ResultStore store;
  FillVariedStore(store);
  std::string text = Render(store);
  EXPECT_EQ(text, RenderWithPrometheusCpp(store));
  EXPECT_TRUE(Has(text, R"(failover_probe_success{probe="a-web",region="us-east",kind="http",)"
                        R"(note="say \"hi\" \\o/",tier="web"} 1)"))
      << text;
  EXPECT_TRUE(Has(text,
                  "failover_probe_failure_info{probe=\"d-down\",region=\"eu-west\",kind=\"tcp\","
                  "reason=\"error\"} 1"));
}

TEST(ResultStoreTest, PromtoolAcceptsTheText) {
  ResultStore store;
  FillVariedStore(store);
  // A newline in a label value (a database error text, say) is escaped as \n.
  static const MetricDesc kError = {"failover_replication_last_error_info", "Error."};
  store.SetProbes({{"a-web", "us-east", "http", {{"tier", "web"}, {"note", R"(say "hi" \o/)"}}},
                   {"e-db", "", "mysql", {}}});
  ProbeResult db;
  db.success = true;
  db.samples.push_back({&kError, {{"thread", "sql"}, {"error", "line one\nline two"}}, 1});
  store.Record("e-db", db, 0.002, WallTime());
  std::string text = Render(store);
  EXPECT_NE(text.find(R"(error="line one\nline two")"), std::string::npos) << text;
  testing::TempDir dir;
  std::string file = dir.Write("metrics.txt", text);
  auto r =
      testing::Subprocess::Run({"/bin/sh", "-c", "promtool check metrics < " + file}, dir.path());
  EXPECT_EQ(r.status, 0) << r.out << r.err << text;
}

TEST(ResultStoreTest, RecentRunsKeepSecondsAndMillisecondsTheNewestExact) {
  ResultStore store;
  store.SetProbes({{"web", "r", "http", {}}});
  ProbeResult ok;
  ok.success = true;
  ProbeResult down = ProbeResult::Failure("timeout", "no answer in 5s");
  WallTime t0 = WallTime() + std::chrono::seconds(1'800'000'000);
  store.Record("web", down, 3.2104, t0 + std::chrono::milliseconds(250));
  store.Record("web", ok, 10'000.0, t0 + std::chrono::milliseconds(10'750));  // saturates
  store.Record("web", ok, 0.01234, t0 + std::chrono::milliseconds(20'500));
  std::vector<ProbeStatus> st = store.Snapshot();
  ASSERT_EQ(st.size(), 1u);
  ASSERT_EQ(st[0].recent.size(), 3u);
  // The newest: time and duration as recorded.
  EXPECT_DOUBLE_EQ(st[0].last_run_unix, 1'800'000'020.5);
  EXPECT_DOUBLE_EQ(st[0].recent[0].at_unix, 1'800'000'020.5);
  EXPECT_DOUBLE_EQ(st[0].recent[0].duration_seconds, 0.01234);
  // Older ones: whole seconds, and milliseconds up to ~2.3 hours.
  EXPECT_DOUBLE_EQ(st[0].recent[1].at_unix, 1'800'000'010);
  EXPECT_DOUBLE_EQ(st[0].recent[1].duration_seconds, 8388.607);
  EXPECT_TRUE(st[0].recent[1].success);
  EXPECT_DOUBLE_EQ(st[0].recent[2].at_unix, 1'800'000'000);
  EXPECT_DOUBLE_EQ(st[0].recent[2].duration_seconds, 3.21);
  EXPECT_FALSE(st[0].recent[2].success);
  EXPECT_EQ(st[0].recent[2].reason, "timeout");
  EXPECT_EQ(st[0].recent[2].detail, "no answer in 5s");
  EXPECT_TRUE(Has(Render(store),
                  "failover_probe_last_run_timestamp_seconds"
                  "{probe=\"web\",region=\"r\",kind=\"http\"} 1800000020.5"));
}

TEST(ResultStoreTest, ReasonsPastTheBoundAreReportedAsError) {
  ResultStore store;
  store.SetProbes({{"p", "", "k", {}}});
  for (int i = 0; i < 300; ++i) {
    store.Record("p", ProbeResult::Failure("odd_" + std::to_string(i), ""), 0.001, WallTime());
  }
  std::string text = Render(store);
  EXPECT_TRUE(Has(text, R"(failover_probe_failure_info{probe="p",kind="k",reason="error"} 1)"))
      << text;
  store.Record("p", ProbeResult::Failure("odd_5", ""), 0.001, WallTime());  // one of the first
  EXPECT_TRUE(
      Has(Render(store), R"(failover_probe_failure_info{probe="p",kind="k",reason="odd_5"} 1)"));
}

TEST(ResultStoreTest, ValuesChangeInPlaceOnlyWhileNoPageReadsThem) {
  ResultStore store;
  store.SetProbes({{"web", "", "http", {}}});
  auto record = [&store](double status) {
    ProbeResult r;
    r.success = true;
    r.samples.push_back({&kStatus, {}, status});
    store.Record("web", std::move(r), 0.01, WallTime());
  };
  const std::string series = R"(failover_probe_http_status_code{probe="web",kind="http"} )";
  record(200);
  ResultStore::Page page = store.TakePage();
  record(503);  // the same shape; the page holds the values it was given
  record(504);
  std::string held;
  while (page.Next(held, std::numeric_limits<size_t>::max())) {
  }
  EXPECT_TRUE(Has(held, series + "200")) << held;
  EXPECT_TRUE(Has(Render(store), series + "504"));
  page = ResultStore::Page();  // no page holds them now: rewritten where they are
  record(201);
  record(202);
  EXPECT_TRUE(Has(Render(store), series + "202"));
  EXPECT_EQ(Render(store), RenderWithPrometheusCpp(store));
}

TEST(ProbeIdentityTest, RegionIsKeptOnceLabelsCompareByValue) {
  ProbeIdentity a{"a", "us-east", "http", {{"tier", "web"}}};
  ProbeIdentity b{"b", std::string("us-") + "east", "http", {{"tier", "web"}}};
  EXPECT_EQ(&a.region.str(), &b.region.str());
  EXPECT_EQ(a.region, b.region);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.labels.map().at("tier"), "web");
  b.name = "a";
  EXPECT_EQ(a, b);
  b.labels = ProbeLabels{{"tier", "db"}};
  EXPECT_FALSE(a == b);
  EXPECT_TRUE(ProbeLabels().empty());
  EXPECT_TRUE(ProbeLabels(ProbeLabels::Map{}).empty());
}

}  // namespace
}  // namespace failover
