#include "exporter/exporter.h"

#include <malloc.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <future>
#include <sstream>

#include "common/build_info.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/metrics_format.h"
#include "exporter/landing_page.h"

namespace failover {
namespace {

std::vector<double> LateBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}

// Loading a config allocates the parsed YAML next to the probes built from it; once the
// YAML is freed, its pages sit in the middle of the heap and glibc keeps them. Giving
// them back keeps the steady RSS at what the probes need (at 10,000 probes: several MiB).
void ReleaseFreedHeap() { malloc_trim(0); }

}  // namespace

Exporter::Exporter(ExporterOptions options, const ProberRegistry& registry, Clock& clock)
    : options_(std::move(options)),
      registry_(registry),
      clock_(clock),
      curl_(loop_),
      ares_(loop_),
      scheduler_(clock.Now(),
                 [this](const std::string& name, MonoTime due) { StartRun(name, due); }) {
  env_.loop = &loop_;
  env_.curl = &curl_;
  env_.ares = &ares_;
  reload_ok_ = &prometheus::BuildGauge()
                    .Name("failover_exporter_config_last_reload_successful")
                    .Help("Whether the last configuration load or reload succeeded (1) or not (0).")
                    .Register(*self_)
                    .Add({});
  reload_ts_ = &prometheus::BuildGauge()
                    .Name("failover_exporter_config_last_reload_success_timestamp_seconds")
                    .Help("When the configuration was last loaded successfully, Unix time.")
                    .Register(*self_)
                    .Add({});
  prometheus::BuildGauge()
      .Name("failover_exporter_build_info")
      .Help(
          "Version, revision, branch, build date, compiler and platform of failover_exporter; "
          "value is always 1.")
      .Register(*self_)
      .Add(BuildInfoLabels())
      .Set(1);
  late_ = &prometheus::BuildHistogram()
               .Name("failover_exporter_probe_late_seconds")
               .Help("How late probe runs started relative to their schedule.")
               .Register(*self_)
               .Add({}, LateBuckets());
  in_flight_ = &prometheus::BuildGauge()
                    .Name("failover_exporter_probes_in_flight")
                    .Help("Probe runs currently in progress.")
                    .Register(*self_)
                    .Add({});
  waiting_gauge_ = &prometheus::BuildGauge()
                        .Name("failover_exporter_probe_runs_waiting")
                        .Help(
                            "Probe runs due but not started yet because --probe.max-in-flight "
                            "runs are in progress.")
                        .Register(*self_)
                        .Add({});
  delayed_ = &prometheus::BuildCounter()
                  .Name("failover_exporter_probe_runs_delayed_total")
                  .Help(
                      "Probe runs that had to wait for a free slot because "
                      "--probe.max-in-flight runs were in progress.")
                  .Register(*self_)
                  .Add({});
  skipped_ = &prometheus::BuildCounter()
                  .Name("failover_exporter_probe_runs_skipped_total")
                  .Help(
                      "Scheduled runs not started because the previous run of the same probe "
                      "was still going, or because the loop was stalled past the slot.")
                  .Register(*self_)
                  .Add({});
  probes_total_ = &prometheus::BuildCounter()
                       .Name("failover_exporter_probes_total")
                       .Help("Probe runs finished, by kind and result.")
                       .Register(*self_);
  for (const std::string& kind : registry_.Names()) {
    probes_total_by_kind_[{kind, true}] =
        &probes_total_->Add({{"kind", kind}, {"result", "success"}});
    probes_total_by_kind_[{kind, false}] =
        &probes_total_->Add({{"kind", kind}, {"result", "failure"}});
  }
}

Exporter::~Exporter() { Stop(); }

