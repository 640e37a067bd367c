#include "actuator/steps/digitalocean_db_promote.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>

#include "common/config_fields.h"
#include "common/log.h"
#include "common/secret.h"

namespace failover {
namespace {

using nlohmann::json;

constexpr Duration kMaxRequestTimeout = std::chrono::seconds(30);
constexpr Duration kFirstDelay = std::chrono::seconds(1);
constexpr Duration kMaxDelay = std::chrono::seconds(30);

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t p = text.find(from); p != std::string::npos; p = text.find(from, p + to.size())) {
    text.replace(p, from.size(), to);
  }
  return text;
}

// DigitalOcean's {"id": "...", "message": "..."} error body, or an excerpt.
std::string ErrorText(const HttpResponse& resp) {
  auto doc = json::parse(resp.body, nullptr, false);
  if (doc.is_object() && doc.contains("message") && doc["message"].is_string()) {
    std::string id = doc.value("id", "");
    return (id.empty() ? "" : id + ": ") + doc["message"].get<std::string>();
  }
  std::string s = resp.body.substr(0, 200);
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

bool ValidId(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '_';
  });
}

// What a digitalocean_db_promote: block asks for (besides timeout, retries, backoff).
struct DigitalOceanDbPromoteSpec {
  std::string cluster_id;    // the primary cluster the replica belongs to
  std::string replica_name;  // the read-only replica to promote
  std::string url = "https://api.digitalocean.com";
  bool missing_ok = false;  // if_missing: ok (an unlisted replica counts as already promoted)
  Duration poll_interval = std::chrono::seconds(5);  // between reads while promoting
  SecretRef token = SecretRef::Inline("");           // token, token_file or token_env
};

Result<DigitalOceanDbPromoteSpec> ParseDigitalOceanDbPromoteSpec(const YamlNode& body) {
  DigitalOceanDbPromoteSpec spec;
  for (auto [key, field] : {std::pair<const char*, std::string*>{"cluster_id", &spec.cluster_id},
                            {"replica_name", &spec.replica_name}}) {
    auto n = body.Require(key);
    if (!n) return n.error();
    auto s = n->AsString();
    if (!s) return s.error();
    if (!ValidId(*s)) {
      return n->Fail(std::string(key) + " must be letters, digits, '-' or '_', found \"" + *s +
                     "\"");
    }
    *field = *s;
  }
  auto url = ParseBaseUrl(body, "url");
  if (!url) return url.error();
  if (*url) spec.url = **url;
  if (auto m = body.Get("if_missing")) {
    auto s = m->AsString();
    if (!s) return s.error();
    if (*s != "ok" && *s != "fail")
      return m->Fail("if_missing must be ok or fail, found \"" + *s + "\"");
    spec.missing_ok = *s == "ok";
  }
  auto poll =
      ParsePositiveDuration(body, "poll_interval", std::chrono::minutes(5), spec.poll_interval);
  if (!poll) return poll.error();
  spec.poll_interval = *poll;
  auto token = SecretRef::FromYaml(body, "token");
  if (!token) return token.error();
  if (!*token) {
    return body.Fail("the DigitalOcean API needs token, token_file or token_env");
  }
  spec.token = **token;
  return spec;
}

class DigitalOceanDbPromoteStep final : public Step {
 public:
  explicit DigitalOceanDbPromoteStep(DigitalOceanDbPromoteSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "digitalocean_db_promote";
    return k;
  }

  Result<json> Render(const TemplateVars&) const override {
    return json{{"cluster_id", spec_.cluster_id},
                {"replica_name", spec_.replica_name},
                {"url", spec_.url},
                {"if_missing", spec_.missing_ok ? "ok" : "fail"},
                {"token", spec_.token.Describe()}};
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.http == nullptr || ctx.clock == nullptr) {
      return StepOutcome::Fail("digitalocean_db_promote: no HTTP client in the step context");
    }
    auto t = spec_.token.Resolve();
    if (!t) return StepOutcome::Fail("digitalocean_db_promote: API token: " + t.error().message);
    const std::string& secret = *t;
    const std::string path =
        "/v2/databases/" + spec_.cluster_id + "/replicas/" + spec_.replica_name;
    const std::string who = "replica " + spec_.replica_name + " of cluster " + spec_.cluster_id;

    auto before = Send(ctx, secret, "GET", path, true, "reading " + who);
    if (!before) return FromError(before.error(), secret);
    if (before->status == 404) {
      if (spec_.missing_ok) {
        return StepOutcome::Ok(who + " is not listed (already promoted, as if_missing: ok " +
                               "assumes); nothing sent");
      }
      return StepOutcome::Fail("digitalocean_db_promote: " + who + " not found (" +
                               ErrorText(*before) +
                               "): already promoted, or a wrong cluster_id / replica_name; "
                               "nothing sent (if_missing: ok treats this as done)");
    }
    if (before->status != 200) return StatusFail(*before, secret, "reading " + who);
    std::string status_before;
    auto doc = json::parse(before->body, nullptr, false);
    if (!doc.is_object() || !doc.contains("replica") || !doc["replica"].is_object()) {
      return StepOutcome::Fail("digitalocean_db_promote: reading " + who +
                               ": unexpected response (no \"replica\" object)");
    }
    status_before = doc["replica"].value("status", "");
    json details = {{"before", {{"replica", spec_.replica_name}, {"status", status_before}}}};

