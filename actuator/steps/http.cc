#include "actuator/steps/http.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "common/config_fields.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/secret.h"

namespace failover {
namespace {

using nlohmann::json;

constexpr size_t kBodyExcerpt = 200;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool SecretHeader(const std::string& name) {
  std::string n = Lower(name);
  static const std::set<std::string> kExact = {"authorization", "proxy-authorization", "cookie",
                                               "x-api-key"};
  if (kExact.count(n) != 0) return true;
  for (const char* part : {"token", "secret", "password", "apikey", "api-key", "auth"}) {
    if (n.find(part) != std::string::npos) return true;
  }
  return false;
}

bool ValidHeaderName(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!(std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                 std::string_view::npos)) {
      return false;
    }
  }
  return true;
}

// "http://user:pass@host/x" -> "http://user:<redacted>@host/x".
std::string RedactUrl(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t start = scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string::npos) end = url.size();
  size_t at = url.rfind('@', end);
  if (at == std::string::npos || at < start) return url;
  size_t colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "<redacted>" + url.substr(at);
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  if (from.empty() || from == to) return text;
  for (size_t p = text.find(from); p != std::string::npos; p = text.find(from, p + to.size())) {
    text.replace(p, from.size(), to);
  }
  return text;
}

std::string Excerpt(std::string_view body) {
  std::string s = SanitizeUtf8(body.substr(0, std::min(body.size(), kBodyExcerpt + 4)));
  // Count in characters so a cut never splits one.
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (chars == kBodyExcerpt) {
        s.resize(i);
        break;
      }
      ++chars;
    }
  }
  return s;
}

// What an http: block asks for (besides timeout, retries, backoff).
struct HttpSpec {
  std::string method = "GET";  // upper case
  Template url;                // starts with http:// or https://; values percent-encoded
  std::vector<std::pair<std::string, Template>> headers;  // in config order
  // Values escaped for the Content-Type header (or JSON/form as the body looks without one).
  std::optional<Template> body;
  // A body that looks like JSON and has no Content-Type header is sent as JSON.
  bool add_json_content_type = false;
  std::vector<int> expect_status;         // empty: any 2xx
  std::optional<SecretRef> bearer_token;  // sent as "Authorization: Bearer ..."
  TlsClientOptions tls;  // `tls:`, e.g. a private CA for an internal https endpoint
};

