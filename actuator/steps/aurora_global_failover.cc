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

// What an aurora_global_failover: block asks for (besides timeout, retries, backoff).
struct AuroraGlobalFailoverSpec {
  std::string global_cluster_id;
  std::string target_arn;  // target_cluster_arn: the secondary cluster to promote
  std::string region;
  bool switchover = false;  // mode: switchover (planned) instead of failover (allows data loss)
  std::string url;          // the RDS endpoint; https://rds.<region>.amazonaws.com unless set
  Duration poll_interval = std::chrono::seconds(10);  // between DescribeGlobalClusters reads
  AwsCredentialSource creds;
};

Result<std::string> RequireString(const YamlNode& body, std::string_view key) {
  auto n = body.Require(key);
  if (!n) return n.error();
  auto s = n->AsString();
  if (!s) return s.error();
  if (s->empty()) return n->Fail(std::string(key) + " must not be empty");
  return *s;
}

Result<AuroraGlobalFailoverSpec> ParseAuroraGlobalFailoverSpec(const YamlNode& body) {
  AuroraGlobalFailoverSpec spec;
  auto id = RequireString(body, "global_cluster_id");
  if (!id) return id.error();
  spec.global_cluster_id = *id;

  auto arn = RequireString(body, "target_cluster_arn");
  if (!arn) return arn.error();
  if (arn->rfind("arn:", 0) != 0 || arn->find(":cluster:") == std::string::npos) {
    return body.Get("target_cluster_arn")
        ->Fail(
            "expected the secondary cluster's ARN (arn:aws:rds:<region>:<account>:cluster:"
            "<name>), found \"" +
            *arn + "\"");
  }
  spec.target_arn = *arn;

  auto region = RequireString(body, "region");
  if (!region) return region.error();
  if (!LooksLikeAwsRegion(*region)) {
    return body.Get("region")->Fail("expected an AWS region like us-west-2, found \"" + *region +
                                    "\"");
  }
  spec.region = *region;

  if (auto m = body.Get("mode")) {
    auto s = m->AsString();
    if (!s) return s.error();
    if (*s != "failover" && *s != "switchover") {
      return m->Fail(
          "mode must be failover (unplanned, allows data loss) or switchover "
          "(planned), found \"" +
          *s + "\"");
    }
    spec.switchover = *s == "switchover";
  }

  spec.url = "https://rds." + spec.region + ".amazonaws.com";
  auto url = ParseBaseUrl(body, "url");
  if (!url) return url.error();
  if (*url) spec.url = **url;

  auto poll =
      ParsePositiveDuration(body, "poll_interval", std::chrono::minutes(5), spec.poll_interval);
  if (!poll) return poll.error();
  spec.poll_interval = *poll;

  auto creds = AwsCredentialSource::FromYaml(body);
  if (!creds) return creds.error();
  spec.creds = *creds;
  return spec;
}

class AuroraGlobalFailoverStep final : public Step {
 public:
  explicit AuroraGlobalFailoverStep(AuroraGlobalFailoverSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "aurora_global_failover";
    return k;
  }

