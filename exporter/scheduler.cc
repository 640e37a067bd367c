#include "exporter/scheduler.h"

#include <algorithm>

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

Scheduler::State* Scheduler::Find(const std::string& name) {
  auto it = std::lower_bound(probes_.begin(), probes_.end(), name,
                             [](const State& s, const std::string& n) { return *s.name < n; });
  return it != probes_.end() && *it->name == name ? &*it : nullptr;
}

const Scheduler::State* Scheduler::Find(const std::string& name) const {
  return const_cast<Scheduler*>(this)->Find(name);
}

void Scheduler::Update(const std::vector<Entry>& entries, MonoTime now) {
  // Sorted by name; of entries with the same name the last one counts.
  std::vector<const Entry*> order;
  order.reserve(entries.size());
  for (const Entry& e : entries) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(),
                   [](const Entry* a, const Entry* b) { return *a->name < *b->name; });
  std::vector<State> next;
  next.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    if (i + 1 < order.size() && *order[i + 1]->name == *order[i]->name) continue;
    const Entry& e = *order[i];
    State* old = Find(*e.name);
    if (old != nullptr && old->interval == e.interval) {
      next.push_back(*old);       // a copy: later lookups still read the old entries' names
      next.back().name = e.name;  // the same name; the old one can go
    } else {
      State s;
      s.name = e.name;
      s.interval = e.interval;
      s.next_due = FirstDue(*e.name, e.interval, now);
      s.in_flight = old != nullptr && old->in_flight;
      next.push_back(std::move(s));
    }
  }
  probes_ = std::move(next);
  queue_.clear();
  queue_.shrink_to_fit();
  queue_.reserve(probes_.size());
  for (size_t i = 0; i < probes_.size(); ++i) {
    queue_.push_back({probes_[i].next_due, static_cast<std::uint32_t>(i)});
  }
  std::make_heap(queue_.begin(), queue_.end(), Later);
}

MonoTime Scheduler::Tick(MonoTime now) {
  while (!queue_.empty() && queue_.front().at <= now) {
    std::pop_heap(queue_.begin(), queue_.end(), Later);
    Due& d = queue_.back();
    MonoTime due = d.at;
    State& s = probes_[d.probe];
    // Next slot on the probe's phase, strictly after now.
    std::int64_t behind = (now - due).count() / s.interval.count();
    s.next_due = due + s.interval * (behind + 1);
    skipped_ += static_cast<std::uint64_t>(behind);  // slots lost to a stalled loop
    d.at = s.next_due;
    std::push_heap(queue_.begin(), queue_.end(), Later);
    if (s.in_flight) {
      ++skipped_;
      continue;
    }
    s.in_flight = true;
    start_(*s.name, due);
  }
  if (queue_.empty()) return now + std::chrono::hours(1);
  return queue_.front().at;
}

void Scheduler::Finished(const std::string& name) {
  if (State* s = Find(name)) s->in_flight = false;
}

bool Scheduler::InFlight(const std::string& name) const {
  const State* s = Find(name);
  return s != nullptr && s->in_flight;
}

}  // namespace failover
