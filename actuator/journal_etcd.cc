// EtcdJournal: the Journal in etcd, for several actuators sharing one cluster.
//
// Keys under the configured prefix P (values are the records' JSON forms):
//   P exec/<id>                   execution           P dedup/<dedup_key>   its id
//   P step/<id>/<phase>/<index>   step                P event/<id>/<seq>    event
//   P webhook/<seq>               webhook request     P webhook_of/<id>     its webhook key
//   P lock/<scope>                execution lock (actuator/lock_etcd.cc)
//   P setting/<key>               a shared setting (the automation hold)
// Accept is one txn that creates each execution only if its dedup key has
// create_revision 0, so two actuators given the same webhook insert it once. Writes of an
// execution whose lock this process holds (Fence) compare the lock key's create_revision
// with the epoch it was acquired at: a process that lost the lock cannot write.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>

#include "actuator/etcd_client.h"
#include "actuator/journal.h"

namespace failover {
namespace {

using nlohmann::json;

// etcd's default --max-txn-ops is 128; Accept uses four puts per candidate (dedup key,
// execution, its webhook, its first event) and one more (the webhook). A webhook with more
// candidates is written in several txns of at most this many, each atomic.
constexpr size_t kMaxCandidates = 30;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

LabelSet Labels(const json& j) {
  LabelSet out;
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

// An enum field's wire string (actuator/exec_enums.h); throws (caught by the callers)
// on a string this version does not know.
template <typename E>
E EnumField(Result<E> (*parse)(std::string_view), const json& j, const char* key,
            const char* absent) {
  Result<E> v = parse(j.value(key, absent));
  if (!v)
    throw std::runtime_error(std::string("corrupt execution field ") + key + ": " +
                             v.error().message);
  return *v;
}

ExecutionRecord ExecutionFrom(const json& j) {
  ExecutionRecord e;
  e.id = j.value("id", "");
  e.dedup_key = j.value("dedup_key", "");
  e.runbook = j.value("runbook", "");
  e.trigger = EnumField(ParseExecTrigger, j, "trigger", "");
  e.mode = EnumField(ParseExecMode, j, "mode", "");
  e.state = EnumField(ParseExecState, j, "state", "");
  e.phase = EnumField(ParseExecPhase, j, "phase", "main");
  e.next_step = j.value("next_step", 0);
  e.labels = Labels(j.value("labels", json::object()));
  e.annotations = Labels(j.value("annotations", json::object()));
  e.alert_status = j.value("alert_status", "");
  e.fingerprint = j.value("fingerprint", "");
  e.starts_at = j.value("starts_at", "");
  e.created_at = j.value("created_at", 0.0);
  e.updated_at = j.value("updated_at", 0.0);
  e.finished_at = j.value("finished_at", 0.0);
  e.message = j.value("message", "");
  e.resumes = j.value("resumes", 0);
  e.approved = j.value("approved", false);
  e.requested_by = j.value("requested_by", "");
  return e;
}

StepRecord StepFrom(const json& j) {
  StepRecord s;
  s.execution_id = j.value("execution_id", "");
  s.phase = j.value("phase", "");
  s.index = j.value("index", 0);
  s.kind = j.value("kind", "");
  s.state = j.value("state", "");
  s.attempts = j.value("attempts", 0);
  s.rendered = j.value("rendered", json::object());
  s.message = j.value("message", "");
  s.details = j.value("details", json::object());
  s.started_at = j.value("started_at", 0.0);
  s.finished_at = j.value("finished_at", 0.0);
  return s;
}

EventRecord EventFrom(const json& j) {
  EventRecord e;
  e.execution_id = j.value("execution_id", "");
  e.at = j.value("at", 0.0);
  e.kind = j.value("kind", "");
  e.message = j.value("message", "");
  return e;
}

json Parse(const EtcdKv& kv) {
  json j = json::parse(kv.value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    throw std::runtime_error("corrupt record at key " + kv.key);
  }
  return j;
}

class EtcdJournal final : public Journal {
 public:
  EtcdJournal(HttpClient& http, std::vector<std::string> endpoints, std::string prefix)
      : etcd_(http, std::move(endpoints)), p_(std::move(prefix)) {}

  Result<std::vector<bool>> Accept(const WebhookRecord& w,
                                   const std::vector<ExecutionRecord>& candidates) override {
    for (const auto& c : candidates) {
      if (c.id.empty() || c.dedup_key.empty()) {
        return Error::Invalid("journal (etcd): insert execution: empty id or dedup_key");
      }
    }
    std::string wkey = p_ + "webhook/" + Seq(w.received_at);
    std::string wvalue = Dump(ToJson(w));
    std::vector<bool> inserted(candidates.size(), true);
    // The same key twice in one request: the first wins.
    std::map<std::string, size_t> first;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (!first.emplace(candidates[i].dedup_key, i).second) inserted[i] = false;
    }
    for (size_t begin = 0; begin < candidates.size() || begin == 0; begin += kMaxCandidates) {
      size_t end = std::min(candidates.size(), begin + kMaxCandidates);
      if (auto s =
              AcceptBatch(wkey, begin == 0 ? &wvalue : nullptr, candidates, begin, end, inserted);
          !s) {
        return s.error();
      }
      if (candidates.empty()) break;
    }
    return inserted;
  }

  // One txn: candidates [begin, end) not yet known as duplicates (and the webhook record
  // when `wvalue` is set).
  Status AcceptBatch(const std::string& wkey, const std::string* wvalue,
                     const std::vector<ExecutionRecord>& candidates, size_t begin, size_t end,
                     std::vector<bool>& inserted) {
    // Each round drops the candidates whose dedup key turned out to exist; a candidate
    // found to exist stays a duplicate, so this ends within end - begin + 1 rounds.
    for (size_t round = 0; round <= end - begin; ++round) {
      std::vector<EtcdCompare> cmp;
      std::vector<EtcdOp> ok;
      if (wvalue != nullptr) ok.push_back({EtcdOp::kPut, wkey, *wvalue, 0, false});
      std::vector<EtcdOp> fail;
      std::vector<size_t> idx;
      for (size_t i = begin; i < end; ++i) {
        if (!inserted[i]) continue;
        const auto& c = candidates[i];
        cmp.push_back({DedupKey(c.dedup_key), "CREATE", "EQUAL", 0});
        cmp.push_back({ExecKey(c.id), "CREATE", "EQUAL", 0});
        ok.push_back({EtcdOp::kPut, DedupKey(c.dedup_key), c.id, 0, false});
        ok.push_back({EtcdOp::kPut, ExecKey(c.id), Dump(ToJson(c)), 0, false});
        ok.push_back({EtcdOp::kPut, p_ + "webhook_of/" + c.id, wkey, 0, false});
        EventRecord ev{c.id, c.created_at,
                       c.state == ExecState::kSuppressed ? "suppressed" : "accepted", c.message};
        ok.push_back(
            {EtcdOp::kPut, p_ + "event/" + c.id + "/" + Seq(ev.at), Dump(ToJson(ev)), 0, false});
        fail.push_back({EtcdOp::kRange, DedupKey(c.dedup_key), "", 0, false});
        idx.push_back(i);
      }
      if (ok.empty()) return {};
      auto t = etcd_.Txn(cmp, ok, fail);
      if (!t) return Prefixed(t.error());
      if (t->succeeded) return {};
      if (t->ranges.size() != idx.size()) {
        return Error::Internal("journal (etcd): accept: unexpected txn answer");
      }
      bool progress = false;
      for (size_t k = 0; k < idx.size(); ++k) {
        if (!t->ranges[k].empty()) {
          inserted[idx[k]] = false;
          progress = true;
        }
      }
      if (!progress) {
        return Error::Invalid(std::string("journal (etcd): accept: ") + kIdExistsMessage);
      }
    }
    return Error::Unavailable("journal (etcd): accept: too much contention, retry");
  }

  Result<std::int64_t> Prune(double before, int max_records) override {
    auto execs = ReadAll<ExecutionRecord>(p_ + "exec/", &ExecutionFrom);
    if (!execs) return execs.error();
    std::int64_t removed = 0;
    std::map<std::string, bool> kept_webhooks;  // webhook keys of executions left
    auto links = etcd_.Range(p_ + "webhook_of/", true);
    if (!links) return Prefixed(links.error());
    std::map<std::string, std::string> webhook_of;
    for (const EtcdKv& kv : *links) webhook_of[kv.key.substr(p_.size() + 11)] = kv.value;
    for (const ExecutionRecord& e : *execs) {
      double done = e.finished_at != 0 ? e.finished_at : e.updated_at;
      bool prunable = IsTerminalState(e.state) && done < before && removed < max_records;
      if (!prunable) {
        if (auto it = webhook_of.find(e.id); it != webhook_of.end())
          kept_webhooks[it->second] = true;
        continue;
      }
      // The dedup key stays (a few bytes), so a resend of the alert never runs twice.
      auto t = etcd_.Txn({},
                         {{EtcdOp::kDelete, p_ + "step/" + e.id + "/", "", 0, true},
                          {EtcdOp::kDelete, p_ + "event/" + e.id + "/", "", 0, true},
                          {EtcdOp::kDelete, p_ + "webhook_of/" + e.id, "", 0, false},
                          {EtcdOp::kDelete, ExecKey(e.id), "", 0, false}},
                         {});
      if (!t) return Prefixed(t.error());
      ++removed;
    }
    auto hooks = etcd_.Range(p_ + "webhook/", true);
    if (!hooks) return Prefixed(hooks.error());
    int webhooks = 0;
    for (const EtcdKv& kv : *hooks) {
      if (webhooks >= max_records) break;
      json j = json::parse(kv.value, nullptr, false);
      double at = j.is_object() ? j.value("received_at", 0.0) : 0.0;
      if (at >= before || kept_webhooks.count(kv.key)) continue;
      auto t = etcd_.Txn({}, {{EtcdOp::kDelete, kv.key, "", 0, false}}, {});
      if (!t) return Prefixed(t.error());
      ++webhooks;
    }
    return removed + webhooks;
  }

  Status Insert(const ExecutionRecord& e) override {
    if (e.id.empty() || e.dedup_key.empty()) {
      return Error::Invalid("journal (etcd): insert execution: empty id or dedup_key");
    }
    auto t = etcd_.Txn(
        {{DedupKey(e.dedup_key), "CREATE", "EQUAL", 0}, {ExecKey(e.id), "CREATE", "EQUAL", 0}},
        {{EtcdOp::kPut, DedupKey(e.dedup_key), e.id, 0, false},
         {EtcdOp::kPut, ExecKey(e.id), Dump(ToJson(e)), 0, false}},
        {});
    if (!t) return Prefixed(t.error());
    if (!t->succeeded) {
      return Error::Invalid("journal (etcd): insert execution " + e.id + " (dedup_key " +
                            e.dedup_key + "): the id or dedup_key exists");
    }
    return {};
  }

  Status Update(const ExecutionRecord& e) override {
    return FencedPut(e.id, ExecKey(e.id), Dump(ToJson(e)), "update execution " + e.id);
  }

  Status PutStep(const StepRecord& s) override {
    char idx[16];
    std::snprintf(idx, sizeof idx, "%06d", s.index);
    return FencedPut(s.execution_id, p_ + "step/" + s.execution_id + "/" + s.phase + "/" + idx,
                     Dump(ToJson(s)),
                     "put step " + s.execution_id + "/" + s.phase + "/" + std::to_string(s.index));
  }

  Status AddEvent(const EventRecord& e) override {
    return FencedPut(e.execution_id, p_ + "event/" + e.execution_id + "/" + Seq(e.at),
                     Dump(ToJson(e)), "add event " + e.kind + " of execution " + e.execution_id);
  }

  Result<std::optional<std::string>> GetSetting(const std::string& key) override {
    auto r = etcd_.Range(p_ + "setting/" + key, false);
    if (!r) return Prefixed(r.error());
    if (r->empty()) return std::optional<std::string>();
    return std::optional<std::string>((*r)[0].value);
  }

  Status PutSetting(const std::string& key, const std::string& value) override {
    auto t = etcd_.Txn({}, {{EtcdOp::kPut, p_ + "setting/" + key, value, 0, false}}, {});
    if (!t) return Prefixed(t.error());
    return {};
  }

  void Fence(const std::string& execution_id, const std::string& fence_key,
             std::int64_t epoch) override {
    std::lock_guard<std::mutex> l(mu_);
    if (epoch == 0) {
      fences_.erase(execution_id);
    } else {
      fences_[execution_id] = {fence_key, epoch};
    }
  }

  Result<std::optional<ExecutionRecord>> Get(const std::string& id) override {
    auto r = etcd_.Range(ExecKey(id), false);
    if (!r) return Prefixed(r.error());
    if (r->empty()) return std::optional<ExecutionRecord>();
    try {
      return std::optional<ExecutionRecord>(ExecutionFrom(Parse((*r)[0])));
    } catch (const std::exception& ex) {
      return Error::Internal(std::string("journal (etcd): ") + ex.what());
    }
  }

  Result<std::vector<StepRecord>> Steps(const std::string& execution_id) override {
    return ReadAll<StepRecord>(p_ + "step/" + execution_id + "/", StepFrom);
  }

  Result<std::vector<EventRecord>> Events(const std::string& execution_id) override {
    return ReadAll<EventRecord>(p_ + "event/" + execution_id + "/", EventFrom);
  }

  Result<std::vector<ExecutionRecord>> List(const ExecutionQuery& q) override {
    auto r = etcd_.Range(p_ + "exec/", true);
    if (!r) return Prefixed(r.error());
    std::vector<std::pair<std::int64_t, ExecutionRecord>> rows;
    try {
      for (const EtcdKv& kv : *r) {
        ExecutionRecord e = ExecutionFrom(Parse(kv));
        if (!q.runbook.empty() && e.runbook != q.runbook) continue;
        if (!q.states.empty() &&
            std::find(q.states.begin(), q.states.end(), e.state) == q.states.end())
          continue;
        if (q.trigger && e.trigger != *q.trigger) continue;
        if (q.mode && e.mode != *q.mode) continue;
        if (q.created_since > 0 && e.created_at < q.created_since) continue;
        rows.emplace_back(kv.create_revision, std::move(e));
      }
    } catch (const std::exception& ex) {
      return Error::Internal(std::string("journal (etcd): list executions: ") + ex.what());
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      if (a.second.created_at != b.second.created_at)
        return a.second.created_at > b.second.created_at;
      return a.first > b.first;
    });
    std::vector<ExecutionRecord> out;
    for (auto& [rev, e] : rows) {
      if (q.limit > 0 && static_cast<int>(out.size()) >= q.limit) break;
      out.push_back(std::move(e));
    }
    return out;
  }

