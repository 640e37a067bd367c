#include "actuator/lb/aws_alb.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "common/aws_api.h"
#include "common/config_fields.h"

namespace failover {
namespace {

constexpr const char* kVersion = "2015-12-01";

class TargetChange final : public LbChange {
 public:
  TargetChange(std::shared_ptr<AwsApi> api, std::string tg, std::string target,
               std::optional<long long> port, bool registered)
      : api_(std::move(api)),
        tg_(std::move(tg)),
        target_(std::move(target)),
        port_(port),
        registered_(registered) {}

  nlohmann::json Describe() const override {
    nlohmann::json out = {{"target_group_arn", tg_},
                          {"target", target_},
                          {"state", registered_ ? "registered" : "deregistered"}};
    if (port_) out["port"] = *port_;
    return out;
  }
  std::string Label() const override {
    return "target " + target_ + (port_ ? ":" + std::to_string(*port_) : "") + " of " + tg_;
  }
  std::string Want() const override { return registered_ ? "registered" : "deregistered"; }

  Result<LbState> Read(MonoTime deadline) const override {
    AwsCall call = Call("DescribeTargetHealth", "reading " + Label());
    auto resp = api_->Send(call, deadline);
    if (!resp) return resp.error();
    auto doc = ParseXml(resp->body);
    const XmlElement* result = doc ? doc->Child("DescribeTargetHealthResult") : nullptr;
    const XmlElement* descs =
        result != nullptr ? result->Child("TargetHealthDescriptions") : nullptr;
    if (descs == nullptr) return Unexpected(*resp, call.what);
    std::string state = "unused", reason = "Target.NotRegistered", description;
    for (const XmlElement* m : descs->Children("member")) {
      if (m->Text("Target/Id") != target_) continue;
      if (port_ && m->Text("Target/Port") != std::to_string(*port_)) continue;
      state = m->Text("TargetHealth/State");
      reason = m->Text("TargetHealth/Reason");
      description = m->Text("TargetHealth/Description");
      break;
    }
    LbState s;
    s.json = {{"state", state}, {"reason", reason}};
    s.summary = state + (reason.empty() ? "" : " (" + reason + ")");
    const bool not_registered = state == "unused" && reason == "Target.NotRegistered";
    if (registered_) {
      // Registered, whatever its health (draining means a deregistration is under way).
      s.desired = !not_registered && state != "draining";
      s.settled = state == "healthy";
      s.unsettled = state == "unhealthy"
                        ? "unhealthy" + (description.empty() ? "" : ": " + description)
                        : state;
    } else {
      s.desired = not_registered || state == "draining";
      s.settled = state != "draining";
      s.unsettled = "draining (the target group's deregistration delay)";
    }
    return s;
  }

  Status Apply(const LbState&, MonoTime deadline) const override {
    AwsCall call = Call(registered_ ? "RegisterTargets" : "DeregisterTargets",
                        (registered_ ? "registering " : "deregistering ") + Label());
    auto resp = api_->Send(call, deadline);
    if (!resp) return resp.error();
    return {};
  }

 private:
  AwsCall Call(const std::string& action, const std::string& what) const {
    std::vector<std::pair<std::string, std::string>> params = {{"Action", action},
                                                               {"Version", kVersion},
                                                               {"TargetGroupArn", tg_},
                                                               {"Targets.member.1.Id", target_}};
    if (port_) params.emplace_back("Targets.member.1.Port", std::to_string(*port_));
    AwsCall call;
    call.method = "POST";
    call.path = "/";
    call.content_type = "application/x-www-form-urlencoded; charset=utf-8";
    call.body = AwsQueryForm(params);
    call.idempotent = true;  // registering or deregistering twice is harmless
    call.what = what;
    return call;
  }

  Error Unexpected(const HttpResponse& resp, const std::string& what) const {
    std::string excerpt = resp.body.substr(0, 200);
    for (char& c : excerpt) {
      if (c == '\n') c = ' ';
    }
    return Error::Invalid("aws_alb: " + what + ": unexpected response from " + api_->base_url() +
                          ": " + excerpt);
  }

  std::shared_ptr<AwsApi> api_;
  std::string tg_, target_;
  std::optional<long long> port_;
  bool registered_;
};

// What an aws_alb: load balancer block configures.
struct AwsAlbSpec {
  std::string region;
  std::string url;  // the ELBv2 endpoint; https://elasticloadbalancing.<region>.amazonaws.com
  AwsCredentialSource creds;  // any AWS credential keys (common/aws_sigv4.h)
};

Result<AwsAlbSpec> ParseAwsAlbSpec(const YamlNode& body) {
  AwsAlbSpec spec;
  auto region = RequireField<std::string>(body, "region");
  if (!region) return region.error();
  spec.region = region->value;
  if (!LooksLikeAwsRegion(spec.region)) {
    return region->node.Fail("expected an AWS region like us-east-1, found \"" + spec.region +
                             "\"");
  }
  spec.url = "https://elasticloadbalancing." + spec.region + ".amazonaws.com";
  auto u = ParseBaseUrl(body, "url");
  if (!u) return u.error();
  if (*u) spec.url = **u;
  auto creds = AwsCredentialSource::FromYaml(body);
  if (!creds) return creds.error();
  spec.creds = *creds;
  return spec;
}

class AwsAlbProvider final : public LbProvider {
 public:
  AwsAlbProvider(const AwsAlbSpec& spec, HttpClient* http, Clock* clock)
      : api_(std::make_shared<AwsApi>("aws_alb", spec.url, spec.region, "elasticloadbalancing",
                                      spec.creds, http, clock)) {}

  const std::string& kind() const override {
    static const std::string k = "aws_alb";
    return k;
  }
  Result<std::shared_ptr<LbChange>> ParseChange(const YamlNode& step) const override {
    auto tg_node = step.Require("target_group_arn");
    if (!tg_node) return tg_node.error();
    auto tg = tg_node->AsString();
    if (!tg) return tg.error();
    if (tg->rfind("arn:", 0) != 0 || tg->find(":targetgroup/") == std::string::npos) {
      return tg_node->Fail(
          "expected a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:"
          "targetgroup/<name>/<id>), found \"" +
          *tg + "\"");
    }
    auto target = RequireIdString(step, "target");
    if (!target) return target.error();
    std::optional<long long> port;
    if (auto p = step.Get("port")) {
      auto v = p->AsInt();
      if (!v) return v.error();
      if (*v < 1 || *v > 65535) return p->Fail("expected a port between 1 and 65535");
      port = *v;
    }
    auto state = RequireOneOf(step, "state", {"registered", "deregistered"});
    if (!state) return state.error();
    return std::shared_ptr<LbChange>(
        std::make_shared<TargetChange>(api_, *tg, *target, port, *state == "registered"));
  }

 private:
  std::shared_ptr<AwsApi> api_;
};

}  // namespace

Result<std::shared_ptr<LbProvider>> NewAwsAlbProvider(const YamlNode& body,
                                                      const LbProviderContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseAwsAlbSpec(body);
  if (!spec) return spec.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  if (ctx.http == nullptr) return Error::Internal("aws_alb provider built without an HTTP client");
  Clock* clock = ctx.clock != nullptr ? ctx.clock : &SystemClock::Get();
  return std::shared_ptr<LbProvider>(std::make_shared<AwsAlbProvider>(*spec, ctx.http, clock));
}

}  // namespace failover