  Result<json> Render(const TemplateVars&) const override {
    return json{{"global_cluster_id", spec_.global_cluster_id},
                {"target_cluster_arn", spec_.target_arn},
                {"region", spec_.region},
                {"mode", spec_.switchover ? "switchover" : "failover"},
                {"url", spec_.url},
                {"credentials", spec_.creds.Describe()}};
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.http == nullptr || ctx.clock == nullptr) {
      return StepOutcome::Fail("aurora_global_failover: no HTTP client in the step context");
    }
    AwsApi api("aurora_global_failover", spec_.url, spec_.region, "rds", spec_.creds, ctx.http,
               ctx.clock);
    const std::string who = "global cluster " + spec_.global_cluster_id;
    auto before = Describe(api, ctx.deadline);
    if (!before) return StepOutcome::FromError(before.error());
    if (!before->IsMember(spec_.target_arn)) {
      return StepOutcome::Fail("aurora_global_failover: " + spec_.target_arn +
                               " is not a member of " + who +
                               " (members: " + Join(before->members) + "); nothing sent");
    }
    json details = {{"before", {{"writer", before->writer}}}};
    if (before->writer == spec_.target_arn && !before->failover) {
      details["after"] = {{"writer", spec_.target_arn}};
      return StepOutcome::Ok(
          spec_.target_arn + " is already the writer of " + who + "; nothing sent",
          std::move(details));
    }
    std::string action = spec_.switchover ? "SwitchoverGlobalCluster" : "FailoverGlobalCluster";
    if (before->failover) {
      if (before->failover_to != spec_.target_arn) {
        return StepOutcome::Fail("aurora_global_failover: " + who + " is already " +
                                 *before->failover + " towards " + before->failover_to + ", not " +
                                 spec_.target_arn + "; nothing sent");
      }
      log::Info("aurora global failover already under way; waiting",
                {{"global_cluster", spec_.global_cluster_id}, {"status", *before->failover}});
      details["action"] = "none (already " + *before->failover + ")";
    } else {
      std::vector<std::pair<std::string, std::string>> params = {
          {"Action", action},
          {"Version", kVersion},
          {"GlobalClusterIdentifier", spec_.global_cluster_id},
          {"TargetDbClusterIdentifier", spec_.target_arn}};
      if (action == "FailoverGlobalCluster") params.emplace_back("AllowDataLoss", "true");
      AwsCall call;
      call.method = "POST";
      call.path = "/";
      call.content_type = "application/x-www-form-urlencoded; charset=utf-8";
      call.body = AwsQueryForm(params);
      call.idempotent = false;  // never resent blindly: the next attempt reads state first
      call.what = action + " of " + who + " to " + spec_.target_arn;
      auto resp = api.Send(call, ctx.deadline);
      if (!resp) return StepOutcome::FromError(resp.error());
      log::Info("aurora global failover requested", {{"global_cluster", spec_.global_cluster_id},
                                                     {"action", action},
                                                     {"target", spec_.target_arn}});
      details["action"] = action;
    }

    // Wait until the target is the writer and the FailoverState is gone.
    MonoTime start = ctx.clock->Now();
    std::string last = before->failover.value_or("pending");
    for (;;) {
      MonoTime next = ctx.clock->Now() + spec_.poll_interval;
      if (next >= ctx.deadline || ctx.cancelled()) {
        StepOutcome out = StepOutcome::Retry(
            "aurora_global_failover: " + who + " still " + last + " towards " + spec_.target_arn +
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
      if (now->writer == spec_.target_arn && !now->failover) {
        details["after"] = {{"writer", spec_.target_arn}};
        return StepOutcome::Ok(who + ": " + spec_.target_arn + " is now the writer (was " +
                                   (before->writer.empty() ? "none" : before->writer) + ", " +
                                   Seconds(ctx.clock->Now() - start) + ")",
                               std::move(details));
      }
      if (!now->failover) {
        details["after"] = {{"writer", now->writer}};
        StepOutcome out =
            StepOutcome::Fail("aurora_global_failover: " + who + " ended its failover with " +
                              (now->writer.empty() ? "no writer" : now->writer + " as the writer") +
                              ", not " + spec_.target_arn);
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
                              {"GlobalClusterIdentifier", spec_.global_cluster_id}});
    call.what = "DescribeGlobalClusters of " + spec_.global_cluster_id;
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
      if (gc.Text("GlobalClusterIdentifier") != spec_.global_cluster_id) continue;
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
                     spec_.global_cluster_id + " in the answer",
                 false};
  }

  AuroraGlobalFailoverSpec spec_;
};

}  // namespace

Result<std::unique_ptr<Step>> NewAuroraGlobalFailoverStep(const YamlNode& body,
                                                          const StepFactoryContext&) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseAuroraGlobalFailoverSpec(body);
  if (!spec) return spec.error();
  StepCommon defaults;
  defaults.timeout = std::chrono::minutes(15);
  auto common = ParseStepCommon(body, defaults);
  if (!common) return common.error();
  return FinishStep<AuroraGlobalFailoverStep>(body, std::move(*spec), *common);
}

}  // namespace failover
