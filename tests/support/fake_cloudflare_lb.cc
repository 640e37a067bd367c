#include "tests/support/fake_cloudflare_lb.h"

#include <set>

#include "common/http_server.h"

namespace failover::testing {

using nlohmann::json;

FakeCloudflareLb::FakeCloudflareLb()
    : FakeDnsApi(kToken, "/client/v4", 403, "Authentication error") {
  Start();
}

void FakeCloudflareLb::AddPool(json pool) {
  const std::string id = pool.at("id").get<std::string>();
  std::lock_guard<std::mutex> l(mu_);
  pools_[id] = std::move(pool);
}

void FakeCloudflareLb::AddLoadBalancer(json lb) {
  const std::string id = lb.at("id").get<std::string>();
  std::lock_guard<std::mutex> l(mu_);
  lbs_[id] = std::move(lb);
}

json FakeCloudflareLb::Pool(const std::string& id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pools_.find(id);
  return it == pools_.end() ? json() : it->second;
}

json FakeCloudflareLb::LoadBalancer(const std::string& id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = lbs_.find(id);
  return it == lbs_.end() ? json() : it->second;
}

HttpServerResponse FakeCloudflareLb::ErrorResponse(int status, const std::string& message,
                                                   int code) {
  if (code == 0)
    code = status == 403 ? 10000 : status == 429 ? 10013 : status >= 500 ? 10002 : 1002;
  json out = {{"success", false},
              {"errors", json::array({{{"code", code}, {"message", message}}})},
              {"messages", json::array()},
              {"result", nullptr}};
  return HttpServerResponse::Json(status, out.dump());
}

HttpServerResponse FakeCloudflareLb::Ok(const json& result) const {
  json out = {{"success", true},
              {"errors", json::array()},
              {"messages", json::array()},
              {"result", result}};
  return HttpServerResponse::Json(200, out.dump());
}

HttpServerResponse FakeCloudflareLb::Serve(const HttpServerRequest& req, const std::string& path) {
  auto parts = SplitPath(path);
  const bool is_pool = parts.size() == 5 && parts[0] == "accounts" &&
                       parts[2] == "load_balancers" && parts[3] == "pools";
  const bool is_lb = parts.size() == 4 && parts[0] == "zones" && parts[2] == "load_balancers";
  if (!is_pool && !is_lb) return Reject(404, "Route not found", 7003);
  if (is_pool && parts[1] != kAccountId) return Reject(404, "Account not found", 7003);
  if (is_lb && parts[1] != kZoneId) return Reject(404, "Zone not found", 7003);
  auto& table = is_pool ? pools_ : lbs_;
  const std::string id = is_pool ? parts[4] : parts[3];
  auto it = table.find(id);
  if (it == table.end()) {
    return Reject(404, std::string(is_pool ? "pool" : "load balancer") + " not found", 1002);
  }
  if (req.method == "GET") return Ok(it->second);
  if (req.method != "PATCH") return Reject(405, "Method not allowed", 10000);
  json body;
  HttpServerResponse err;
  if (!ParseBody(req, body, err)) return err;
  json next = it->second;
  if (is_pool) {
    static const std::set<std::string> kAllowed = {"enabled",     "origins",         "name",
                                                   "description", "minimum_origins", "monitor"};
    for (const auto& [k, v] : body.items()) {
      if (kAllowed.count(k) == 0) return Reject(400, "unknown field " + k, 1002);
    }
    if (body.contains("enabled")) {
      if (!body["enabled"].is_boolean()) return Reject(400, "enabled must be a boolean", 1002);
      next["enabled"] = body["enabled"];
    }
    if (body.contains("origins")) {
      if (!body["origins"].is_array() || body["origins"].empty()) {
        return Reject(400, "origins must be a non-empty list", 1002);
      }
      for (const auto& o : body["origins"]) {
        if (!o.is_object() || !o.contains("name") || !o.contains("address")) {
          return Reject(400, "origin is missing name or address", 1002);
        }
        if (o.contains("weight") && (!o["weight"].is_number() || o["weight"].get<double>() < 0 ||
                                     o["weight"].get<double>() > 1)) {
          return Reject(400, "origin weight must be between 0 and 1", 1002);
        }
      }
      next["origins"] = body["origins"];
    }
  } else {
    static const std::set<std::string> kAllowed = {"default_pools", "fallback_pool", "enabled",
                                                   "description",   "proxied",       "ttl"};
    for (const auto& [k, v] : body.items()) {
      if (kAllowed.count(k) == 0) return Reject(400, "unknown field " + k, 1002);
    }
    if (body.contains("default_pools")) {
      if (!body["default_pools"].is_array() || body["default_pools"].empty()) {
        return Reject(400, "default_pools must be a non-empty list", 1002);
      }
      for (const auto& p : body["default_pools"]) {
        if (!p.is_string() || pools_.count(p.get<std::string>()) == 0) {
          return Reject(400, "pool " + p.dump() + " not found", 1002);
        }
      }
      next["default_pools"] = body["default_pools"];
    }
    if (body.contains("fallback_pool")) {
      if (!body["fallback_pool"].is_string() ||
          pools_.count(body["fallback_pool"].get<std::string>()) == 0) {
        return Reject(400, "fallback pool " + body["fallback_pool"].dump() + " not found", 1002);
      }
      next["fallback_pool"] = body["fallback_pool"];
    }
  }
  it->second = next;
  ++writes_;
  return Ok(next);
}

}  // namespace failover::testing