    auto put = Send(ctx, secret, "PUT", path + "/promote", false, "promoting " + who);
    if (!put) return FromError(put.error(), secret);
    if (put->status != 204 && put->status != 200)
      return StatusFail(*put, secret, "promoting " + who);
    log::Info("digitalocean replica promotion requested",
              {{"cluster", spec_.cluster_id}, {"replica", spec_.replica_name}});
    details["action"] = "promote";

    // Verify: the replica leaves the cluster's replicas once it is a cluster of its own.
    MonoTime start = ctx.clock->Now();
    for (;;) {
      auto now = Send(ctx, secret, "GET", path, true, "checking " + who);
      if (now && now->status == 404) {
        details["after"] = {{"replica_listed", false}};
        return StepOutcome::Ok(
            "promoted " + who + " to a standalone cluster (no longer listed as a replica after " +
                std::to_string(
                    std::chrono::duration_cast<std::chrono::seconds>(ctx.clock->Now() - start)
                        .count()) +
                "s)",
            std::move(details));
      }
      if (now && now->status != 200) return StatusFail(*now, secret, "checking " + who);
      MonoTime next = ctx.clock->Now() + spec_.poll_interval;
      if (next >= ctx.deadline || ctx.cancelled()) {
        StepOutcome out = StepOutcome::Retry("digitalocean_db_promote: promotion of " + who +
                                             " was accepted but it is still listed as a replica "
                                             "at the step's deadline");
        out.details = details;
        return out;
      }
      ctx.clock->SleepUntil(next);
    }
  }

 private:
  static StepOutcome FromError(const Error& e, const std::string& secret) {
    Error redacted = e;
    redacted.message = ReplaceAll(e.message, secret, "<redacted>");
    return StepOutcome::FromError(redacted);
  }

  StepOutcome StatusFail(const HttpResponse& resp, const std::string& secret,
                         const std::string& what) const {
    std::string prefix = "digitalocean_db_promote: " + what + ": HTTP " +
                         std::to_string(resp.status) + " from " + spec_.url + ": ";
    if (resp.status == 401 || resp.status == 403) {
      return StepOutcome::Fail(prefix + "authentication failed (check the API token, " +
                               spec_.token.Describe() + ")");
    }
    return StepOutcome::Fail(ReplaceAll(prefix + ErrorText(resp), secret, "<redacted>"));
  }

  // Sends one request, retrying 429 (never applied) always and 5xx / transport failures
  // when `idempotent`, within the deadline. Any other status is returned as it is.
  Result<HttpResponse> Send(StepContext& ctx, const std::string& secret, const std::string& method,
                            const std::string& path, bool idempotent, const std::string& what) {
    const std::string prefix = "digitalocean_db_promote: " + what;
    Duration delay = kFirstDelay;
    for (int attempt = 1;; ++attempt) {
      MonoTime now = ctx.clock->Now();
      if (now >= ctx.deadline) {
        return Error{ErrorCode::kTimeout, prefix + ": step deadline passed", true};
      }
      HttpRequest req;
      req.method = method;
      req.url = spec_.url + path;
      req.headers = {{"Authorization", "Bearer " + secret}, {"Accept", "application/json"}};
      req.timeout = std::min(ctx.deadline - now, kMaxRequestTimeout);
      auto resp = ctx.http->Send(req);
      Error err;
      std::optional<Duration> wait;
      if (!resp) {
        err = resp.error();
        err.message = prefix + ": " + ReplaceAll(err.message, secret, "<redacted>");
        if (!err.retryable || !idempotent) return err;
      } else if (resp->status == 429 || (resp->status >= 500 && idempotent)) {
        err = Error{ErrorCode::kUnavailable,
                    prefix + ": HTTP " + std::to_string(resp->status) + " from " + spec_.url +
                        ": " + ErrorText(*resp),
                    true};
        std::string ra = resp->Header("retry-after");
        if (!ra.empty()) {
          double secs = std::atof(ra.c_str());
          if (secs >= 0 && secs <= 3600) {
            wait = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(secs));
          }
        }
      } else if (resp->status >= 500) {
        return Error{ErrorCode::kUnavailable,
                     prefix + ": HTTP " + std::to_string(resp->status) + " from " + spec_.url +
                         ": " + ErrorText(*resp) + " (read again before resending)",
                     true};
      } else {
        return resp;
      }
      Duration pause = wait.value_or(delay);
      delay = std::min(delay * 2, kMaxDelay);
      if (ctx.clock->Now() + pause >= ctx.deadline) {
        err.message += " (gave up after " + std::to_string(attempt) + " attempt" +
                       (attempt == 1 ? "" : "s") + ": the deadline is near)";
        return err;
      }
      ctx.clock->SleepUntil(ctx.clock->Now() + pause);
    }
  }

  DigitalOceanDbPromoteSpec spec_;
};

}  // namespace

Result<std::unique_ptr<Step>> NewDigitalOceanDbPromoteStep(const YamlNode& body,
                                                           const StepFactoryContext&) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseDigitalOceanDbPromoteSpec(body);
  if (!spec) return spec.error();
  StepCommon defaults;
  defaults.timeout = std::chrono::minutes(10);
  auto common = ParseStepCommon(body, defaults);
  if (!common) return common.error();
  return FinishStep<DigitalOceanDbPromoteStep>(body, std::move(*spec), *common);
}

}  // namespace failover
