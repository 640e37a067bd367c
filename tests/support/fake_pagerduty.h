// A local fake of PagerDuty's Events API v2 (from PagerDuty's public docs) on
// 127.0.0.1, a free port:
//   POST /v2/enqueue          alert events: trigger | acknowledge | resolve
//   POST /v2/change/enqueue   change events
// Bodies are validated strictly against the contract (unknown fields are rejected too, so
// a typo in a client shows up in tests): 400 {"status":"invalid event","message":"Event
// object is invalid","errors":[...]} when wrong, 202 {"status":"success","message":"Event
// processed","dedup_key":"..."} otherwise (a key is generated when the trigger has none).
// Accepted events are recorded, alerts are tracked per dedup key (triggered, acknowledged,
// resolved; follow-ups to a resolved or unknown key are accepted and dropped, as PagerDuty
// does), and the next N requests can be answered with 429 or 5xx (fault injection).
//
//   FakePagerDuty pd;                                  // throws std::runtime_error if it cannot
//   start PagerDutyClient client(http, clock, pd.url(),
//   SecretRef::Inline(FakePagerDuty::kRoutingKey)); pd.FailNext(2, 429);
//   pd.Events().back().body["payload"]["summary"];
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace failover {
class HttpServer;
struct HttpServerRequest;
struct HttpServerResponse;
}  // namespace failover

namespace failover::testing {

struct FakePagerDutyEvent {
  std::string path;       // "/v2/enqueue" or "/v2/change/enqueue"
  nlohmann::json body;    // as received (routing key included)
  std::string dedup_key;  // as answered (generated when the trigger had none); "" for changes
  bool dropped = false;   // acknowledge/resolve to an unknown or resolved alert
};

class FakePagerDuty {
 public:
  // A valid 32-character integration key for tests.
  static constexpr const char* kRoutingKey = "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY32";

  FakePagerDuty();
  ~FakePagerDuty();
  FakePagerDuty(const FakePagerDuty&) = delete;
  FakePagerDuty& operator=(const FakePagerDuty&) = delete;

  int port() const;
  std::string base_url() const;    // "http://127.0.0.1:<port>"
  std::string url() const;         // base_url() + "/v2/enqueue"
  std::string change_url() const;  // base_url() + "/v2/change/enqueue"

  // The next `n` requests (valid or not) are answered with `status` (429 or 5xx) and
  // not recorded.
  void FailNext(int n, int status = 429);

  // Every request received (faulted and rejected ones included).
  int RequestCount() const;
  // Requests answered 400.
  int RejectedCount() const;
  // Accepted events, in order (alert and change events).
  std::vector<FakePagerDutyEvent> Events() const;
  // The alert's state for a dedup key: "triggered", "acknowledged", "resolved" or nullopt.
  std::optional<std::string> AlertStatus(const std::string& dedup_key) const;
  // Alerts opened so far (a trigger for a new or resolved key opens one).
  int AlertsOpened() const;
  // Errors of the last rejected request.
  std::vector<std::string> LastErrors() const;

  struct State;

 private:
  HttpServerResponse Handle(const HttpServerRequest& req, bool change);

  std::unique_ptr<State> state_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace failover::testing
