#include "actuator/pagerduty.h"

#include <time.h>

#include <algorithm>
#include <cstdio>

#include "common/log.h"

namespace failover {
namespace {

using nlohmann::json;

constexpr size_t kMaxSummaryChars = 1024;
constexpr size_t kMaxDedupKeyChars = 255;
constexpr auto kFirstBackoff = std::chrono::seconds(1);
constexpr auto kMaxBackoff = std::chrono::seconds(30);
constexpr auto kMaxAttemptTimeout = std::chrono::seconds(15);

// Cuts `s` to at most `max_chars` characters (UTF-8 code points), never inside one.
std::string TruncateChars(const std::string& s, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return s.substr(0, i);
      ++chars;
    }
  }
  return s;
}

std::string Rfc3339(WallTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string Excerpt(std::string_view s, size_t max = 300) {
  std::string out(s.substr(0, max));
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (s.size() > max) out += "...";
  return out;
}

// "Event object is invalid: summary missing; severity invalid" from a 400 answer.
std::string PagerDutyMessage(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Excerpt(body);
  std::string out;
  if (auto m = j.find("message"); m != j.end() && m->is_string()) out = m->get<std::string>();
  if (auto e = j.find("errors"); e != j.end() && e->is_array() && !e->empty()) {
    std::string errs;
    for (const auto& x : *e) {
      if (!errs.empty()) errs += "; ";
      errs += x.is_string() ? x.get<std::string>() : x.dump();
    }
    out += (out.empty() ? "" : ": ") + errs;
  }
  if (out.empty()) out = Excerpt(body);
  return out;
}

// Removes every occurrence of `secret` from `text`.
std::string Scrub(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (size_t p = text.find(secret); p != std::string::npos; p = text.find(secret, p)) {
    text.replace(p, secret.size(), "<redacted>");
  }
  return text;
}

Duration RetryAfter(const HttpResponse& resp) {
  std::string v = resp.Header("retry-after");
  if (v.empty() || v.size() > 6 || !std::all_of(v.begin(), v.end(), ::isdigit)) {
    return Duration::zero();
  }
  return std::chrono::seconds(std::stoi(v));
}

}  // namespace

Result<json> PagerDutyClient::Body(const PagerDutyEvent& event) const {
  const std::string& a = event.action;
  if (a != "trigger" && a != "acknowledge" && a != "resolve") {
    return Error::Invalid("PagerDuty event action \"" + a +
                          "\" is not one of trigger, acknowledge, resolve");
  }
  const std::string& sev = event.severity;
  if (sev != "critical" && sev != "error" && sev != "warning" && sev != "info") {
    return Error::Invalid("PagerDuty severity \"" + sev +
                          "\" is not one of critical, error, warning, info");
  }
  if (a != "trigger" && event.dedup_key.empty()) {
    return Error::Invalid("PagerDuty " + a + " needs a dedup_key");
  }
  if (a == "trigger" && event.summary.empty()) {
    return Error::Invalid("PagerDuty trigger needs a summary");
  }
  auto key = routing_key_.Resolve();
  if (!key) return Error::Invalid("PagerDuty routing key: " + key.error().message);

  json body = json::object();
  body["routing_key"] = *key;
  body["event_action"] = a;
  if (!event.dedup_key.empty())
    body["dedup_key"] = TruncateChars(event.dedup_key, kMaxDedupKeyChars);
  if (a == "trigger") {
    json p = json::object();
    p["summary"] = TruncateChars(event.summary, kMaxSummaryChars);
    p["source"] = event.source.empty() ? std::string("failover_actuator") : event.source;
    p["severity"] = sev;
    p["timestamp"] = Rfc3339(clock_.WallNow());
    if (!event.component.empty()) p["component"] = event.component;
    if (!event.group.empty()) p["group"] = event.group;
    if (!event.event_class.empty()) p["class"] = event.event_class;
    if (!event.custom_details.is_null() &&
        !(event.custom_details.is_object() && event.custom_details.empty())) {
      p["custom_details"] = event.custom_details;
    }
    body["payload"] = std::move(p);
    body["client"] = "failover_actuator";
    if (!event.links.empty()) {
      json links = json::array();
      for (const auto& [href, text] : event.links)
        links.push_back({{"href", href}, {"text", text}});
      body["links"] = std::move(links);
    }
  }
  return body;
}

Status PagerDutyClient::Enqueue(const PagerDutyEvent& event, MonoTime deadline) {
  auto body = Body(event);
  if (!body) return body.error();
  std::string key = (*body)["routing_key"].get<std::string>();
  std::string dedup = body->value("dedup_key", "");

  HttpRequest req;
  req.method = "POST";
  req.url = url_;
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  req.body = body->dump(-1, ' ', false, json::error_handler_t::replace);
  req.max_response_bytes = 1 << 20;

  Duration backoff = kFirstBackoff;
  int attempts = 0;
  while (true) {
    MonoTime now = clock_.Now();
    if (now >= deadline) {
      return Error{ErrorCode::kTimeout,
                   "PagerDuty " + event.action + ": deadline passed before the event was sent",
                   true};
    }
    req.timeout = std::min<Duration>(deadline - now, kMaxAttemptTimeout);
    ++attempts;
    auto resp = http_.Send(req);
    std::string problem;
    Duration wait = backoff;
    if (!resp) {
      if (!resp.error().retryable) {
        return Error{resp.error().code,
                     "PagerDuty " + event.action + ": " + Scrub(resp.error().message, key), false};
      }
      problem = Scrub(resp.error().message, key);
    } else if (resp->status >= 200 && resp->status < 300) {
      log::Info("pagerduty event accepted",
                {{"action", event.action}, {"dedup_key", dedup}, {"attempts", attempts}});
      return {};
    } else if (resp->status == 429 || resp->status >= 500) {
      problem =
          "HTTP " + std::to_string(resp->status) + ": " + Scrub(PagerDutyMessage(resp->body), key);
      wait = std::max(wait, std::min<Duration>(RetryAfter(*resp), kMaxBackoff));
    } else {
      // 400 (invalid event) and other client errors: the same event will fail again.
      return Error::Invalid("PagerDuty rejected the " + event.action + " event (HTTP " +
                            std::to_string(resp->status) +
                            "): " + Scrub(PagerDutyMessage(resp->body), key));
    }
    now = clock_.Now();
    if (now + wait >= deadline) {
      return Error{ErrorCode::kUnavailable,
                   "PagerDuty " + event.action + " not delivered after " +
                       std::to_string(attempts) + " attempt(s): " + problem,
                   true};
    }
    log::Warn("pagerduty event not accepted, retrying", {{"action", event.action},
                                                         {"attempt", attempts},
                                                         {"error", problem},
                                                         {"retry_in", FormatDuration(wait)}});
    clock_.SleepUntil(now + wait);
    backoff = std::min<Duration>(backoff * 2, kMaxBackoff);
  }
}

}  // namespace failover
