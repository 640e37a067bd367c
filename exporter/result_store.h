// The latest result of every probe, written as Prometheus text at scrape time. A probe
// removed by a reload disappears from /metrics at once (with every family that only it
// had); a probe that stays keeps its counters and latency histogram.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "exporter/interned_string.h"
#include "exporter/prober.h"

namespace failover {

// A probe's own labels: sorted by name, immutable, behind one pointer. Most probes have
// none, and then this is a null pointer instead of an empty 48-byte std::map.
class ProbeLabels {
 public:
  using Map = std::map<std::string, std::string>;

  ProbeLabels() = default;
  ProbeLabels(std::initializer_list<Map::value_type> pairs) : ProbeLabels(Map(pairs)) {}
  ProbeLabels(Map labels)  // NOLINT(google-explicit-constructor): a label map is one
      : map_(labels.empty() ? nullptr : std::make_shared<const Map>(std::move(labels))) {}

  bool empty() const { return map_ == nullptr; }
  size_t size() const { return map().size(); }
  Map::const_iterator begin() const { return map().begin(); }
  Map::const_iterator end() const { return map().end(); }
  const Map& map() const {
    static const Map kNone;
    return map_ == nullptr ? kNone : *map_;
  }
  friend bool operator==(const ProbeLabels& a, const ProbeLabels& b) { return a.map() == b.map(); }

 private:
  std::shared_ptr<const Map> map_;  // null: no labels
};

struct ProbeIdentity {
  std::string name;
  InternedString region;  // "" when the probe has none
  InternedString kind;
  ProbeLabels labels;
  bool operator==(const ProbeIdentity&) const = default;
};

// One run of a probe, for the landing page's "last runs" view.
struct ProbeRun {
  double at_unix = 0;
  bool success = false;
  std::string reason;
  std::string detail;
  double duration_seconds = 0;
};

// What the landing page shows per probe.
struct ProbeStatus {
  ProbeIdentity id;
  bool has_run = false;
  bool success = false;
  std::string reason;
  std::string detail;
  double duration_seconds = 0;
  double last_run_unix = 0;
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  // From the last run's samples, where the probe reports them: the DNS targets answered
  // (failover_dns_record_target) and the largest replication lag
  // (failover_replication_lag_seconds; < 0: none).
  std::string dns_target;
  double lag_seconds = -1;
  std::vector<ProbeRun> recent;  // the last kRecentRuns runs, newest first
  static constexpr size_t kRecentRuns = 10;
};

class ResultStore : public prometheus::Collectable {
 public:
  // Latency histogram buckets, seconds (+Inf implied).
  static constexpr size_t kBucketCount = 14;
  static const std::vector<double>& Buckets();

  // Sets the probes to report. Entries of probes that are gone are dropped; a probe whose
  // identity (labels) changed starts afresh.
  void SetProbes(const std::vector<ProbeIdentity>& probes);
  // The same, keeping the caller's identities (shared, not copied: the exporter's probes
  // and the store then hold each name and label set once).
  void SetSharedProbes(const std::vector<std::shared_ptr<const ProbeIdentity>>& probes);

  // Takes result.samples (moved out); leaves the rest of `result` as it was.
  void Record(const std::string& name, ProbeResult&& result, double duration_seconds,
              WallTime when);
  void Record(const std::string& name, const ProbeResult& result, double duration_seconds,
              WallTime when) {
    Record(name, ProbeResult(result), duration_seconds, when);
  }

