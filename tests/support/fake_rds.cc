#include "tests/support/fake_rds.h"

#include <mutex>
#include <set>
#include <stdexcept>

#include "common/xml.h"
#include "tests/support/aws_query.h"
#include "tests/support/fake_server.h"

namespace failover::testing {
namespace {

constexpr const char* kNs = "http://rds.amazonaws.com/doc/2014-10-31/";

HttpServerResponse ErrorXml(int status, const std::string& code, const std::string& message,
                            const std::string& type = "Sender") {
  return AwsErrorXml(status, kNs, code, message, type, "fake-rds-request");
}

struct Failover {
  std::string status;
  std::string from, to;
  bool data_loss = false;
  int polls_left = 0;
};

struct GlobalCluster {
  std::string id;
  std::vector<std::pair<std::string, bool>> members;  // arn, is_writer
  std::optional<Failover> failover;
};

std::string ClusterXml(const GlobalCluster& gc, const char* element) {
  std::string x =
      std::string("<") + element + "><GlobalClusterIdentifier>" + XmlEscape(gc.id) +
      "</GlobalClusterIdentifier><GlobalClusterResourceId>cluster-fake</"
      "GlobalClusterResourceId><GlobalClusterArn>arn:aws:rds::123456789012:global-"
      "cluster:" +
      XmlEscape(gc.id) + "</GlobalClusterArn><Status>" +
      (gc.failover ? (gc.failover->status == "switching-over" ? "switching-over" : "failing-over")
                   : "available") +
      "</Status><Engine>aurora-postgresql</Engine><GlobalClusterMembers>";
  for (const auto& [arn, writer] : gc.members) {
    x += "<GlobalClusterMember><DBClusterArn>" + XmlEscape(arn) +
         "</DBClusterArn><Readers/>"
         "<IsWriter>" +
         (writer ? "true" : "false") + "</IsWriter></GlobalClusterMember>";
  }
  x += "</GlobalClusterMembers>";
  if (gc.failover) {
    x += "<FailoverState><Status>" + gc.failover->status + "</Status><FromDbClusterArn>" +
         XmlEscape(gc.failover->from) + "</FromDbClusterArn><ToDbClusterArn>" +
         XmlEscape(gc.failover->to) + "</ToDbClusterArn><IsDataLossAllowed>" +
         (gc.failover->data_loss ? "true" : "false") + "</IsDataLossAllowed></FailoverState>";
  }
  return x + "</" + element + ">";
}

}  // namespace

struct FakeRds::State {
  mutable std::mutex mu;
  std::map<std::string, GlobalCluster> clusters;
  int failover_polls = 2;
  int fail_next = 0;
  int fail_status = 0;
  std::string fail_code;
  int fail_retry_after = -1;
  int fail_action_after = 0;
  int requests = 0;
  int describes = 0;
  int rejected_auth = 0;
  std::vector<std::map<std::string, std::string>> actions;
};

FakeRds::FakeRds(std::string region)
    : region_(std::move(region)), state_(std::make_unique<State>()) {
  server_ = StartFakeServer(
      "fake RDS", 4,
      {{"POST", "/", false, [this](const HttpServerRequest& r) { return Handle(r); }}});
}

FakeRds::~FakeRds() { server_.reset(); }

std::string FakeRds::base_url() const { return LocalBaseUrl(*server_); }

void FakeRds::AddGlobalCluster(const std::string& id, const std::string& writer_arn,
                               const std::vector<std::string>& secondary_arns) {
  std::lock_guard<std::mutex> l(state_->mu);
  GlobalCluster gc;
  gc.id = id;
  gc.members.emplace_back(writer_arn, true);
  for (const auto& a : secondary_arns) gc.members.emplace_back(a, false);
  state_->clusters[id] = gc;
}

void FakeRds::SetFailoverPolls(int n) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->failover_polls = n;
}

void FakeRds::FailNext(int n, int status, std::string code, int retry_after_seconds) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->fail_next = n;
  state_->fail_status = status;
  state_->fail_code = std::move(code);
  state_->fail_retry_after = retry_after_seconds;
}

void FakeRds::FailNextActionAfterApplying(int status) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->fail_action_after = status;
}

std::optional<std::string> FakeRds::Writer(const std::string& id) const {
  std::lock_guard<std::mutex> l(state_->mu);
  auto it = state_->clusters.find(id);
  if (it == state_->clusters.end()) return std::nullopt;
  for (const auto& [arn, w] : it->second.members) {
    if (w) return arn;
  }
  return std::string();
}

bool FakeRds::FailingOver(const std::string& id) const {
  std::lock_guard<std::mutex> l(state_->mu);
  auto it = state_->clusters.find(id);
  return it != state_->clusters.end() && it->second.failover.has_value();
}

int FakeRds::RequestCount() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->requests;
}
int FakeRds::DescribeCount() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->describes;
}
int FakeRds::ActionCount() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return static_cast<int>(state_->actions.size());
}
int FakeRds::RejectedAuth() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->rejected_auth;
}
std::vector<std::map<std::string, std::string>> FakeRds::Actions() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->actions;
}

