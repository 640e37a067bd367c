// The exporter process minus main(): loads the config, runs the probe loop on its own
// thread, serves /metrics and friends, reloads on request.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/http_server.h"
#include "common/process_metrics.h"
#include "exporter/ares_driver.h"
#include "exporter/config.h"
#include "exporter/curl_multi.h"
#include "exporter/event_loop.h"
#include "exporter/prober_registry.h"
#include "exporter/result_store.h"
#include "exporter/scheduler.h"

namespace failover {

struct ExporterOptions {
  std::string config_file;
  std::string listen_address = ":9807";
  WebOptions web;  // --web.config.file and the listener limits
};

class Exporter {
 public:
  Exporter(ExporterOptions options, const ProberRegistry& registry, Clock& clock);
  ~Exporter();

  // Loads the config (an invalid one is an error: nothing starts), starts probing and
  // the HTTP server.
  Status Start();
  void Stop();

  // Re-reads the config file. An invalid file is refused and the running config kept;
  // failover_exporter_config_last_reload_successful says which happened.
  Status Reload();

  int port() const { return server_ ? server_->port() : 0; }
  // The whole /metrics page (the HTTP route sends the same text in parts).
  std::string RenderMetrics() const;
  std::string RenderLandingPage(const std::string& probe = "") const;  // "/?probe=NAME"

 private:
  struct LiveProbe {
    ProbeConfig config;
    bool last_success = true;
    bool has_run = false;
  };

  void ApplyConfig(ExporterConfig cfg);  // loop thread (or before it starts)
  void StartRun(const std::string& name, MonoTime due);
  void LoopMain();
  void RecordReload(bool ok);
  std::string RenderOwnMetrics() const;  // the exporter's own and process_* families

  ExporterOptions options_;
  const ProberRegistry& registry_;
  Clock& clock_;

  EventLoop loop_;
  CurlMulti curl_;
  AresDriver ares_;
  ProbeEnv env_;
  Scheduler scheduler_;
  std::map<std::string, std::shared_ptr<LiveProbe>> probes_;  // loop thread only
  std::shared_ptr<ResultStore> store_ = std::make_shared<ResultStore>();

  std::shared_ptr<prometheus::Registry> self_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<ProcessCollector> process_ = std::make_shared<ProcessCollector>();
  prometheus::Gauge* reload_ok_;
  prometheus::Gauge* reload_ts_;
  prometheus::Histogram* late_;
  prometheus::Gauge* in_flight_;
  prometheus::Counter* skipped_;
  prometheus::Family<prometheus::Counter>* probes_total_;
  std::map<std::pair<std::string, bool>, prometheus::Counter*> probes_total_by_kind_;
  double skipped_reported_ = 0;

  std::mutex reload_mu_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace failover
