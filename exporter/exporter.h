// The exporter process minus main(): loads the config, runs the probe loop on its own
// thread, serves /metrics and friends, reloads on request.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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
  // --probe.max-in-flight: probe runs at most in progress at once; a run due beyond it waits
  // for one to finish (it is started late, not dropped).
  size_t max_in_flight = kDefaultMaxInFlight;
  static constexpr size_t kDefaultMaxInFlight = 2000;
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
  // A configured probe. The result store and the scheduler refer to its identity and
  // name (aliasing pointers into this object) instead of keeping copies of their own.
  struct LiveProbe {
    ProbeIdentity id;
    std::shared_ptr<Prober> prober;
    Duration interval;
    Duration timeout;
    std::array<unsigned char, 16> fingerprint{};  // ProbeConfig::fingerprint
    bool last_success = true;
    bool has_run = false;
  };

  void ApplyConfig(ExporterConfig cfg);  // loop thread (or before it starts)
  void StartRun(const std::string& name, MonoTime due);
  // The configured probe of that name, or null (loop thread).
  const std::shared_ptr<LiveProbe>* FindProbe(const std::string& name) const;
  void Launch(std::shared_ptr<LiveProbe> live, MonoTime due);
  void StartWaiting();  // starts waiting runs while fewer than max_in_flight are going
  void LoopMain();
  void RecordReload(bool ok);
  // The exporter's own and process_* families; only those in `only` unless it is empty.
  std::string RenderOwnMetrics(const std::vector<std::string>& only = {}) const;

  ExporterOptions options_;
  const ProberRegistry& registry_;
  Clock& clock_;

  EventLoop loop_;
  CurlMulti curl_;
  AresDriver ares_;
  ProbeEnv env_;
  Scheduler scheduler_;
  std::vector<std::shared_ptr<LiveProbe>> probes_;  // sorted by name; loop thread only
  std::shared_ptr<ResultStore> store_ = std::make_shared<ResultStore>();

  std::shared_ptr<prometheus::Registry> self_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<ProcessCollector> process_ = std::make_shared<ProcessCollector>();
  prometheus::Gauge* reload_ok_;
  prometheus::Gauge* reload_ts_;
  prometheus::Histogram* late_;
  prometheus::Gauge* in_flight_;
  prometheus::Gauge* waiting_gauge_;
  prometheus::Counter* delayed_;
  prometheus::Counter* skipped_;
  prometheus::Family<prometheus::Counter>* probes_total_;
  std::map<std::pair<std::string, bool>, prometheus::Counter*> probes_total_by_kind_;
  double skipped_reported_ = 0;
  // Runs in progress, and runs due while max_in_flight were (oldest first); loop thread.
  struct Waiting {
    std::shared_ptr<LiveProbe> live;
    MonoTime due;
  };
  size_t running_runs_ = 0;
  std::deque<Waiting> waiting_;

  std::mutex reload_mu_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace failover