  // A consistent copy of every probe's series, taken under the store's lock (cheap:
  // numbers and shared pointers to immutable label strings and samples), written out as
  // Prometheus text (format 0.0.4) afterwards, piece by piece, without the lock. The text
  // has the same families, HELP/TYPE lines, series order and values as prometheus-cpp's
  // TextSerializer gives for Collect(), except that a newline in a label value is written
  // as \n, which is what the format wants.
  // A run's samples, split in two: their shape (each sample's metric and labels) and their
  // values. The shape is interned by the store and shared by every probe whose runs report
  // the same metrics with the same labels (all HTTP probes of plain URLs share one), so a
  // probe keeps only its values: an HTTP run's six samples are 48 bytes of numbers, not six
  // 32-byte Samples. The values and a reference to the shape are one allocation, counted
  // by reference: a page holds the samples it was given and reads them without the lock,
  // so the store rewrites a probe's values in place only while no page holds them
  // (Unshared(), checked under the store's lock, where pages take theirs).
  class Samples {
   public:
    // The metric and labels of each sample, in the order the prober gave them.
    using Shape = std::vector<std::pair<const MetricDesc*, SampleLabels>>;
    // What iterating gives: one sample, its labels referring into the shared shape.
    struct Ref {
      const MetricDesc* desc;
      const SampleLabels& labels;
      double value;
    };
    class Iterator {
     public:
      Iterator(const Samples* s, size_t i) : s_(s), i_(i) {}
      Ref operator*() const {
        const auto& [desc, labels] = (*s_->b_->shape)[i_];
        return {desc, labels, s_->b_->values()[i_]};
      }
      Iterator& operator++() {
        ++i_;
        return *this;
      }
      bool operator!=(const Iterator& o) const { return i_ != o.i_; }

     private:
      const Samples* s_;
      size_t i_;
    };

    Samples() = default;
    // Values for samples of `shape` (not null), all 0 until written (values()).
    explicit Samples(std::shared_ptr<const Shape> shape);
    Samples(const Samples& o) noexcept : b_(o.b_) {
      if (b_ != nullptr) b_->refs.fetch_add(1, std::memory_order_relaxed);
    }
    Samples(Samples&& o) noexcept : b_(o.b_) { o.b_ = nullptr; }
    Samples& operator=(const Samples& o) noexcept {
      Samples copy(o);
      std::swap(b_, copy.b_);
      return *this;
    }
    Samples& operator=(Samples&& o) noexcept {
      std::swap(b_, o.b_);
      return *this;
    }
    ~Samples() { Release(); }

    Iterator begin() const { return {this, 0}; }
    Iterator end() const { return {this, b_ != nullptr ? b_->shape->size() : 0}; }
    bool empty() const { return b_ == nullptr; }
    const Shape* shape() const { return b_ != nullptr ? b_->shape.get() : nullptr; }
    const std::shared_ptr<const Shape>& shared_shape() const { return b_->shape; }  // !empty()
    // Held by no one else: no page reads the values (the store asks under its lock).
    bool Unshared() const { return b_ != nullptr && b_->refs.load(std::memory_order_acquire) == 1; }
    // For the store only: new samples, or Unshared() ones.
    double* mutable_values() { return b_->values(); }

   private:
    struct Block {
      std::atomic<std::uint32_t> refs{1};
      std::shared_ptr<const Shape> shape;
      // The values follow the block in the same allocation.
      double* values() { return reinterpret_cast<double*>(this + 1); }
    };
    static_assert(sizeof(Block) % alignof(double) == 0);
    void Release() noexcept;
    Block* b_ = nullptr;
  };

  class Page {
   public:
    // Appends the next lines to `out`, until it holds at least `min_bytes` or the page
    // ends; returns false once the page is complete.
    bool Next(std::string& out, size_t min_bytes);
    // Only the families named (`/metrics?name[]=...`); none named: every family.
    void KeepOnly(std::vector<std::string> names) { only_ = std::move(names); }

