// A local fake of Linode's API v4 NodeBalancer nodes (from Linode's public API docs) for
// one NodeBalancer (kNodeBalancerId), below base_url() = http://127.0.0.1:<port>/v4:
//   GET /nodebalancers/{nodeBalancerId}/configs/{configId}/nodes/{nodeId}
//   PUT the same path with any of {label, address, mode, weight}
// A node is {id, config_id, nodebalancer_id, label, address, mode, status, weight}; mode is
// accept|reject|drain|backup. Errors {"errors":[{"reason","field"}]}: a wrong or missing
// bearer token gets 401 "Invalid Token", an unknown node 404 "Not found", an unknown
// field or a mode outside the four 400 naming the field. The shared machinery (faults,
// counts, request log) is FakeDnsApi's (tests/support/fake_dns_api.h).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>

#include "tests/support/fake_dns_api.h"

namespace failover::testing {

class FakeLinodeNodeBalancer final : public FakeDnsApi {
 public:
  static constexpr long long kNodeBalancerId = 4321;
  static constexpr const char* kToken = "linode-nb-test-token-Pq81zX";

  struct Node {
    std::string label;
    std::string address;
    std::string mode = "accept";
    std::string status = "UP";
    int weight = 100;
  };

  FakeLinodeNodeBalancer();

  void AddNode(long long config_id, long long node_id, Node node);
  std::string Mode(long long config_id, long long node_id) const;
  // PUTs are answered 200 with the node as it was, and change nothing (a provider that
  // trusts the answer instead of reading back would not notice).
  void IgnoreWrites(bool ignore);
  // Called (on the server's thread) just before an accepted PUT changes a node.
  void OnWrite(std::function<void()> fn);

 protected:
  HttpServerResponse ErrorResponse(int status, const std::string& message, int code) override;
  HttpServerResponse Serve(const HttpServerRequest& req, const std::string& path) override;

 private:
  HttpServerResponse Invalid(const std::string& field, const std::string& reason);
  nlohmann::json NodeJson(long long config_id, long long node_id, const Node& n) const;

  std::map<std::pair<long long, long long>, Node> nodes_;
  bool ignore_writes_ = false;
  std::function<void()> on_write_;
};

}  // namespace failover::testing
