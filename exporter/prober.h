// The Prober interface: one implementation per probe kind in probers/<kind>.{h,cc},
// registered in prober_registry.cc. A prober is built (and fully validated) from its
// YAML block at config load time; at run time it only probes.
//
// Probers are asynchronous: Start() begins a run on the exporter's event loop and calls
// `done` exactly once, on the loop thread, by the deadline. (Not a blocking Probe(): async is
// what lets one thread carry thousands of in-flight probes; docs/exporter.md, Scheduling.)
// The generic metrics (success, duration, latency histogram, runs, failure reason) are
// produced outside the probers, from the ProbeResult.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/duration.h"
#include "common/result.h"
#include "common/yaml.h"

namespace failover {

class EventLoop;
class CurlMulti;
class AresDriver;

// A probe-specific metric. All are gauges holding the value of the last run.
struct MetricDesc {
  const char* name;
  const char* help;
};

// A sample's own labels, in addition to the probe's. Immutable and shared: a fixed set
// (an HTTP phase, a database role) is built once and every result only points at it,
// instead of each of 10,000 probes keeping its own copy of "phase"="resolve".
class SampleLabels {
 public:
  using Pairs = std::vector<std::pair<std::string, std::string>>;

  SampleLabels() = default;
  SampleLabels(std::initializer_list<std::pair<std::string, std::string>> pairs)
      : SampleLabels(Pairs(pairs)) {}
  SampleLabels(Pairs pairs)  // NOLINT(google-explicit-constructor): a label list is one
      : pairs_(pairs.empty() ? nullptr : std::make_shared<const Pairs>(std::move(pairs))) {}

  bool empty() const { return pairs_ == nullptr; }
  size_t size() const { return pairs_ == nullptr ? 0 : pairs_->size(); }
  Pairs::const_iterator begin() const { return pairs().begin(); }
  Pairs::const_iterator end() const { return pairs().end(); }
  const Pairs& pairs() const {
    static const Pairs kNone;
    return pairs_ == nullptr ? kNone : *pairs_;
  }

  friend bool operator==(const SampleLabels& a, const SampleLabels& b) {
    return a.pairs() == b.pairs();
  }
  friend bool operator==(const SampleLabels& a, const Pairs& b) { return a.pairs() == b; }

 private:
  std::shared_ptr<const Pairs> pairs_;  // null: no labels
};

struct Sample {
  const MetricDesc* desc;
  SampleLabels labels;  // in addition to the probe's own
  double value;
};

struct ProbeResult {
  bool success = false;
  // Why the run failed, a short fixed vocabulary fit for a label: timeout,
  // connection_refused, connect_failed, resolve, tls_handshake, tls_verify, http_status,
  // body_not_matched, body_matched, body_too_large, too_many_redirects, connection_reset,
  // empty_reply, error; DNS: dns_nxdomain, dns_servfail, dns_refused, dns_formerr,
  // dns_notimp, dns_notauth, dns_rcode (any other rcode), dns_nodata, dns_truncated;
  // databases (and redis): auth_failed, query_failed, heartbeat_stale; tcp query_response:
  // expect_not_matched; cloudwatch: throttled, sample_stale, no_datapoints (and auth_failed,
  // query_failed, http_status). Empty on success.
  std::string reason;
  std::string detail;  // the human-readable account, for logs and the landing page
  std::vector<Sample> samples;

  static ProbeResult Failure(std::string reason, std::string detail) {
    ProbeResult r;
    r.reason = std::move(reason);
    r.detail = std::move(detail);
    return r;
  }
};

using ProbeDone = std::function<void(ProbeResult)>;

// What a run may use; all of it lives on the loop thread.
struct ProbeEnv {
  EventLoop* loop = nullptr;
  CurlMulti* curl = nullptr;
  AresDriver* ares = nullptr;  // DNS queries on the loop (c-ares)
};

class Prober {
 public:
  virtual ~Prober() = default;
  virtual void Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) = 0;
};

struct RegionConfig {
  std::vector<std::string> addresses;
};

// What a factory knows besides its own YAML block.
struct ProberContext {
  std::string probe_name;
  Duration timeout;
  const std::map<std::string, RegionConfig>* regions = nullptr;
};

using ProberFactory =
    std::function<Result<std::shared_ptr<Prober>>(const YamlNode& node, const ProberContext&)>;

}  // namespace failover