   private:
    friend class ResultStore;
    struct Row {
      std::shared_ptr<const char[]> labels;
      std::uint32_t labels_size;
      Samples samples;
      std::array<std::uint32_t, kBucketCount + 1> bucket_counts;
      double latency_sum, duration, last_run;
      std::uint64_t successes, failures;
      bool has_run, success;
      std::string reason;
    };
    void WriteRow(std::string& out, size_t family, const Row& row);
    std::vector<Row> rows_;
    std::vector<const MetricDesc*> extra_;  // probe-specific families, in order of appearance
    std::vector<std::string> only_;
    bool any_run_ = false, any_failure_ = false;
    size_t family_ = 0, row_ = 0;
  };
  Page TakePage() const;
  // The whole page at once, into one string reserved for it (Exporter::RenderMetrics).
  void WriteText(std::string& out) const;
  // The same content as MetricFamily objects (costly for thousands of probes: one
  // ClientMetric with its own label vector per series). Kept for the Collectable
  // interface and as the reference WriteText is tested against.
  std::vector<prometheus::MetricFamily> Collect() const override;
  std::vector<ProbeStatus> Snapshot() const;

 private:
  // One entry of a probe's ring of recent runs: 8 bytes (a ProbeRun is 88). What the
  // landing page shows of a run: its time in whole seconds, its duration to the
  // millisecond. The newest run's exact time and duration are in the Entry. The detail
  // texts, present only after failures, are kept apart (Entry::details).
  struct Run {
    std::uint32_t at_seconds = 0;        // Unix time, whole seconds
    std::uint32_t duration_ms : 23 = 0;  // at most kMaxRunMs
    std::uint32_t reason : 8 = 0;        // index into reasons_ (kMaxReasons of them)
    std::uint32_t success : 1 = 0;
  };
  static_assert(sizeof(Run) == 8);
  static constexpr std::uint32_t kMaxRunMs = (1u << 23) - 1;  // ~2.3 hours
  static constexpr size_t kMaxReasons = 256;
  struct Entry {
    // Shared with the exporter's probe (SetSharedProbes): not a copy.
    std::shared_ptr<const ProbeIdentity> id;
    // Rendered once: probe="..",region="..",kind="..",<own labels> (not 0-terminated).
    std::shared_ptr<const char[]> labels;
    std::uint32_t labels_size = 0;
    std::uint8_t recent_size = 0;  // runs held (0: never ran)
    std::uint8_t recent_head = 0;  // index of the newest
    Samples samples;               // of the newest run
    // The runs' detail texts, by ring index; allocated at the first run with a detail.
    std::unique_ptr<std::unique_ptr<char[]>[]> details;
    double last_run_unix = 0;     // of the newest run, exact
    double duration_seconds = 0;  // of the newest run, exact
    std::uint64_t successes = 0, failures = 0;
    // Counts only (the bounds are kLatencyBuckets, shared): non-cumulative, +Inf last.
    std::array<std::uint32_t, kBucketCount + 1> bucket_counts{};
    double latency_sum = 0;
    std::array<Run, ProbeStatus::kRecentRuns> recent{};  // in the entry: no allocation

    bool has_run() const { return recent_size > 0; }
    const Run& last() const { return recent[recent_head]; }
    const char* detail(size_t i) const {
      return details && details[i] ? details[i].get() : nullptr;
    }
    const std::string& name() const { return id->name; }
  };
  const std::string& Reason(size_t i) const { return reasons_[i]; }
  std::uint8_t InternReason(const std::string& reason);  // under mu_
  // Sets `current` (a probe's samples) to the run's, with their shape interned, the
  // current shape tried first; rewrites the values in place when `current` has that shape
  // and is Unshared() (under mu_).
  void SetSamples(Samples& current, std::vector<Sample>&& samples);
  ProbeStatus StatusOf(const Entry& e) const;  // under mu_

  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // sorted by id.name, one per name
  // The failure reasons seen (a small vocabulary); "error" stands for any past kMaxReasons.
  std::vector<std::string> reasons_{"", "error"};
  // The sample shapes in use, by hash (SetSamples). Shapes no probe holds any more are
  // dropped when the table has doubled since the last sweep.
  std::unordered_multimap<size_t, std::shared_ptr<const Samples::Shape>> shapes_;
  size_t shapes_sweep_at_ = 64;
};

}  // namespace failover
