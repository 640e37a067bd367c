#include "actuator/steps/aurora_global_failover.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "common/aws_api.h"
#include "common/config_fields.h"
#include "common/log.h"

namespace failover {
namespace {

using nlohmann::json;

constexpr const char* kVersion = "2014-10-31";

struct GlobalState {
  std::string writer;                   // ARN of the writer member ("" if none)
  std::vector<std::string> members;     // every member's ARN
  std::optional<std::string> failover;  // FailoverState/Status while one runs
  std::string failover_to;              // FailoverState/ToDbClusterArn
  std::string status;                   // the global cluster's Status
  bool IsMember(const std::string& arn) const {
    return std::find(members.begin(), members.end(), arn) != members.end();
  }
};

std::string Seconds(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + "s";
}

class AuroraGlobalFailoverStep final : public Step {
 public:
  std::string global_cluster_id;
  std::string target_arn;
  std::string region;
  std::string mode = "failover";
  std::string url;
  Duration poll_interval = std::chrono::seconds(10);
  std::optional<AwsCredentialSource> creds;

  const std::string& kind() const override {
    static const std::string k = "aurora_global_failover";
    return k;
  }

  Result<json> Render(const TemplateVars&) const override {
    return json{{"global_cluster_id", global_cluster_id},
                {"target_cluster_arn", target_arn},
                {"region", region},
                {"mode", mode},
                {"url", url},
                {"credentials", creds->Describe()}};
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.http == nullptr || ctx.clock == nullptr) {
      return StepOutcome::Fail("aurora_global_failover: no HTTP client in the step context");
    }
    AwsApi api("aurora_global_failover", url, region, "rds", *creds, ctx.http, ctx.clock);
    const std::string who = "global cluster " + global_cluster_id;
    auto before = Describe(api, ctx.deadline);
    if (!before) return StepOutcome::FromError(before.error());
    if (!before->IsMember(target_arn)) {
      return StepOutcome::Fail("aurora_global_failover: " + target_arn + " is not a member of " +
                               who + " (members: " + Join(before->members) + "); nothing sent");
    }
    json details = {{"before", {{"writer", before->writer}}}};
    if (before->writer == target_arn && !before->failover) {
      details["after"] = {{"writer", target_arn}};
      return StepOutcome::Ok(target_arn + " is already the writer of " + who + "; nothing sent",
                             std::move(details));
    }
    std::string action = mode == "switchover" ? "SwitchoverGlobalCluster" : "FailoverGlobalCluster";
    if (before->failover) {
      if (before->failover_to != target_arn) {
        return StepOutcome::Fail("aurora_global_failover: " + who + " is already " +
                                 *before->failover + " towards " + before->failover_to + ", not " +
                                 target_arn + "; nothing sent");
      }
      log::Info("aurora global failover already under way; waiting",
                {{"global_cluster", global_cluster_id}, {"status", *before->failover}});
      details["action"] = "none (already " + *before->failover + ")";
    } else {
      std::vector<std::pair<std::string, std::string>> params = {
          {"Action", action},
          {"Version", kVersion},
          {"GlobalClusterIdentifier", global_cluster_id},
          {"TargetDbClusterIdentifier", target_arn}};
      if (action == "FailoverGlobalCluster") params.emplace_back("AllowDataLoss", "true");
      AwsCall call;
      call.method = "POST";
      call.path = "/";
      call.content_type = "application/x-www-form-urlencoded; charset=utf-8";
      call.body = AwsQueryForm(params);
      call.idempotent = false;  // never resent blindly: the next attempt reads state first
      call.what = action + " of " + who + " to " + target_arn;
      auto resp = api.Send(call, ctx.deadline);
      if (!resp) return StepOutcome::FromError(resp.error());
      log::Info(
          "aurora global failover requested",
          {{"global_cluster", global_cluster_id}, {"action", action}, {"target", target_arn}});
      details["action"] = action;
    }

    // Wait until the target is the writer and the FailoverState is gone.
    MonoTime start = ctx.clock->Now();
    std::string last = before->failover.value_or("pending");
    for (;;) {
      MonoTime next = ctx.clock->Now() + poll_interval;
      if (next >= ctx.deadline || ctx.cancelled()) {
        StepOutcome out = StepOutcome::Retry(
            "aurora_global_failover: " + who + " still " + last + " towards " + target_arn +
            " at the step's deadline (" + action + " was accepted; a retry waits, not resends)");
        out.details = details;
        return out;
      }
      ctx.clock->SleepUntil(next);
      auto now = Describe(api, ctx.deadline);
      if (!now) {
        if (now.error().retryable) continue;
        return StepOutcome::FromError(now.error());
      }
      if (now->writer == target_arn && !now->failover) {
        details["after"] = {{"writer", target_arn}};
        return StepOutcome::Ok(who + ": " + target_arn + " is now the writer (was " +
                                   (before->writer.empty() ? "none" : before->writer) + ", " +
                                   Seconds(ctx.clock->Now() - start) + ")",
                               std::move(details));
      }
      if (!now->failover) {
        details["after"] = {{"writer", now->writer}};
        StepOutcome out =
            StepOutcome::Fail("aurora_global_failover: " + who + " ended its failover with " +
                              (now->writer.empty() ? "no writer" : now->writer + " as the writer") +
                              ", not " + target_arn);
        out.details = std::move(details);
        return out;
      }
      last = *now->failover;
    }
  }