  Status ExportJsonLines(std::ostream& out) override {
    // One range over the whole prefix: a consistent snapshot at one revision.
    auto r = etcd_.Range(p_, true);
    if (!r) return Prefixed(r.error());
    struct Line {
      double t;
      int type;
      std::int64_t rev;
      json j;
    };
    std::vector<Line> lines;
    std::map<std::string, std::int64_t> webhook_ids;  // webhook key -> its revision
    std::map<std::string, std::string> webhook_of;    // execution id -> webhook key
    std::map<std::string, double> created;            // execution id -> created_at
    try {
      for (const EtcdKv& kv : *r) {
        std::string rest = kv.key.substr(p_.size());
        if (rest.rfind("webhook/", 0) == 0) webhook_ids[kv.key] = kv.create_revision;
        if (rest.rfind("webhook_of/", 0) == 0) webhook_of[rest.substr(11)] = kv.value;
        if (rest.rfind("exec/", 0) == 0)
          created[rest.substr(5)] = Parse(kv).value("created_at", 0.0);
      }
      for (const EtcdKv& kv : *r) {
        std::string rest = kv.key.substr(p_.size());
        if (rest.rfind("webhook/", 0) == 0) {
          json v = Parse(kv);
          json j = {{"type", "webhook"}, {"id", kv.create_revision}};
          double t = v.value("received_at", 0.0);
          j.update(v);
          lines.push_back({t, 0, kv.create_revision, j});
        } else if (rest.rfind("exec/", 0) == 0) {
          ExecutionRecord e = ExecutionFrom(Parse(kv));
          json j = {{"type", "execution"}};
          j.update(ToJson(e));
          auto w = webhook_of.find(e.id);
          j["webhook_id"] = w != webhook_of.end() && webhook_ids.count(w->second)
                                ? json(webhook_ids[w->second])
                                : json(nullptr);
          lines.push_back({e.created_at, 1, kv.create_revision, j});
        } else if (rest.rfind("step/", 0) == 0) {
          StepRecord s = StepFrom(Parse(kv));
          double t = s.started_at != 0    ? s.started_at
                     : s.finished_at != 0 ? s.finished_at
                                          : created[s.execution_id];
          json j = {{"type", "step"}};
          j.update(ToJson(s));
          lines.push_back({t, 2, kv.create_revision, j});
        } else if (rest.rfind("event/", 0) == 0) {
          EventRecord e = EventFrom(Parse(kv));
          json j = {{"type", "event"}};
          j.update(ToJson(e));
          lines.push_back({e.at, 3, kv.create_revision, j});
        }
      }
    } catch (const std::exception& ex) {
      return Error::Internal(std::string("journal (etcd): export: ") + ex.what());
    }
    std::stable_sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
      if (a.t != b.t) return a.t < b.t;
      if (a.type != b.type) return a.type < b.type;
      return a.rev < b.rev;
    });
    for (const Line& l : lines) out << Dump(l.j) << '\n';
    out.flush();
    if (!out) return Error::Internal("journal (etcd): export: write failed");
    return {};
  }

 private:
  std::string ExecKey(const std::string& id) const { return p_ + "exec/" + id; }
  std::string DedupKey(const std::string& k) const { return p_ + "dedup/" + k; }

  // A key suffix that sorts by time, then by order of writing in this process.
  std::string Seq(double at) {
    static std::atomic<std::uint32_t> counter{0};
    static const std::uint32_t salt = std::random_device{}();
    char buf[48];
    std::snprintf(buf, sizeof buf, "%016llx-%08x-%08x",
                  static_cast<unsigned long long>(std::llround(std::max(at, 0.0) * 1e6)),
                  counter.fetch_add(1), salt);
    return buf;
  }

  Error Prefixed(const Error& e) const {
    return Error{e.code, "journal (etcd): " + e.message, e.retryable};
  }

  // Writes `value` at `key` if the execution exists and, when this process fences it,
  // only while its execution lock is still ours.
  Status FencedPut(const std::string& execution_id, const std::string& key,
                   const std::string& value, const std::string& what) {
    std::vector<EtcdCompare> cmp;
    std::vector<EtcdOp> fail;
    if (!execution_id.empty()) {
      cmp.push_back({ExecKey(execution_id), "VERSION", "GREATER", 0});
      fail.push_back({EtcdOp::kRange, ExecKey(execution_id), "", 0, false});
    }
    std::pair<std::string, std::int64_t> fence;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (auto it = fences_.find(execution_id); it != fences_.end()) fence = it->second;
    }
    if (fence.second != 0) {
      cmp.push_back({fence.first, "CREATE", "EQUAL", fence.second});
      fail.push_back({EtcdOp::kRange, fence.first, "", 0, false});
    }
    auto t = etcd_.Txn(cmp, {{EtcdOp::kPut, key, value, 0, false}}, fail);
    if (!t) return Prefixed(t.error());
    if (t->succeeded) return {};
    if (fence.second != 0 && t->ranges.size() == 2 &&
        (t->ranges[1].empty() || t->ranges[1][0].create_revision != fence.second)) {
      return Error{ErrorCode::kLostLock, std::string("journal (etcd): ") + what + ": " +
                                             kLostLockMessage + " (" + fence.first +
                                             " is no longer held at epoch " +
                                             std::to_string(fence.second) + "); not written"};
    }
    return Error{ErrorCode::kNotFound, "journal (etcd): " + what + ": no such execution"};
  }

  template <typename T>
  Result<std::vector<T>> ReadAll(const std::string& prefix, T (*from)(const json&)) {
    auto r = etcd_.Range(prefix, true);
    if (!r) return Prefixed(r.error());
    std::vector<T> out;
    try {
      for (const EtcdKv& kv : *r) out.push_back(from(Parse(kv)));
    } catch (const std::exception& ex) {
      return Error::Internal(std::string("journal (etcd): ") + ex.what());
    }
    return out;
  }

  EtcdClient etcd_;
  const std::string p_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::int64_t>> fences_;
};

}  // namespace