Result<HttpSpec> ParseHttpSpec(const YamlNode& body) {
  HttpSpec spec;
  if (auto m = body.Get("method")) {
    auto s = m->AsString();
    if (!s) return s.error();
    std::string up = *s;
    std::transform(up.begin(), up.end(), up.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    static const std::set<std::string> kMethods = {"GET",   "HEAD",   "POST",   "PUT",
                                                   "PATCH", "DELETE", "OPTIONS"};
    if (kMethods.count(up) == 0) {
      return m->Fail("unknown method \"" + *s +
                     "\" (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)");
    }
    spec.method = up;
  }

  auto url_node = body.Require("url");
  if (!url_node) return url_node.error();
  auto url = Template::FromYaml(*url_node);
  if (!url) return url.error();
  const std::string& src = url->source();
  if (src.rfind("http://", 0) != 0 && src.rfind("https://", 0) != 0) {
    return url_node->Fail(
        "url must start with http:// or https:// (a placeholder cannot choose "
        "the scheme)");
  }
  if (auto c = url->SetContext(TemplateContext::kUrl); !c) return url_node->Fail(c.error().message);
  spec.url = *url;

  if (auto h = body.Get("headers")) {
    auto entries = h->Entries();
    if (!entries) return entries.error();
    for (const auto& [name, value] : *entries) {
      if (!ValidHeaderName(name)) return value.Fail("invalid header name \"" + name + "\"");
      auto t = Template::FromYaml(value);
      if (!t) return t.error();
      if (auto c = t->SetContext(TemplateContext::kHeader); !c)
        return value.Fail(c.error().message);
      spec.headers.emplace_back(name, *t);
    }
  }

  if (auto b = body.Get("body")) {
    auto t = Template::FromYaml(*b);
    if (!t) return t.error();
    // How values are escaped follows what the receiver is told the body is
    // (docs/actuator-steps.md, "Templates and escaping").
    std::optional<std::string> content_type;
    for (const auto& [name, h] : spec.headers) {
      if (Lower(name) == "content-type") content_type = Lower(h.source());
    }
    TemplateContext context = TemplateContext::kText;
    if (content_type) {
      if (content_type->find("json") != std::string::npos) {
        context = TemplateContext::kJson;
      } else if (content_type->find("x-www-form-urlencoded") != std::string::npos) {
        context = TemplateContext::kForm;
      }
    } else {
      size_t first = t->source().find_first_not_of(" \t\r\n");
      if (first != std::string::npos && (t->source()[first] == '{' || t->source()[first] == '[')) {
        context = TemplateContext::kJson;
        spec.add_json_content_type = true;
      } else {
        context = TemplateContext::kForm;  // libcurl sends it as form data
      }
    }
    if (auto c = t->SetContext(context); !c) return b->Fail(c.error().message);
    spec.body = *t;
  }

  if (auto e = body.Get("expect_status")) {
    std::vector<YamlNode> items;
    if (e->IsSequence()) {
      auto it = e->Items();
      if (!it) return it.error();
      items = *it;
      if (items.empty()) return e->Fail("expect_status must not be empty");
    } else {
      items.push_back(*e);
    }
    for (const auto& item : items) {
      auto c = item.AsInt();
      if (!c) return c.error();
      if (*c < 100 || *c > 599) {
        return item.Fail("status code must be between 100 and 599, found " + std::to_string(*c));
      }
      spec.expect_status.push_back(static_cast<int>(*c));
    }
  }

  auto token = SecretRef::FromYaml(body, "bearer_token");
  if (!token) return token.error();
  spec.bearer_token = *token;
  if (spec.bearer_token) {
    for (const auto& [name, t] : spec.headers) {
      if (Lower(name) == "authorization") {
        return body.Fail("set either bearer_token or an Authorization header, not both");
      }
    }
  }

  if (auto t = body.Get("tls")) {
    auto tls = ParseTlsClientOptions(*t);
    if (!tls) return tls.error();
    spec.tls = std::move(*tls);
  }

  return spec;
}

class HttpStep final : public Step {
 public:
  explicit HttpStep(HttpSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "http";
    return k;
  }

  Result<json> Render(const TemplateVars& vars) const override {
    auto u = spec_.url.Render(vars);
    if (!u) return Error::Invalid("url: " + u.error().message);
    json out = {{"method", spec_.method}, {"url", RedactUrl(*u)}};
    json h = json::object();
    for (const auto& [name, t] : spec_.headers) {
      auto v = t.Render(vars);
      if (!v) return Error::Invalid("headers." + name + ": " + v.error().message);
      h[name] = SecretHeader(name) ? std::string("<redacted>") : SanitizeUtf8(*v);
    }
    if (spec_.add_json_content_type) h["Content-Type"] = "application/json";
    if (spec_.bearer_token) h["Authorization"] = "<redacted>";
    if (!h.empty()) out["headers"] = std::move(h);
    if (spec_.body) {
      auto b = spec_.body->Render(vars);
      if (!b) return Error::Invalid("body: " + b.error().message);
      out["body"] = SanitizeUtf8(*b);
    }
    if (spec_.expect_status.empty()) {
      out["expect_status"] = "2xx";
    } else {
      out["expect_status"] = spec_.expect_status;
    }
    return out;
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.http == nullptr || ctx.vars == nullptr || ctx.clock == nullptr) {
      return StepOutcome::Fail("http step: no HTTP client in the step context");
    }
    auto u = spec_.url.Render(*ctx.vars);
    if (!u) return StepOutcome::Fail("url: " + u.error().message);
    std::string shown_url = RedactUrl(*u);
    std::string what = spec_.method + " " + shown_url;
    if (u->rfind("http://", 0) != 0 && u->rfind("https://", 0) != 0) {
      return StepOutcome::Fail(what + ": the rendered url is not an http:// or https:// URL");
    }
    HttpRequest req;
    req.method = spec_.method;
    req.url = *u;
    req.tls = spec_.tls;
    for (const auto& [name, t] : spec_.headers) {
      auto v = t.Render(*ctx.vars);
      if (!v) return StepOutcome::Fail("headers." + name + ": " + v.error().message);
      if (v->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        return StepOutcome::Fail("headers." + name +
                                 ": rendered value contains a line break or NUL");
      }
      req.headers.emplace_back(name, *v);
    }
    if (spec_.add_json_content_type) req.headers.emplace_back("Content-Type", "application/json");
    std::string token;
    if (spec_.bearer_token) {
      auto t = spec_.bearer_token->Resolve();
      if (!t) return StepOutcome::Fail(what + ": bearer token: " + t.error().message);
      token = *t;
      req.headers.emplace_back("Authorization", "Bearer " + token);
    }
    if (spec_.body) {
      auto b = spec_.body->Render(*ctx.vars);
      if (!b) return StepOutcome::Fail("body: " + b.error().message);
      req.body = *b;
    }
    // Secrets never leave through a message or the details.
    auto scrub = [&](std::string s) {
      s = ReplaceAll(std::move(s), *u, shown_url);
      if (!token.empty()) s = ReplaceAll(std::move(s), token, "<redacted>");
      return s;
    };

    MonoTime now = ctx.clock->Now();
    if (now >= ctx.deadline) return StepOutcome::Retry(what + ": timed out before sending");
    req.timeout = ctx.deadline - now;
    auto resp = ctx.http->Send(req);
    if (!resp) {
      // Refused, reset, timed out, DNS: the next attempt may work.
      std::string msg = scrub(resp.error().message);
      if (msg.rfind(spec_.method + " ", 0) != 0) msg = what + ": " + msg;
      return StepOutcome::Retry(msg);
    }
    int status = resp->status;
    json details = {{"status", status}, {"body", scrub(Excerpt(resp->body))}};
    bool ok = spec_.expect_status.empty()
                  ? status >= 200 && status < 300
                  : std::find(spec_.expect_status.begin(), spec_.expect_status.end(), status) !=
                        spec_.expect_status.end();
    std::string msg = what + ": HTTP " + std::to_string(status);
    if (ok) return StepOutcome::Ok(msg, std::move(details));
    msg += " (expected " + ExpectText() + ")";
    StepOutcome out =
        (status >= 500 || status == 429) ? StepOutcome::Retry(msg) : StepOutcome::Fail(msg);
    out.details = std::move(details);
    log::Debug("http step: unexpected status", {{"method", spec_.method}, {"status", status}});
    return out;
  }

 private:
  std::string ExpectText() const {
    if (spec_.expect_status.empty()) return "2xx";
    std::string s;
    for (int c : spec_.expect_status) {
      if (!s.empty()) s += ", ";
      s += std::to_string(c);
    }
    return s;
  }

  HttpSpec spec_;
};

}  // namespace

Result<std::unique_ptr<Step>> NewHttpStep(const YamlNode& body, const StepFactoryContext&) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseHttpSpec(body);
  if (!spec) return spec.error();
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  // The keys read above (and ParseStepCommon's) are the keys an http step takes.
  return FinishStep<HttpStep>(body, std::move(*spec), *common);
}

}  // namespace failover
