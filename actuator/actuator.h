// The actuator process minus main(): config, journal, engine, HTTP endpoints
// (webhook, API, status page, metrics), reloads.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "actuator/config.h"
#include "actuator/console.h"
#include "actuator/coordination/region_agent.h"
#include "actuator/engine.h"
#include "actuator/etcd_client.h"
#include "actuator/journal.h"
#include "actuator/metrics.h"
#include "actuator/steps/step.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/process_metrics.h"

namespace failover {

struct ActuatorOptions {
  std::string config_file = "actuator.yml";
  std::string listen_address = ":9808";
  bool force_dry_run = false;
  WebOptions web;  // --web.config.file and the listener limits
};

// With basic_auth_users in --web.config.file, a bearer token on the webhook or the API
// is an error (both need the Authorization header; no request could pass both).
Status CheckListenerAuth(const ActuatorConfig& cfg, bool basic_auth_users);

class Actuator {
 public:
  Actuator(ActuatorOptions options, Clock& clock, HttpClient& http);
  ~Actuator();

  Status Start();
  void Stop();
  Status Reload();

  int port() const { return server_ ? server_->port() : 0; }
  Engine* engine() { return engine_.get(); }
  std::string RenderMetrics() const;

 private:
  // Answers at once when the request is refused; otherwise after the engine's group
  // commit, from the thread that made it.
  void HandleWebhook(const HttpServerRequest& req, HttpResponder respond);
  HttpServerResponse HandleApi(const HttpServerRequest& req);
  ConfigDeps Deps();
  bool WebBasicAuth() const;  // basic_auth_users of the web config guard the listener

  ActuatorOptions options_;
  Clock& clock_;
  HttpClient& http_;
  StepRegistry steps_;
  ActuatorMetrics metrics_;
  ProcessCollector process_;
  std::mutex reload_mu_;
  std::shared_ptr<const ActuatorConfig> config_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<EtcdClient> etcd_;    // journal: {etcd: ...}: the execution locks' client
  std::unique_ptr<LockManager> locks_;  // etcd leases; null = the engine's file locks
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<RegionAgent> agent_;  // region_agent: configured
  std::unique_ptr<Console> console_;    // the pages (actuator/console.h)
  std::unique_ptr<HttpServer> server_;
  std::atomic<HttpServer*> listener_{nullptr};  // server_, for request threads
  bool ready_ = false;
};

}  // namespace failover
