#include "common/aws_api.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "common/log.h"

namespace failover {
namespace {

constexpr Duration kMaxRequestTimeout = std::chrono::seconds(30);
constexpr Duration kFirstDelay = std::chrono::milliseconds(500);
constexpr Duration kMaxDelay = std::chrono::seconds(20);

std::string OneLine(std::string s, size_t max) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

// Retry-After: delay-seconds (the HTTP-date form is not used by AWS).
std::optional<Duration> RetryAfter(const HttpResponse& resp) {
  std::string v = resp.Header("retry-after");
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  double secs = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || secs < 0 || secs > 3600) return std::nullopt;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(secs));
}

}  // namespace

std::optional<AwsErrorInfo> ParseAwsError(std::string_view body) {
  auto doc = ParseXml(body);
  if (!doc) return std::nullopt;
  AwsErrorInfo e;
  if (doc->name == "InvalidChangeBatch") {
    e.type = "Sender";
    e.code = "InvalidChangeBatch";
    if (const XmlElement* msgs = doc->Child("Messages")) {
      for (const XmlElement* m : msgs->Children("Message")) {
        if (!e.message.empty()) e.message += "; ";
        e.message += m->text;
      }
    }
    if (e.message.empty()) e.message = doc->Text("Message");
    return e;
  }
  const XmlElement* err = doc->name == "Error" ? &*doc : doc->Find("Error");
  if (err == nullptr) return std::nullopt;
  e.type = err->Text("Type");
  e.code = err->Text("Code");
  e.message = err->Text("Message");
  if (e.code.empty() && e.message.empty()) return std::nullopt;
  return e;
}

AwsApi::AwsApi(std::string label, std::string base_url, std::string region, std::string service,
               AwsCredentialSource creds, HttpClient* http, Clock* clock)
    : label_(std::move(label)),
      base_url_(std::move(base_url)),
      region_(std::move(region)),
      service_(std::move(service)),
      creds_(std::move(creds)),
      http_(http),
      clock_(clock) {}

Result<HttpResponse> AwsApi::Send(const AwsCall& call, MonoTime deadline) {
  const std::string prefix = label_ + ": " + call.what;
  Duration delay = kFirstDelay;
  for (int attempt = 1;; ++attempt) {
    MonoTime now = clock_->Now();
    if (now >= deadline) {
      return Error{ErrorCode::kTimeout, prefix + ": deadline passed before sending", true};
    }
    auto creds = creds_.Resolve(http_, clock_);
    if (!creds) {
      // Instance metadata or STS not answering is worth a retry; missing keys are not.
      return Error{creds.error().retryable ? ErrorCode::kUnavailable : ErrorCode::kPermissionDenied,
                   prefix + ": " + creds.error().message, creds.error().retryable};
    }
    HttpRequest req;
    req.method = call.method;
    req.url = base_url_ + call.path + (call.query.empty() ? "" : "?" + call.query);
    req.body = call.body;
    if (!call.content_type.empty()) req.headers.emplace_back("Content-Type", call.content_type);
    req.timeout = std::min(deadline - now, kMaxRequestTimeout);
    if (auto s = SignHttpRequest(req, *creds, region_, service_, clock_->WallNow()); !s) {
      return Error::Invalid(prefix + ": " + s.error().message);
    }
    auto resp = http_->Send(req);

    // Decide: done, fail, or wait and retry.
    Error err;
    std::optional<Duration> wait;
    if (!resp) {
      err = resp.error();
      err.message = prefix + ": " + RedactCredentials(err.message, *creds);
      if (!err.retryable || !call.idempotent) return err;
    } else if (resp->status >= 200 && resp->status < 300) {
      return resp;
    } else {
      auto info = ParseAwsError(resp->body);
      std::string code = info ? info->code : "";
      std::string text = info ? info->code + ": " + info->message : OneLine(resp->body, 200);
      err.message = RedactCredentials(prefix + ": HTTP " + std::to_string(resp->status) + " from " +
                                          base_url_ + ": " + OneLine(text, 600),
                                      *creds);
      bool throttled = resp->status == 429 || code == "Throttling" ||
                       code == "ThrottlingException" || code == "RequestLimitExceeded" ||
                       code == "PriorRequestNotComplete";
      bool server = resp->status >= 500;
      if (throttled || server) {
        err.code = ErrorCode::kUnavailable;
        err.retryable = true;
        // A throttled request was not applied: resending is safe. A 5xx may have been.
        if (server && !call.idempotent) return err;
        wait = RetryAfter(*resp);
      } else {
        err.retryable = false;
        if (resp->status == 403 || code == "SignatureDoesNotMatch" ||
            code == "InvalidClientTokenId" || code == "IncompleteSignature" ||
            code == "AccessDenied" || code == "MissingAuthenticationToken") {
          err.code = ErrorCode::kPermissionDenied;
          err.message += " (check the AWS credentials: " + creds_.Describe() + ")";
        } else if (resp->status == 404) {
          err.code = ErrorCode::kNotFound;
        } else {
          err.code = ErrorCode::kInvalidArgument;
        }
        return err;
      }
    }
    Duration pause = wait.value_or(delay);
    delay = std::min(delay * 2, kMaxDelay);
    if (clock_->Now() + pause >= deadline) {
      err.message += " (gave up after " + std::to_string(attempt) +
                     (attempt == 1 ? " attempt" : " attempts") + ": the deadline is near)";
      return err;
    }
    log::Debug("aws call retried", {{"api", label_}, {"attempt", attempt}});
    clock_->SleepUntil(clock_->Now() + pause);
  }
}

std::string AwsQueryForm(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += AwsUriEncode(k, true) + "=" + AwsUriEncode(v, true);
  }
  return out;
}

bool LooksLikeAwsRegion(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::islower(c) != 0 || std::isdigit(c) != 0 || c == '-';
  });
}

}  // namespace failover