std::vector<Result<std::vector<bool>>> Journal::AcceptGroup(const std::vector<AcceptRequest>& group,
                                                            int* commits) {
  std::vector<Result<std::vector<bool>>> out;
  out.reserve(group.size());
  *commits = 0;
  for (const AcceptRequest& m : group) {
    out.push_back(Accept(m.webhook, m.candidates));
    if (out.back()) ++*commits;
  }
  return out;
}

bool IsLostLock(const Error& e) { return e.code == ErrorCode::kLostLock; }

Result<std::unique_ptr<Journal>> OpenEtcdJournal(HttpClient& http,
                                                 const std::vector<std::string>& endpoints,
                                                 const std::string& prefix) {
  if (endpoints.empty()) return Error::Invalid("journal (etcd): no endpoints");
  if (prefix.empty() || prefix.back() != '/') {
    return Error::Invalid("journal (etcd): prefix must end with /");
  }
  auto j = std::make_unique<EtcdJournal>(http, endpoints, prefix);
  // Reachable at start: a clear error now rather than 503s later.
  EtcdClient probe(http, endpoints);
  if (auto r = probe.Range(prefix + "exec/", false); !r) {
    return Error{r.error().code, "journal (etcd): " + r.error().message, r.error().retryable};
  }
  return std::unique_ptr<Journal>(std::move(j));
}

}  // namespace failover
