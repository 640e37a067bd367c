// common/daemon: the flags both daemons take, the standard routes and _created of a
// daemon's own counters. The daemons' process tests (tests/exporter/exporter_process_test.cc,
// tests/actuator/actuator_process_test.cc) show the same on the real binaries.
#include "common/daemon.h"

#include <gtest/gtest.h>

#include <atomic>

namespace failover {
namespace {

HttpServerResponse Call(const std::vector<HttpServer::Route>& routes, const std::string& method,
                        const std::string& path) {
  for (const auto& r : routes) {
    if (r.method == method && r.path == path) return r.handler(HttpServerRequest{});
  }
  ADD_FAILURE() << "no route " << method << " " << path;
  return {};
}

TEST(StandardRoutesTest, HealthyReadyAndReload) {
  std::atomic<bool> ready{false};
  int reloads = 0;
  Status reload_result;
  auto routes = StandardRoutes([&] { return ready.load(); },
                               [&] {
                                 ++reloads;
                                 return reload_result;
                               });
  EXPECT_EQ(routes.size(), 4u);
  auto healthy = Call(routes, "GET", "/-/healthy");
  EXPECT_EQ(healthy.status, 200);
  EXPECT_EQ(healthy.body, "Healthy.\n");
  auto r = Call(routes, "GET", "/-/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "Not ready.\n");
  ready = true;
  r = Call(routes, "GET", "/-/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Ready.\n");

  r = Call(routes, "POST", "/-/reload");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "config reloaded\n");
  reload_result = Error::Invalid("exporter.yml:3:1: probes: bad");
  r = Call(routes, "PUT", "/-/reload");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "failed to reload config: exporter.yml:3:1: probes: bad\n");
  EXPECT_EQ(reloads, 2);
}

TEST(CreatedSinceTest, OnlyTheDaemonsOwnFamilies) {
  auto created = CreatedSince("failover_exporter_", 1700000000.5);
  EXPECT_EQ(created("failover_exporter_config_reloads"), 1700000000.5);
  EXPECT_EQ(created("failover_probe_runs"), std::nullopt);
}

TEST(DaemonFlagsTest, SharedFlagsParseAndBadLogLevelIsAUsageError) {
  DaemonFlags d("failover_test", "test.yml", ":1");
  Flags flags(d.program, "test");
  d.RegisterHead(flags, "listen", 8);
  d.RegisterTail(flags, "kinds");
  const char* argv[] = {"failover_test",           "--config.file=x.yml", "--web.listen-address=:2",
                        "--web.listen-address=:3", "--log.level=loud",    "--config.check"};
  auto args = flags.Parse(6, argv);
  EXPECT_EQ(FinishFlags(flags, args, d), std::nullopt);
  EXPECT_EQ(d.config_file, "x.yml");
  EXPECT_TRUE(d.check);
  ASSERT_EQ(d.listen.size(), 2u);  // the default is replaced, not added to
  EXPECT_EQ(d.web.more_listen_addresses, std::vector<std::string>{":3"});
  EXPECT_EQ(VersionAndLogging(d), 2);  // "loud" is no level

  const char* bad[] = {"failover_test", "--no-such-flag"};
  EXPECT_EQ(FinishFlags(flags, flags.Parse(2, bad), d), 2);
}

}  // namespace
}  // namespace failover
