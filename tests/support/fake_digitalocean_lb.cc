#include "tests/support/fake_digitalocean_lb.h"

#include <algorithm>

#include "common/http_server.h"

namespace failover::testing {

using nlohmann::json;

FakeDigitalOceanLb::FakeDigitalOceanLb()
    : FakeDnsApi(kToken, "", 401, "Unable to authenticate you") {
  Start();
}

void FakeDigitalOceanLb::SetDroplets(std::vector<long long> ids) {
  std::lock_guard<std::mutex> l(mu_);
  droplets_ = std::move(ids);
}

std::vector<long long> FakeDigitalOceanLb::Droplets() const {
  std::lock_guard<std::mutex> l(mu_);
  return droplets_;
}

void FakeDigitalOceanLb::SetTag(std::string tag) {
  std::lock_guard<std::mutex> l(mu_);
  tag_ = std::move(tag);
}

HttpServerResponse FakeDigitalOceanLb::ErrorResponse(int status, const std::string& message, int) {
  std::string id = status == 401   ? "unauthorized"
                   : status == 404 ? "not_found"
                   : status == 422 ? "unprocessable_entity"
                   : status == 429 ? "too_many_requests"
                   : status >= 500 ? "server_error"
                                   : "bad_request";
  json out = {{"id", id}, {"message", message}, {"request_id", "fake-do-lb-request"}};
  return HttpServerResponse::Json(status, out.dump());
}

HttpServerResponse FakeDigitalOceanLb::Serve(const HttpServerRequest& req,
                                             const std::string& path) {
  auto parts = SplitPath(path);
  if (parts.size() < 3 || parts.size() > 4 || parts[0] != "v2" || parts[1] != "load_balancers") {
    return Reject(404, "The resource you were accessing could not be found.");
  }
  if (parts[2] != kLoadBalancerId) {
    return Reject(404, "The resource you were accessing could not be found.");
  }
  if (parts.size() == 3) {
    if (req.method != "GET") return Reject(405, "Method not allowed");
    json lb = {{"id", kLoadBalancerId},
               {"name", "web-lb"},
               {"ip", "192.0.2.10"},
               {"status", "active"},
               {"region", {{"slug", "nyc3"}}},
               {"droplet_ids", droplets_},
               {"tag", tag_}};
    return HttpServerResponse::Json(200, json{{"load_balancer", lb}}.dump());
  }
  if (parts[3] != "droplets" || (req.method != "POST" && req.method != "DELETE")) {
    return Reject(405, "Method not allowed");
  }
  json body;
  HttpServerResponse err;
  if (!ParseBody(req, body, err)) return err;
  if (!body.contains("droplet_ids") || !body["droplet_ids"].is_array() ||
      body["droplet_ids"].empty()) {
    return Reject(422, "droplet_ids is required");
  }
  if (!tag_.empty()) {
    return Reject(422, "droplets cannot be added or removed when the load balancer uses a tag");
  }
  for (const auto& id : body["droplet_ids"]) {
    if (!id.is_number_integer()) return Reject(422, "droplet_ids must be integers");
  }
  for (const auto& id : body["droplet_ids"]) {
    long long d = id.get<long long>();
    auto it = std::find(droplets_.begin(), droplets_.end(), d);
    if (req.method == "POST" && it == droplets_.end()) droplets_.push_back(d);
    if (req.method == "DELETE" && it != droplets_.end()) droplets_.erase(it);
  }
  ++writes_;
  HttpServerResponse r;
  r.status = 204;
  return r;
}

}  // namespace failover::testing