 private:
  static std::string Join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? "none" : s;
  }

  Result<GlobalState> Describe(AwsApi& api, MonoTime deadline) const {
    AwsCall call;
    call.method = "POST";
    call.path = "/";
    call.content_type = "application/x-www-form-urlencoded; charset=utf-8";
    call.body = AwsQueryForm({{"Action", "DescribeGlobalClusters"},
                              {"Version", kVersion},
                              {"GlobalClusterIdentifier", global_cluster_id}});
    call.what = "DescribeGlobalClusters of " + global_cluster_id;
    auto resp = api.Send(call, deadline);
    if (!resp) return resp.error();
    auto doc = ParseXml(resp->body);
    const XmlElement* list = doc ? doc->Find("GlobalClusters") : nullptr;
    if (list == nullptr) {
      return Error::Invalid("aurora_global_failover: " + call.what + ": unexpected response from " +
                            api.base_url());
    }
    // The list's entries are found by their GlobalClusterIdentifier, whatever their
    // element name.
    for (const XmlElement& gc : list->children) {
      if (gc.Text("GlobalClusterIdentifier") != global_cluster_id) continue;
      GlobalState st;
      st.status = gc.Text("Status");
      if (const XmlElement* members = gc.Child("GlobalClusterMembers")) {
        for (const XmlElement& m : members->children) {
          std::string arn = m.Text("DBClusterArn");
          if (arn.empty()) continue;
          st.members.push_back(arn);
          if (m.Text("IsWriter") == "true") st.writer = arn;
        }
      }
      if (const XmlElement* fs = gc.Child("FailoverState");
          fs != nullptr && !fs->Text("Status").empty()) {
        st.failover = fs->Text("Status");
        st.failover_to = fs->Text("ToDbClusterArn");
      }
      return st;
    }
    return Error{ErrorCode::kNotFound,
                 "aurora_global_failover: " + call.what + ": no global cluster " +
                     global_cluster_id + " in the answer",
                 false};
  }
};

Result<std::string> RequireString(const YamlNode& body, std::string_view key) {
  auto n = body.Require(key);
  if (!n) return n.error();
  auto s = n->AsString();
  if (!s) return s.error();
  if (s->empty()) return n->Fail(std::string(key) + " must not be empty");
  return *s;
}

}  // namespace

Result<std::unique_ptr<Step>> NewAuroraGlobalFailoverStep(const YamlNode& body,
                                                          const StepFactoryContext&) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto step = std::make_unique<AuroraGlobalFailoverStep>();

  auto id = RequireString(body, "global_cluster_id");
  if (!id) return id.error();
  step->global_cluster_id = *id;

  auto arn = RequireString(body, "target_cluster_arn");
  if (!arn) return arn.error();
  if (arn->rfind("arn:", 0) != 0 || arn->find(":cluster:") == std::string::npos) {
    return body.Get("target_cluster_arn")
        ->Fail(
            "expected the secondary cluster's ARN (arn:aws:rds:<region>:<account>:cluster:"
            "<name>), found \"" +
            *arn + "\"");
  }
  step->target_arn = *arn;

  auto region = RequireString(body, "region");
  if (!region) return region.error();
  for (unsigned char c : *region) {
    if (!(std::islower(c) || std::isdigit(c) || c == '-')) {
      return body.Get("region")->Fail("expected an AWS region like us-west-2, found \"" + *region +
                                      "\"");
    }
  }
  step->region = *region;

  if (auto m = body.Get("mode")) {
    auto s = m->AsString();
    if (!s) return s.error();
    if (*s != "failover" && *s != "switchover") {
      return m->Fail(
          "mode must be failover (unplanned, allows data loss) or switchover "
          "(planned), found \"" +
          *s + "\"");
    }
    step->mode = *s;
  }

  step->url = "https://rds." + step->region + ".amazonaws.com";
  auto url = ParseBaseUrl(body, "url");
  if (!url) return url.error();
  if (*url) step->url = **url;

  auto poll =
      ParsePositiveDuration(body, "poll_interval", std::chrono::minutes(5), step->poll_interval);
  if (!poll) return poll.error();
  step->poll_interval = *poll;

  auto creds = AwsCredentialSource::FromYaml(body);
  if (!creds) return creds.error();
  step->creds = *creds;

  StepCommon defaults;
  defaults.timeout = std::chrono::minutes(15);
  auto common = ParseStepCommon(body, defaults);
  if (!common) return common.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
