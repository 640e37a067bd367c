#include "tests/support/fake_linode_nodebalancer.h"

#include <set>

#include "common/http_server.h"

namespace failover::testing {

using nlohmann::json;

FakeLinodeNodeBalancer::FakeLinodeNodeBalancer() : FakeDnsApi(kToken, "/v4", 401, "Invalid Token") {
  Start();
}

void FakeLinodeNodeBalancer::AddNode(long long config_id, long long node_id, Node node) {
  std::lock_guard<std::mutex> l(mu_);
  nodes_[{config_id, node_id}] = std::move(node);
}

std::string FakeLinodeNodeBalancer::Mode(long long config_id, long long node_id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = nodes_.find({config_id, node_id});
  return it == nodes_.end() ? "" : it->second.mode;
}

void FakeLinodeNodeBalancer::IgnoreWrites(bool ignore) {
  std::lock_guard<std::mutex> l(mu_);
  ignore_writes_ = ignore;
}

void FakeLinodeNodeBalancer::OnWrite(std::function<void()> fn) {
  std::lock_guard<std::mutex> l(mu_);
  on_write_ = std::move(fn);
}

HttpServerResponse FakeLinodeNodeBalancer::ErrorResponse(int status, const std::string& message,
                                                         int) {
  json out = {{"errors", json::array({{{"reason", message}}})}};
  return HttpServerResponse::Json(status, out.dump());
}

HttpServerResponse FakeLinodeNodeBalancer::Invalid(const std::string& field,
                                                   const std::string& reason) {
  FakeDnsApi::Reject(400, reason);  // counts the rejection
  json out = {{"errors", json::array({{{"reason", reason}, {"field", field}}})}};
  return HttpServerResponse::Json(400, out.dump());
}

json FakeLinodeNodeBalancer::NodeJson(long long config_id, long long node_id, const Node& n) const {
  return {{"id", node_id},      {"config_id", config_id}, {"nodebalancer_id", kNodeBalancerId},
          {"label", n.label},   {"address", n.address},   {"mode", n.mode},
          {"status", n.status}, {"weight", n.weight}};
}

HttpServerResponse FakeLinodeNodeBalancer::Serve(const HttpServerRequest& req,
                                                 const std::string& path) {
  auto parts = SplitPath(path);
  if (parts.size() != 6 || parts[0] != "nodebalancers" || parts[2] != "configs" ||
      parts[4] != "nodes" || parts[1] != std::to_string(kNodeBalancerId)) {
    return Reject(404, "Not found");
  }
  const long long config_id = std::atoll(parts[3].c_str());
  const long long node_id = std::atoll(parts[5].c_str());
  auto it = nodes_.find({config_id, node_id});
  if (it == nodes_.end()) return Reject(404, "Not found");
  Node& node = it->second;
  if (req.method == "GET")
    return HttpServerResponse::Json(200, NodeJson(config_id, node_id, node).dump());
  if (req.method != "PUT") return Reject(405, "Method not allowed");
  json body;
  HttpServerResponse err;
  if (!ParseBody(req, body, err)) return err;
  static const std::set<std::string> kAllowed = {"label", "address", "mode", "weight", "subnet_id"};
  for (const auto& [k, v] : body.items()) {
    if (kAllowed.count(k) == 0) return Invalid(k, "Unknown field " + k);
  }
  Node next = node;
  if (body.contains("mode")) {
    static const std::set<std::string> kModes = {"accept", "reject", "drain", "backup"};
    if (!body["mode"].is_string() || kModes.count(body["mode"].get<std::string>()) == 0) {
      return Invalid("mode", "Must be one of accept, reject, drain, backup");
    }
    next.mode = body["mode"].get<std::string>();
  }
  if (body.contains("weight")) {
    if (!body["weight"].is_number_integer() || body["weight"].get<int>() < 1 ||
        body["weight"].get<int>() > 255) {
      return Invalid("weight", "Must be between 1 and 255");
    }
    next.weight = body["weight"].get<int>();
  }
  if (body.contains("label")) next.label = body["label"].get<std::string>();
  if (body.contains("address")) next.address = body["address"].get<std::string>();
  if (ignore_writes_)
    return HttpServerResponse::Json(200, NodeJson(config_id, node_id, node).dump());
  if (on_write_) on_write_();
  node = next;
  ++writes_;
  return HttpServerResponse::Json(200, NodeJson(config_id, node_id, node).dump());
}

}  // namespace failover::testing
