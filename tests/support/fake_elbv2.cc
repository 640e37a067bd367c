#include "tests/support/fake_elbv2.h"

#include <mutex>
#include <set>
#include <stdexcept>

#include "common/xml.h"
#include "tests/support/aws_query.h"
#include "tests/support/fake_server.h"

namespace failover::testing {
namespace {

constexpr const char* kNs = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";

HttpServerResponse ErrorXml(int status, const std::string& code, const std::string& message,
                            const std::string& type = "Sender") {
  return AwsErrorXml(status, kNs, code, message, type, "fake-elbv2-request");
}

struct Target {
  std::string state;  // initial, healthy, draining
  int polls_left = 0;
};

}  // namespace

struct FakeElbv2::State_ {
  mutable std::mutex mu;
  // arn -> "id:port" -> target
  std::map<std::string, std::map<std::string, Target>> groups;
  int initial_polls = 1;
  int draining_polls = 2;
  int fail_next = 0;
  int fail_status = 0;
  std::string fail_code;
  int actions = 0;
  int describes = 0;
  int rejected_auth = 0;
};

FakeElbv2::FakeElbv2(std::string region)
    : region_(std::move(region)), st_(std::make_unique<State_>()) {
  server_ = StartFakeServer(
      "fake ELBv2", 4,
      {{"POST", "/", false, [this](const HttpServerRequest& r) { return Handle(r); }}});
}

FakeElbv2::~FakeElbv2() { server_.reset(); }

std::string FakeElbv2::base_url() const { return LocalBaseUrl(*server_); }

void FakeElbv2::AddTargetGroup(const std::string& arn) {
  std::lock_guard<std::mutex> l(st_->mu);
  st_->groups[arn];
}

void FakeElbv2::AddTarget(const std::string& arn, const std::string& id, int port) {
  std::lock_guard<std::mutex> l(st_->mu);
  st_->groups[arn][id + ":" + std::to_string(port)] = {"healthy", 0};
}

void FakeElbv2::SetInitialPolls(int n) {
  std::lock_guard<std::mutex> l(st_->mu);
  st_->initial_polls = n;
}

void FakeElbv2::SetDrainingPolls(int n) {
  std::lock_guard<std::mutex> l(st_->mu);
  st_->draining_polls = n;
  for (auto& [arn, group] : st_->groups) {
    for (auto& [key, t] : group) {
      if (t.state == "draining") t.polls_left = n;
    }
  }
}

void FakeElbv2::FailNext(int n, int status, std::string code) {
  std::lock_guard<std::mutex> l(st_->mu);
  st_->fail_next = n;
  st_->fail_status = status;
  st_->fail_code = std::move(code);
}

std::string FakeElbv2::State(const std::string& arn, const std::string& id, int port) const {
  std::lock_guard<std::mutex> l(st_->mu);
  auto g = st_->groups.find(arn);
  if (g == st_->groups.end()) return "";
  auto t = g->second.find(id + ":" + std::to_string(port));
  return t == g->second.end() ? "" : t->second.state;
}

int FakeElbv2::Actions() const {
  std::lock_guard<std::mutex> l(st_->mu);
  return st_->actions;
}
int FakeElbv2::Describes() const {
  std::lock_guard<std::mutex> l(st_->mu);
  return st_->describes;
}
int FakeElbv2::RejectedAuth() const {
  std::lock_guard<std::mutex> l(st_->mu);
  return st_->rejected_auth;
}

HttpServerResponse FakeElbv2::Handle(const HttpServerRequest& req) {
  std::lock_guard<std::mutex> l(st_->mu);
  State_& st = *st_;
  AwsCredentials creds{kFakeAwsAccessKeyId, kFakeAwsSecretAccessKey, ""};
  if (auto fail = VerifySigV4(req, creds, region_, "elasticloadbalancing")) {
    ++st.rejected_auth;
    return ErrorXml(fail->status, fail->code, fail->message);
  }
  if (st.fail_next > 0) {
    --st.fail_next;
    return ErrorXml(st.fail_status, st.fail_code.empty() ? "InternalFailure" : st.fail_code,
                    st.fail_code == "Throttling" ? "Rate exceeded" : "Injected failure",
                    st.fail_status >= 500 ? "Receiver" : "Sender");
  }
  const auto p = ParseAwsForm(req.body);
  auto param = [&p](const std::string& k) {
    auto it = p.find(k);
    return it == p.end() ? std::string() : it->second;
  };
  const std::string action = param("Action");
  if (action.empty()) return ErrorXml(400, "MissingAction", "Action is missing");
  if (param("Version") != "2015-12-01") {
    return ErrorXml(400, "InvalidParameterValue",
                    "Unsupported Version \"" + param("Version") + "\"");
  }
  if (action != "DescribeTargetHealth" && action != "RegisterTargets" &&
      action != "DeregisterTargets") {
    return ErrorXml(400, "InvalidAction",
                    "The action " + action + " is not valid for this web service.");
  }
  // Targets.member.N.Id / .Port
  std::map<int, std::pair<std::string, std::string>> targets;
  for (const auto& [k, v] : p) {
    if (k == "Action" || k == "Version" || k == "TargetGroupArn") continue;
    int n = 0;
    char field[8] = {0};
    if (std::sscanf(k.c_str(), "Targets.member.%d.%7s", &n, field) == 2 && n >= 1) {
      if (std::string(field) == "Id") {
        targets[n].first = v;
        continue;
      }
      if (std::string(field) == "Port") {
        targets[n].second = v;
        continue;
      }
    }
    return ErrorXml(400, "ValidationError", "Unknown parameter " + k + " for " + action);
  }
  const std::string arn = param("TargetGroupArn");
  if (arn.empty()) return ErrorXml(400, "ValidationError", "TargetGroupArn is required");
  auto g = st.groups.find(arn);
  if (g == st.groups.end()) {
    return ErrorXml(400, "TargetGroupNotFound", "One or more target groups not found");
  }
  auto& group = g->second;
  const std::string response = action + "Response";
  const std::string tail =
      "<ResponseMetadata><RequestId>fake-elbv2-request</RequestId>"
      "</ResponseMetadata></" +
      response + ">";

  if (action == "DescribeTargetHealth") {
    ++st.describes;
    // Time passes with each describe: initial -> healthy, draining -> gone.
    for (auto it = group.begin(); it != group.end();) {
      Target& t = it->second;
      if (t.state != "healthy" && t.polls_left-- <= 0) {
        if (t.state == "draining") {
          it = group.erase(it);
          continue;
        }
        t.state = "healthy";
      }
      ++it;
    }
    auto member = [](const std::string& id, const std::string& port, const std::string& state,
                     const std::string& reason) {
      std::string x = "<member><Target><Id>" + XmlEscape(id) + "</Id>";
      if (!port.empty()) x += "<Port>" + port + "</Port>";
      x += "</Target><HealthCheckPort>" + (port.empty() ? std::string("80") : port) +
           "</HealthCheckPort><TargetHealth><State>" + state + "</State>";
      if (!reason.empty()) x += "<Reason>" + reason + "</Reason><Description>fake</Description>";
      return x + "</TargetHealth></member>";
    };
    auto reason_of = [](const std::string& state) {
      return state == "draining"  ? std::string("Target.DeregistrationInProgress")
             : state == "initial" ? std::string("Elb.RegistrationInProgress")
                                  : std::string();
    };
    std::string list;
    if (targets.empty()) {
      for (const auto& [key, t] : group) {
        size_t c = key.rfind(':');
        list += member(key.substr(0, c), key.substr(c + 1), t.state, reason_of(t.state));
      }
    } else {
      for (const auto& [n, idport] : targets) {
        bool found = false;
        for (const auto& [key, t] : group) {
          size_t c = key.rfind(':');
          if (key.substr(0, c) != idport.first) continue;
          if (!idport.second.empty() && key.substr(c + 1) != idport.second) continue;
          list += member(key.substr(0, c), key.substr(c + 1), t.state, reason_of(t.state));
          found = true;
        }
        if (!found) list += member(idport.first, idport.second, "unused", "Target.NotRegistered");
      }
    }
    return AwsXml(200, "<" + response + " xmlns=\"" + kNs +
                           "\"><DescribeTargetHealthResult><TargetHealthDescriptions>" + list +
                           "</TargetHealthDescriptions></DescribeTargetHealthResult>" + tail);
  }

  if (targets.empty()) return ErrorXml(400, "ValidationError", "Targets is required");
  for (const auto& [n, idport] : targets) {
    if (idport.first.empty()) {
      return ErrorXml(400, "ValidationError",
                      "Targets.member." + std::to_string(n) + ".Id is required");
    }
  }
  for (const auto& [n, idport] : targets) {
    const std::string key = idport.first + ":" + (idport.second.empty() ? "80" : idport.second);
    auto it = group.find(key);
    if (action == "RegisterTargets") {
      if (it == group.end() || it->second.state == "draining") {
        group[key] = {"initial", st.initial_polls};
      }
    } else if (it != group.end() && it->second.state != "draining") {
      it->second = {"draining", st.draining_polls};
    }
  }
  ++st.actions;
  return AwsXml(200, "<" + response + " xmlns=\"" + kNs + "\"><" + action + "Result/>" + tail);
}

}  // namespace failover::testing
