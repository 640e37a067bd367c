#include "tests/support/fake_digitalocean_db.h"

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "tests/support/fake_server.h"

namespace failover::testing {
namespace {

using nlohmann::json;

HttpServerResponse JsonError(int status, const std::string& id, const std::string& message) {
  return HttpServerResponse::Json(
      status, json{{"id", id}, {"message", message}, {"request_id", "fake-do-request"}}.dump());
}

}  // namespace

struct FakeDigitalOceanDb::State {
  mutable std::mutex mu;
  struct Replica {
    std::string status;
    bool promoted = false;
    int gets_left = 0;
  };
  std::map<std::pair<std::string, std::string>, Replica> replicas;  // (cluster, name)
  std::set<std::string> promoted;
  int promote_delay = 0;
  int fail_next = 0;
  int fail_status = 0;
  int fail_retry_after = -1;
  int requests = 0;
  int promotes = 0;
  int rejected_auth = 0;
};

FakeDigitalOceanDb::FakeDigitalOceanDb() : state_(std::make_unique<State>()) {
  server_ = StartFakeServer(
      "fake DigitalOcean", 4,
      {{"GET", "/v2/databases/", true, [this](const HttpServerRequest& r) { return Handle(r); }},
       {"PUT", "/v2/databases/", true, [this](const HttpServerRequest& r) { return Handle(r); }}});
}

FakeDigitalOceanDb::~FakeDigitalOceanDb() { server_.reset(); }

std::string FakeDigitalOceanDb::base_url() const { return LocalBaseUrl(*server_); }

void FakeDigitalOceanDb::AddReplica(const std::string& cluster_uuid,
                                    const std::string& replica_name, const std::string& status) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->replicas[{cluster_uuid, replica_name}] = {status, false, 0};
}

bool FakeDigitalOceanDb::IsReplica(const std::string& cluster_uuid,
                                   const std::string& replica_name) const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->replicas.count({cluster_uuid, replica_name}) != 0;
}

bool FakeDigitalOceanDb::IsPromoted(const std::string& replica_name) const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->promoted.count(replica_name) != 0;
}

void FakeDigitalOceanDb::SetPromoteDelay(int gets) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->promote_delay = gets;
}

void FakeDigitalOceanDb::FailNext(int n, int status, int retry_after_seconds) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->fail_next = n;
  state_->fail_status = status;
  state_->fail_retry_after = retry_after_seconds;
}

int FakeDigitalOceanDb::RequestCount() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->requests;
}
int FakeDigitalOceanDb::PromoteCount() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->promotes;
}
int FakeDigitalOceanDb::RejectedAuth() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->rejected_auth;
}

HttpServerResponse FakeDigitalOceanDb::Handle(const HttpServerRequest& req) {
  std::lock_guard<std::mutex> l(state_->mu);
  State& st = *state_;
  ++st.requests;
  if (req.Header("authorization") != std::string("Bearer ") + kToken) {
    ++st.rejected_auth;
    return JsonError(401, "Unauthorized", "Unable to authenticate you");
  }
  if (st.fail_next > 0) {
    --st.fail_next;
    HttpServerResponse r = st.fail_status == 429
                               ? JsonError(429, "too_many_requests", "API Rate limit exceeded.")
                               : JsonError(st.fail_status, "server_error",
                                           "Server was unable to give you a response.");
    if (st.fail_status == 429) {
      r.headers.emplace_back("ratelimit-limit", "250");
      r.headers.emplace_back("ratelimit-remaining", "0");
      r.headers.emplace_back("ratelimit-reset", "1800000060");
    }
    if (st.fail_retry_after >= 0) {
      r.headers.emplace_back("retry-after", std::to_string(st.fail_retry_after));
    }
    return r;
  }
  // /v2/databases/{uuid}/replicas/{name}[/promote]
  std::vector<std::string> parts;
  size_t start = 1;
  for (size_t i = 1; i <= req.path.size(); ++i) {
    if (i == req.path.size() || req.path[i] == '/') {
      parts.push_back(req.path.substr(start, i - start));
      start = i + 1;
    }
  }
  bool promote = parts.size() == 6 && parts[5] == "promote";
  if (parts.size() < 5 || parts.size() > 6 || parts[0] != "v2" || parts[1] != "databases" ||
      parts[3] != "replicas" || (parts.size() == 6 && !promote) ||
      (req.method == "PUT") != promote) {
    return JsonError(404, "not_found", "The resource you were accessing could not be found.");
  }
  auto it = st.replicas.find({parts[2], parts[4]});
  if (it == st.replicas.end()) {
    return JsonError(404, "not_found", "The resource you were accessing could not be found.");
  }
  State::Replica& rep = it->second;
  if (promote) {
    if (!req.body.empty()) {
      return JsonError(400, "bad_request", "The promote request takes no body.");
    }
    ++st.promotes;
    if (!rep.promoted) {
      rep.promoted = true;
      rep.gets_left = st.promote_delay;
      st.promoted.insert(parts[4]);
    }
    if (rep.gets_left <= 0) st.replicas.erase(it);
    HttpServerResponse r;
    r.status = 204;
    return r;
  }
  json body = {
      {"replica",
       {{"id", "6f0a0c86-0000-4000-8000-" + std::string(12, '0')},
        {"name", parts[4]},
        {"region", "ams3"},
        {"status", rep.status},
        {"size", "db-s-1vcpu-2gb"},
        {"created_at", "2026-01-01T00:00:00Z"},
        {"connection",
         {{"host", parts[4] + ".db.ondigitalocean.com"}, {"port", 25060}, {"ssl", true}}}}}};
  if (rep.promoted && --rep.gets_left <= 0) st.replicas.erase(it);
  return HttpServerResponse::Json(200, body.dump());
}

}  // namespace failover::testing
