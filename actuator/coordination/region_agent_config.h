// The `region_agent:` and `writer_lease:` sections of actuator.yml (docs/writer-lease.md).
//
//   writer_lease: {etcd: {endpoints: [http://...], prefix: /failover/}, ttl: 10s}
//   region_agent:
//     region: us-east
//     etcd: {endpoints: [http://...], prefix: /failover/}
//     database: us-east-db          # an id under databases:
//     ttl: 10s                      # the writer lease's TTL the agent expects
//     renew_every: 2s
//     fence_after: 6s               # no renewal for this long: fence the region
//     fence_timeout: 2s             # what the database fence may take
//     make_writable: true           # holder + renewing: make a read-only primary writable
//     fence_steps: [...]            # steps run when the region is fenced (e.g. http)
//     unfence_steps: [...]          # steps run when it is made writable again
//
// Validated at load: renew_every < fence_after and
// fence_after + fence_timeout + ttl/10 (the clock margin) <= ttl.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actuator/config.h"
#include "actuator/coordination/writer_lease.h"

namespace failover {

// The keys of an etcd: block (here, and the journal's in actuator/config.cc): endpoints:
// (required; http(s) client URLs without a path, appended to `endpoints`) and prefix:
// (optional; starts and ends with /, left as it is when absent).
Status LoadEtcdEndpoints(const YamlNode& node, std::vector<std::string>& endpoints);
Status LoadEtcdPrefix(const YamlNode& node, std::string& prefix);

struct RegionAgentConfig {
  std::string region;
  std::vector<std::string> endpoints;
  std::string prefix = "/failover/";
  std::string database_id;
  std::shared_ptr<Database> database;
  Duration ttl = std::chrono::seconds(10);
  Duration renew_every = std::chrono::seconds(2);
  Duration fence_after = std::chrono::seconds(6);
  Duration fence_timeout = std::chrono::seconds(2);
  bool make_writable = true;
  std::vector<StepConfig> fence_steps;
  std::vector<StepConfig> unfence_steps;

  // The part of the TTL the agent does not use: ttl - fence_after - fence_timeout.
  Duration Margin() const { return ttl - fence_after - fence_timeout; }
};

// The clock margin every configuration keeps: ttl / 10 (etcd and the agent measuring
// time at rates up to 10% apart).
inline Duration ClockMargin(Duration ttl) { return ttl / 10; }

using StepListLoader = std::function<Result<std::vector<StepConfig>>(const YamlNode&)>;

Result<WriterLeaseConfig> LoadWriterLeaseConfig(const YamlNode& node);
Result<std::shared_ptr<const RegionAgentConfig>> LoadRegionAgentConfig(
    const YamlNode& node, const DatabaseMap& databases, const StepListLoader& load_steps);

}  // namespace failover