Status Exporter::Start() {
  auto cfg = LoadExporterConfigFile(options_.config_file, registry_);
  if (!cfg) {
    RecordReload(false);
    return cfg.error();
  }
  size_t n = cfg->probes.size();
  ApplyConfig(std::move(*cfg));
  ReleaseFreedHeap();
  RecordReload(true);
  log::Info("loaded config", {{"file", options_.config_file}, {"probes", n}});

  HttpServerOptions http;
  http.listen_address = options_.listen_address;
  http.max_body_bytes = 64 << 10;
  ApplyWebOptions(options_.web, &http);
  // OpenMetrics _created of the exporter's own counters (they count from the start; the
  // probes' failover_probe_runs_total restart with each probe's config, so have none).
  CreatedLookup created = CreatedSince("failover_exporter_", UnixSeconds(clock_.WallNow()));
  std::vector<HttpServer::Route> routes = {
      {"GET", "/metrics", false,
       [this, created](const HttpServerRequest& req) {
         // `name[]=...` (repeatable): only those families, e.g. what the Prometheus
         // scraping this exporter keeps (docs/exporter.md, "Endpoints").
         std::vector<std::string> only = req.QueryParams("name[]");
         for (const std::string& name : only) {
           if (!ValidMetricName(name)) {
             return HttpServerResponse::Text(
                 400, "name[]: \"" + name + "\" is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)\n");
           }
         }
         HttpServerResponse r;
         r.content_type = kTextContentType;
         auto page = std::make_shared<ResultStore::Page>(store_->TakePage());
         page->KeepOnly(only);
         // Sent in parts of ~64 KiB as they are written: the whole page (megabytes for
         // thousands of probes) never sits in memory at once.
         r.stream = [page, own = RenderOwnMetrics(only)](std::string& part) mutable {
           if (page->Next(part, 64 << 10)) return true;
           part += own;
           return false;
         };
         return NegotiateMetrics(req, std::move(r), created);
       }},
      {"GET", "/", false,
       [this](const HttpServerRequest& r) {
         return HttpServerResponse::Html(RenderLandingPage(r.QueryParam("probe")));
       }},
  };
  for (auto& route :
       StandardRoutes([this] { return running_.load(); }, [this] { return Reload(); })) {
    routes.push_back(std::move(route));
  }
  auto server = HttpServer::Start(http, std::move(routes));
  if (!server) return server.error();
  server_ = std::move(*server);
  running_ = true;
  thread_ = std::thread([this] { LoopMain(); });
  for (const std::string& a : server_->bound_addresses()) log::Info("listening", {{"address", a}});
  return {};
}

void Exporter::Stop() {
  server_.reset();  // stop answering first
  if (thread_.joinable()) {
    loop_.Post([this] { stop_ = true; });
    thread_.join();
  }
  running_ = false;
}

Status Exporter::Reload() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  auto cfg = LoadExporterConfigFile(options_.config_file, registry_);
  if (!cfg) {
    RecordReload(false);
    log::Error("config reload failed; keeping the running config",
               {{"file", options_.config_file}, {"err", cfg.error().message}});
    return cfg.error();
  }
  if (auto s = server_ ? server_->ReloadWebConfig() : Status(); !s) {
    RecordReload(false);
    log::Error("web config reload failed; keeping the running config",
               {{"file", options_.web.config_file}, {"err", s.error().message}});
    return s.error();
  }
  size_t n = cfg->probes.size();
  if (running_) {
    auto shared = std::make_shared<ExporterConfig>(std::move(*cfg));
    std::promise<void> applied;
    loop_.Post([this, shared, &applied] {
      ApplyConfig(std::move(*shared));
      applied.set_value();
    });
    applied.get_future().wait();
  } else {
    ApplyConfig(std::move(*cfg));
  }
  ReleaseFreedHeap();
  RecordReload(true);
  log::Info("reloaded config", {{"file", options_.config_file}, {"probes", n}});
  return {};
}

void Exporter::RecordReload(bool ok) {
  reload_ok_->Set(ok ? 1 : 0);
  if (ok) reload_ts_->Set(UnixSeconds(clock_.WallNow()));
}

void Exporter::ApplyConfig(ExporterConfig cfg) {
  // Sorted by name; of probes with the same name the last one counts.
  std::vector<ProbeConfig*> order;
  order.reserve(cfg.probes.size());
  for (ProbeConfig& p : cfg.probes) order.push_back(&p);
  std::stable_sort(order.begin(), order.end(),
                   [](const ProbeConfig* a, const ProbeConfig* b) { return a->name < b->name; });
  std::vector<std::shared_ptr<LiveProbe>> next;
  next.reserve(order.size());
  std::vector<std::shared_ptr<const ProbeIdentity>> ids;
  ids.reserve(order.size());
  std::vector<Scheduler::Entry> entries;
  entries.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    if (i + 1 < order.size() && order[i + 1]->name == order[i]->name) continue;
    ProbeConfig& p = *order[i];
    const std::shared_ptr<LiveProbe>* old = FindProbe(p.name);
    std::shared_ptr<LiveProbe> live;
    if (old != nullptr && (*old)->fingerprint == p.fingerprint) {
      live = *old;  // unchanged: same prober, same history
    } else {
      live = std::make_shared<LiveProbe>();
      live->id = {std::move(p.name), p.region, p.kind, std::move(p.labels)};
      live->prober = std::move(p.prober);
      live->interval = p.interval;
      live->timeout = p.timeout;
      live->fingerprint = p.fingerprint;
    }
    ids.emplace_back(live, &live->id);
    entries.emplace_back(std::shared_ptr<const std::string>(live, &live->id.name), live->interval);
    next.push_back(std::move(live));
  }
  probes_ = std::move(next);
  store_->SetSharedProbes(ids);
  scheduler_.Update(entries, clock_.Now());
}

const std::shared_ptr<Exporter::LiveProbe>* Exporter::FindProbe(const std::string& name) const {
  auto it = std::lower_bound(
      probes_.begin(), probes_.end(), name,
      [](const std::shared_ptr<LiveProbe>& p, const std::string& n) { return p->id.name < n; });
  return it != probes_.end() && (*it)->id.name == name ? &*it : nullptr;
}

