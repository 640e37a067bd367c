// When each probe runs. Pure bookkeeping over time values the caller passes in, so tests
// drive it with a fake clock and no thread.
//
// - Each probe runs every `interval`, at a fixed phase: offset = hash(name) mod interval
//   from the scheduler's origin. Start times are spread evenly across probes, and stay put
//   across reloads (an unchanged probe keeps its phase and its place in the cycle).
// - A probe never has two runs at once: a slot that comes while the previous run is still
//   going is skipped (and counted).
// - A slot missed entirely (the loop stalled) is not made up: the probe runs once, late,
//   and continues on its phase.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/duration.h"

namespace failover {

class Scheduler {
 public:
  // Called for each run to start: the probe's name and the time the run was due.
  using StartFn = std::function<void(const std::string& name, MonoTime due)>;

  struct Entry {
    Entry(std::string name, Duration interval)
        : name(std::make_shared<const std::string>(std::move(name))), interval(interval) {}
    // A name the caller already holds (the exporter passes its probe's own, with an
    // aliasing pointer): the scheduler keeps a reference, not a copy.
    Entry(std::shared_ptr<const std::string> name, Duration interval)
        : name(std::move(name)), interval(interval) {}
    std::shared_ptr<const std::string> name;
    Duration interval;
  };

  Scheduler(MonoTime origin, StartFn start) : origin_(origin), start_(std::move(start)) {}

  // Replaces the set of probes. Probes whose name and interval are unchanged keep their
  // next due time and in-flight state.
  void Update(const std::vector<Entry>& entries, MonoTime now);

  // Starts every run that is due at `now`; returns when the next one is due.
  MonoTime Tick(MonoTime now);

  // A run of `name` finished (unknown names are ignored: removed by a reload).
  void Finished(const std::string& name);

  bool InFlight(const std::string& name) const;
  std::uint64_t skipped() const { return skipped_; }
  size_t size() const { return probes_.size(); }
  // First due time of a probe added now (exposed for tests).
  MonoTime FirstDue(const std::string& name, Duration interval, MonoTime now) const;

 private:
  // Each probe's name is the caller's (shared, not copied); the queue refers to probes by
  // index (at 10,000 probes a map and a set keyed by name cost ~160 bytes a probe, this 56).
  struct State {
    std::shared_ptr<const std::string> name;
    Duration interval;
    MonoTime next_due;
    bool in_flight = false;
  };
  struct Due {
    MonoTime at;
    std::uint32_t probe;  // index into probes_
  };
  // Min-heap order: earliest first; at the same time, by name (probes_ is sorted).
  static bool Later(const Due& a, const Due& b) {
    return a.at != b.at ? a.at > b.at : a.probe > b.probe;
  }
  State* Find(const std::string& name);
  const State* Find(const std::string& name) const;

  MonoTime origin_;
  StartFn start_;
  std::vector<State> probes_;  // sorted by name, one per name
  std::vector<Due> queue_;     // a heap (Later): one entry per probe
  std::uint64_t skipped_ = 0;
};

}  // namespace failover
