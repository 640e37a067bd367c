#include "tests/support/fake_pagerduty.h"

#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>

#include "common/http_server.h"
#include "tests/support/fake_server.h"

namespace failover::testing {
namespace {

using nlohmann::json;

constexpr size_t kMaxPayloadBytes = 512 * 1024;

size_t Utf8Chars(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// Loose RFC 3339 check: "2024-05-01T12:00:00Z", with optional fraction and offset.
bool LooksLikeRfc3339(const std::string& s) {
  if (s.size() < 20) return false;
  auto digits = [&](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    }
    return true;
  };
  if (!digits(0, 4) || s[4] != '-' || !digits(5, 2) || s[7] != '-' || !digits(8, 2)) return false;
  if (s[10] != 'T' && s[10] != 't') return false;
  if (!digits(11, 2) || s[13] != ':' || !digits(14, 2) || s[16] != ':' || !digits(17, 2)) {
    return false;
  }
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) return i + 1 == s.size();
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    return i + 6 == s.size() && digits(i + 1, 2) && s[i + 3] == ':' && digits(i + 4, 2);
  }
  return false;
}

void CheckKeys(const json& obj, const std::set<std::string>& allowed, const std::string& where,
               std::vector<std::string>& errors) {
  for (const auto& [k, v] : obj.items()) {
    if (allowed.count(k) == 0) errors.push_back("Unknown field '" + where + k + "'");
  }
}

void CheckOptionalString(const json& obj, const std::string& key, const std::string& where,
                         std::vector<std::string>& errors) {
  auto it = obj.find(key);
  if (it != obj.end() && !it->is_string()) {
    errors.push_back("'" + where + key + "' must be a string");
  }
}

void CheckLinks(const json& body, std::vector<std::string>& errors) {
  if (auto it = body.find("links"); it != body.end()) {
    if (!it->is_array()) {
      errors.push_back("'links' must be an array");
    } else {
      for (const auto& l : *it) {
        if (!l.is_object() || !l.contains("href") || !l["href"].is_string()) {
          errors.push_back("'links' entries need a string 'href'");
          break;
        }
      }
    }
  }
  if (auto it = body.find("images"); it != body.end()) {
    if (!it->is_array()) {
      errors.push_back("'images' must be an array");
    } else {
      for (const auto& i : *it) {
        if (!i.is_object() || !i.contains("src") || !i["src"].is_string()) {
          errors.push_back("'images' entries need a string 'src'");
          break;
        }
      }
    }
  }
}

std::vector<std::string> Validate(const json& body, bool change) {
  std::vector<std::string> errors;
  if (!body.is_object()) return {"Event must be a JSON object"};

  auto rk = body.find("routing_key");
  if (rk == body.end()) {
    errors.push_back("'routing_key' is missing");
  } else if (!rk->is_string() || rk->get<std::string>().size() != 32) {
    errors.push_back("'routing_key' must be a 32 character string");
  }

  if (change) {
    CheckKeys(body, {"routing_key", "payload", "links"}, "", errors);
    CheckLinks(body, errors);
    auto p = body.find("payload");
    if (p == body.end() || !p->is_object()) {
      errors.push_back("'payload' is missing or not an object");
      return errors;
    }
    CheckKeys(*p, {"summary", "source", "timestamp", "custom_details"}, "payload.", errors);
    auto s = p->find("summary");
    if (s == p->end() || !s->is_string() || s->get<std::string>().empty()) {
      errors.push_back("'payload.summary' is missing or blank");
    } else if (Utf8Chars(s->get<std::string>()) > 1024) {
      errors.push_back("'payload.summary' is longer than 1024 characters");
    }
    CheckOptionalString(*p, "source", "payload.", errors);
    CheckOptionalString(*p, "timestamp", "payload.", errors);
    if (auto t = p->find("timestamp");
        t != p->end() && t->is_string() && !LooksLikeRfc3339(t->get<std::string>())) {
      errors.push_back("'payload.timestamp' is not an RFC 3339 timestamp");
    }
    return errors;
  }

  CheckKeys(body,
            {"routing_key", "event_action", "dedup_key", "payload", "client", "client_url", "links",
             "images"},
            "", errors);
  std::string action;
  auto ea = body.find("event_action");
  if (ea == body.end() || !ea->is_string()) {
    errors.push_back("'event_action' is missing or not a string");
  } else {
    action = ea->get<std::string>();
    if (action != "trigger" && action != "acknowledge" && action != "resolve") {
      errors.push_back("'event_action' must be one of trigger, acknowledge, resolve");
    }
  }
  auto dk = body.find("dedup_key");
  if (dk != body.end()) {
    if (!dk->is_string() || dk->get<std::string>().empty()) {
      errors.push_back("'dedup_key' must be a non-empty string");
    } else if (Utf8Chars(dk->get<std::string>()) > 255) {
      errors.push_back("'dedup_key' is longer than 255 characters");
    }
  } else if (action == "acknowledge" || action == "resolve") {
    errors.push_back("'dedup_key' is required for " + action);
  }
  CheckLinks(body, errors);
  if (action != "trigger") {
    if (body.contains("client") || body.contains("client_url")) {
      if (!action.empty()) errors.push_back("'client' and 'client_url' are for triggers only");
    }
    if (auto p = body.find("payload"); p != body.end() && !p->is_object()) {
      errors.push_back("'payload' must be an object");
    }
    return errors;
  }
  CheckOptionalString(body, "client", "", errors);
  CheckOptionalString(body, "client_url", "", errors);
  auto p = body.find("payload");
  if (p == body.end() || !p->is_object()) {
    errors.push_back("'payload' is missing or not an object");
    return errors;
  }
  CheckKeys(*p,
            {"summary", "source", "severity", "timestamp", "component", "group", "class",
             "custom_details"},
            "payload.", errors);
  auto s = p->find("summary");
  if (s == p->end() || !s->is_string() || s->get<std::string>().empty()) {
    errors.push_back("'payload.summary' is missing or blank");
  } else if (Utf8Chars(s->get<std::string>()) > 1024) {
    errors.push_back("'payload.summary' is longer than 1024 characters");
  }
  auto src = p->find("source");
  if (src == p->end() || !src->is_string() || src->get<std::string>().empty()) {
    errors.push_back("'payload.source' is missing or blank");
  }
  auto sev = p->find("severity");
  if (sev == p->end() || !sev->is_string()) {
    errors.push_back("'payload.severity' is missing");
  } else {
    std::string v = sev->get<std::string>();
    if (v != "critical" && v != "error" && v != "warning" && v != "info") {
      errors.push_back("'payload.severity' must be one of critical, error, warning, info");
    }
  }
  for (const char* k : {"timestamp", "component", "group", "class"}) {
    CheckOptionalString(*p, k, "payload.", errors);
  }
  if (auto t = p->find("timestamp");
      t != p->end() && t->is_string() && !LooksLikeRfc3339(t->get<std::string>())) {
    errors.push_back("'payload.timestamp' is not an RFC 3339 timestamp");
  }
  return errors;
}

}  // namespace