void Exporter::StartRun(const std::string& name, MonoTime due) {
  const std::shared_ptr<LiveProbe>* live = FindProbe(name);
  if (live == nullptr) {
    scheduler_.Finished(name);
    return;
  }
  if (running_runs_ >= options_.max_in_flight) {
    // Started when a run in progress finishes, oldest first. The scheduler still counts it
    // as in flight, so a slot of the same probe that comes meanwhile is skipped.
    waiting_.push_back({*live, due});
    delayed_->Increment();
    waiting_gauge_->Set(static_cast<double>(waiting_.size()));
    return;
  }
  Launch(*live, due);
}

void Exporter::StartWaiting() {
  while (!waiting_.empty() && running_runs_ < options_.max_in_flight) {
    Waiting w = std::move(waiting_.front());
    waiting_.pop_front();
    waiting_gauge_->Set(static_cast<double>(waiting_.size()));
    const std::shared_ptr<LiveProbe>* current = FindProbe(w.live->id.name);
    if (current == nullptr || *current != w.live) {
      scheduler_.Finished(w.live->id.name);  // removed or replaced by a reload meanwhile
      continue;
    }
    Launch(std::move(w.live), w.due);
  }
}

void Exporter::Launch(std::shared_ptr<LiveProbe> live, MonoTime due) {
  MonoTime start = clock_.Now();
  late_->Observe(std::chrono::duration<double>(start - due).count());
  ++running_runs_;
  in_flight_->Increment();
  // The prober is held by the run: a reload that drops the probe meanwhile does not free it.
  Prober& prober = *live->prober;
  prober.Start(env_, start + live->timeout, [this, live, start](ProbeResult r) {
    double seconds = std::chrono::duration<double>(clock_.Now() - start).count();
    --running_runs_;
    in_flight_->Decrement();
    const ProbeIdentity& c = live->id;
    const std::shared_ptr<LiveProbe>* current = FindProbe(c.name);
    bool still_configured = current != nullptr && *current == live;
    scheduler_.Finished(c.name);  // a successor of a probe replaced by a reload may run now
    if (still_configured) {
      // Takes r's samples; the reason and detail logged below stay.
      store_->Record(c.name, std::move(r), seconds, clock_.WallNow());
      // NOLINTNEXTLINE(bugprone-use-after-move): Record moved only the samples.
      if (!live->has_run || live->last_success != r.success) {
        if (r.success) {  // NOLINT(bugprone-use-after-move)
          log::Info("probe succeeded", {{"probe", c.name},
                                        {"region", c.region.str()},
                                        {"kind", c.kind.str()},
                                        {"duration_seconds", seconds}});
        } else {
          log::Warn("probe failed", {{"probe", c.name},
                                     {"region", c.region.str()},
                                     {"kind", c.kind.str()},
                                     {"reason", r.reason},
                                     {"detail", r.detail}});
        }
      } else if (!r.success) {
        log::Debug("probe failed", {{"probe", c.name}, {"reason", r.reason}, {"detail", r.detail}});
      }
      live->has_run = true;
      live->last_success = r.success;
    }
    auto counter = probes_total_by_kind_.find({c.kind.str(), r.success});
    if (counter != probes_total_by_kind_.end()) counter->second->Increment();
    // Not from inside this prober's callback: on the loop's next turn.
    if (!waiting_.empty()) loop_.Post([this] { StartWaiting(); });
  });
}

void Exporter::LoopMain() {
  while (!stop_) {
    MonoTime next = scheduler_.Tick(clock_.Now());
    double skipped = static_cast<double>(scheduler_.skipped());
    if (skipped > skipped_reported_) {
      skipped_->Increment(skipped - skipped_reported_);
      skipped_reported_ = skipped;
    }
    loop_.RunOnce(next);
  }
}

std::string Exporter::RenderMetrics() const {
  std::string out;
  store_->WriteText(out);
  out += RenderOwnMetrics();
  return out;
}

std::string Exporter::RenderOwnMetrics(const std::vector<std::string>& only) const {
  // A few dozen lines: prometheus-cpp's registry and serializer are fine for these.
  std::vector<prometheus::MetricFamily> families = self_->Collect();
  for (auto& f : process_->Collect()) families.push_back(std::move(f));
  if (!only.empty()) {
    families.erase(std::remove_if(families.begin(), families.end(),
                                  [&](const prometheus::MetricFamily& f) {
                                    return std::find(only.begin(), only.end(), f.name) ==
                                           only.end();
                                  }),
                   families.end());
  }
  std::ostringstream own;
  prometheus::TextSerializer().Serialize(own, families);
  return std::move(own).str();
}

std::string Exporter::RenderLandingPage(const std::string& probe) const {
  return RenderExporterLandingPage(store_->Snapshot(), options_.config_file, probe);
}

}  // namespace failover
