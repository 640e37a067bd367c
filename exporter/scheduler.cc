#include "exporter/scheduler.h"

namespace failover {
namespace {

std::uint64_t Fnv1a(const std::string& s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

MonoTime Scheduler::FirstDue(const std::string& name, Duration interval, MonoTime now) const {
  std::int64_t iv = interval.count();
  std::int64_t offset = static_cast<std::int64_t>(Fnv1a(name) % static_cast<std::uint64_t>(iv));
  std::int64_t since = (now - origin_).count() - offset;
  // The first slot origin + offset + k*interval at or after now.
  std::int64_t k = since <= 0 ? 0 : (since + iv - 1) / iv;
  return origin_ + Duration(offset + k * iv);
}

void Scheduler::Update(const std::vector<Entry>& entries, MonoTime now) {
  std::map<std::string, State> next;
  for (const Entry& e : entries) {
    auto it = probes_.find(e.name);
    if (it != probes_.end() && it->second.interval == e.interval) {
      next[e.name] = it->second;
    } else {
      State s;
      s.interval = e.interval;
      s.next_due = FirstDue(e.name, e.interval, now);
      s.in_flight = it != probes_.end() && it->second.in_flight;
      next[e.name] = s;
    }
  }
  probes_ = std::move(next);
  queue_.clear();
  for (const auto& [name, s] : probes_) queue_.emplace(s.next_due, name);
}

MonoTime Scheduler::Tick(MonoTime now) {
  while (!queue_.empty() && queue_.begin()->first <= now) {
    auto [due, name] = *queue_.begin();
    queue_.erase(queue_.begin());
    State& s = probes_[name];
    // Next slot on the probe's phase, strictly after now.
    std::int64_t behind = (now - due).count() / s.interval.count();
    s.next_due = due + s.interval * (behind + 1);
    skipped_ += static_cast<std::uint64_t>(behind);  // slots lost to a stalled loop
    queue_.emplace(s.next_due, name);
    if (s.in_flight) {
      ++skipped_;
      continue;
    }
    s.in_flight = true;
    start_(name, due);
  }
  if (queue_.empty()) return now + std::chrono::hours(1);
  return queue_.begin()->first;
}

void Scheduler::Finished(const std::string& name) {
  auto it = probes_.find(name);
  if (it != probes_.end()) it->second.in_flight = false;
}

bool Scheduler::InFlight(const std::string& name) const {
  auto it = probes_.find(name);
  return it != probes_.end() && it->second.in_flight;
}

}  // namespace failover