struct FakePagerDuty::State {
  mutable std::mutex mu;
  int requests = 0;
  int rejected = 0;
  int fail_next = 0;
  int fail_status = 429;
  int alerts_opened = 0;
  int generated = 0;
  std::vector<FakePagerDutyEvent> events;
  std::map<std::string, std::string> alerts;  // dedup key -> status
  std::vector<std::string> last_errors;
};

FakePagerDuty::FakePagerDuty() : state_(std::make_unique<State>()) {
  HttpServerOptions opts;
  opts.max_body_bytes = 2 << 20;
  server_ = StartFakeServer("fake PagerDuty", 4,
                            {{"POST", "/v2/enqueue", false,
                              [this](const HttpServerRequest& r) { return Handle(r, false); }},
                             {"POST", "/v2/change/enqueue", false,
                              [this](const HttpServerRequest& r) { return Handle(r, true); }}},
                            opts);
}

FakePagerDuty::~FakePagerDuty() { server_.reset(); }

int FakePagerDuty::port() const { return server_->port(); }
std::string FakePagerDuty::base_url() const { return LocalBaseUrl(*server_); }
std::string FakePagerDuty::url() const { return base_url() + "/v2/enqueue"; }
std::string FakePagerDuty::change_url() const { return base_url() + "/v2/change/enqueue"; }

void FakePagerDuty::FailNext(int n, int status) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->fail_next = n;
  state_->fail_status = status;
}

int FakePagerDuty::RequestCount() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->requests;
}

int FakePagerDuty::RejectedCount() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->rejected;
}

std::vector<FakePagerDutyEvent> FakePagerDuty::Events() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->events;
}

std::optional<std::string> FakePagerDuty::AlertStatus(const std::string& dedup_key) const {
  std::lock_guard<std::mutex> l(state_->mu);
  auto it = state_->alerts.find(dedup_key);
  if (it == state_->alerts.end()) return std::nullopt;
  return it->second;
}

int FakePagerDuty::AlertsOpened() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->alerts_opened;
}

std::vector<std::string> FakePagerDuty::LastErrors() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->last_errors;
}

HttpServerResponse FakePagerDuty::Handle(const HttpServerRequest& req, bool change) {
  std::lock_guard<std::mutex> l(state_->mu);
  ++state_->requests;
  if (state_->fail_next > 0) {
    --state_->fail_next;
    int st = state_->fail_status;
    if (st == 429) {
      return HttpServerResponse::Json(
          429,
          R"({"status":"throttle event","message":"Requests for this service are arriving too quickly. Please retry later."})");
    }
    return HttpServerResponse::Text(st, "Internal Server Error\n");
  }

  auto reject = [&](std::vector<std::string> errors) {
    ++state_->rejected;
    state_->last_errors = errors;
    json out = {
        {"status", "invalid event"}, {"message", "Event object is invalid"}, {"errors", errors}};
    return HttpServerResponse::Json(400, out.dump());
  };

  if (req.body.size() > kMaxPayloadBytes) return reject({"Event is larger than 512 KB"});
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return reject({"Could not parse the request body as JSON"});
  auto errors = Validate(body, change);
  if (!errors.empty()) return reject(std::move(errors));

  FakePagerDutyEvent ev;
  ev.path = req.path;
  ev.body = body;
  json out = {{"status", "success"},
              {"message", change ? "Change event processed" : "Event processed"}};
  if (!change) {
    std::string action = body["event_action"].get<std::string>();
    std::string key = body.value("dedup_key", "");
    if (key.empty()) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "fakepd%026d", ++state_->generated);
      key = buf;
    }
    auto it = state_->alerts.find(key);
    bool open = it != state_->alerts.end() && it->second != "resolved";
    if (action == "trigger") {
      if (!open) {
        state_->alerts[key] = "triggered";
        ++state_->alerts_opened;
      }
      // A trigger on an open alert appends to it; its status stays.
    } else if (!open) {
      ev.dropped = true;
    } else {
      it->second = action == "acknowledge" ? "acknowledged" : "resolved";
    }
    ev.dedup_key = key;
    out["dedup_key"] = key;
  }
  state_->events.push_back(std::move(ev));
  return HttpServerResponse::Json(202, out.dump());
}

}  // namespace failover::testing