HttpServerResponse FakeRds::Handle(const HttpServerRequest& req) {
  std::lock_guard<std::mutex> l(state_->mu);
  State& st = *state_;
  ++st.requests;
  AwsCredentials creds{kFakeAwsAccessKeyId, kFakeAwsSecretAccessKey, ""};
  if (auto fail = VerifySigV4(req, creds, region_, "rds")) {
    ++st.rejected_auth;
    return ErrorXml(fail->status, fail->code, fail->message);
  }
  if (st.fail_next > 0) {
    --st.fail_next;
    HttpServerResponse r =
        ErrorXml(st.fail_status, st.fail_code.empty() ? "InternalFailure" : st.fail_code,
                 st.fail_code == "Throttling" ? "Rate exceeded" : "Injected failure",
                 st.fail_status >= 500 ? "Receiver" : "Sender");
    if (st.fail_retry_after >= 0) {
      r.headers.emplace_back("Retry-After", std::to_string(st.fail_retry_after));
    }
    return r;
  }
  if (req.Header("content-type").rfind("application/x-www-form-urlencoded", 0) != 0) {
    return ErrorXml(400, "InvalidParameterValue",
                    "The Query API takes an application/x-www-form-urlencoded body");
  }
  const auto p = ParseAwsForm(req.body);
  auto param = [&p](const std::string& k) {
    auto it = p.find(k);
    return it == p.end() ? std::string() : it->second;
  };
  std::string action = param("Action");
  if (action.empty()) return ErrorXml(400, "MissingAction", "Action is missing");
  if (param("Version") != "2014-10-31") {
    return ErrorXml(400, "InvalidParameterValue",
                    "Unsupported Version \"" + param("Version") + "\"");
  }
  static const std::map<std::string, std::set<std::string>> kAllowed = {
      {"DescribeGlobalClusters",
       {"Action", "Version", "GlobalClusterIdentifier", "MaxRecords", "Marker"}},
      {"FailoverGlobalCluster",
       {"Action", "Version", "GlobalClusterIdentifier", "TargetDbClusterIdentifier",
        "AllowDataLoss", "Switchover"}},
      {"SwitchoverGlobalCluster",
       {"Action", "Version", "GlobalClusterIdentifier", "TargetDbClusterIdentifier"}},
  };
  auto allowed = kAllowed.find(action);
  if (allowed == kAllowed.end()) {
    return ErrorXml(400, "InvalidAction",
                    "The action " + action + " is not valid for this web service.");
  }
  for (const auto& [k, v] : p) {
    if (allowed->second.count(k) == 0) {
      return ErrorXml(400, "InvalidParameterValue", "Unknown parameter " + k + " for " + action);
    }
  }
  const std::string gid = param("GlobalClusterIdentifier");

  if (action == "DescribeGlobalClusters") {
    ++st.describes;
    std::string list;
    for (auto& [id, gc] : st.clusters) {
      if (!gid.empty() && id != gid) continue;
      if (gc.failover) {
        if (gc.failover->polls_left <= 0) {
          for (auto& [arn, w] : gc.members) w = arn == gc.failover->to;
          gc.failover.reset();
        } else {
          --gc.failover->polls_left;
          if (gc.failover->status == "pending") {
            gc.failover->status = gc.failover->data_loss ? "failing-over" : "switching-over";
          }
        }
      }
      list += ClusterXml(gc, "GlobalClusterMember");
    }
    if (!gid.empty() && list.empty()) {
      return ErrorXml(404, "GlobalClusterNotFoundFault", "Global cluster " + gid + " not found");
    }
    return AwsXml(200, std::string("<DescribeGlobalClustersResponse xmlns=\"") + kNs +
                           "\"><DescribeGlobalClustersResult><GlobalClusters>" + list +
                           "</GlobalClusters></DescribeGlobalClustersResult><ResponseMetadata>"
                           "<RequestId>fake-rds-request</RequestId></ResponseMetadata>"
                           "</DescribeGlobalClustersResponse>");
  }

  // FailoverGlobalCluster / SwitchoverGlobalCluster.
  const std::string target = param("TargetDbClusterIdentifier");
  if (gid.empty()) return ErrorXml(400, "MissingParameter", "GlobalClusterIdentifier is required");
  if (target.empty()) {
    return ErrorXml(400, "MissingParameter", "TargetDbClusterIdentifier is required");
  }
  bool data_loss = param("AllowDataLoss") == "true";
  bool switchover = action == "SwitchoverGlobalCluster" || param("Switchover") == "true";
  if (data_loss && param("Switchover") == "true") {
    return ErrorXml(400, "InvalidParameterCombination",
                    "AllowDataLoss and Switchover cannot both be true");
  }
  auto it = st.clusters.find(gid);
  if (it == st.clusters.end()) {
    return ErrorXml(404, "GlobalClusterNotFoundFault", "Global cluster " + gid + " not found");
  }
  GlobalCluster& gc = it->second;
  if (gc.failover) {
    return ErrorXml(400, "InvalidGlobalClusterStateFault",
                    "Global cluster " + gid + " is in state " + gc.failover->status);
  }
  std::string writer;
  bool member = false;
  for (const auto& [arn, w] : gc.members) {
    if (w) writer = arn;
    if (arn == target) member = true;
  }
  if (!member) {
    return ErrorXml(404, "DBClusterNotFoundFault",
                    "DBCluster " + target + " is not a member of global cluster " + gid);
  }
  if (writer == target) {
    return ErrorXml(400, "InvalidDBClusterStateFault",
                    "DBCluster " + target + " is already the primary cluster of " + gid);
  }
  gc.failover = Failover{"pending", writer, target, data_loss && !switchover, st.failover_polls};
  st.actions.push_back(p);
  if (st.fail_action_after != 0) {
    int status = st.fail_action_after;
    st.fail_action_after = 0;
    return ErrorXml(status, "InternalFailure", "Injected failure after applying", "Receiver");
  }
  return AwsXml(200, std::string("<") + action + "Response xmlns=\"" + kNs + "\"><" + action +
                         "Result>" + ClusterXml(gc, "GlobalCluster") + "</" + action +
                         "Result><ResponseMetadata><RequestId>fake-rds-request</RequestId>"
                         "</ResponseMetadata></" +
                         action + "Response>");
}

}  // namespace failover::testing
