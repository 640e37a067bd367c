#include "tests/support/fake_route53.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>
#include <tuple>

#include "common/xml.h"
#include "tests/support/fake_server.h"

namespace failover::testing {
namespace {

constexpr const char* kNs = "https://route53.amazonaws.com/doc/2013-04-01/";
constexpr const char* kPrefix = "/2013-04-01/";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Route 53 names: \ooo octal escapes decoded, lower case, trailing dot.
std::string Normalize(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\\' && i + 3 < in.size() && std::isdigit(static_cast<unsigned char>(in[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(in[i + 2])) &&
        std::isdigit(static_cast<unsigned char>(in[i + 3]))) {
      out += static_cast<char>((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 + (in[i + 3] - '0'));
      i += 3;
    } else {
      out += in[i];
    }
  }
  out = Lower(out);
  if (out.empty() || out.back() != '.') out += '.';
  return out;
}

// As Route 53 shows names: characters other than a-z, 0-9, '-', '_' and '.' as \ooo.
std::string Escape(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", static_cast<unsigned>(c));
      out += buf;
    }
  }
  return out;
}

std::string Reversed(const std::string& name) {
  std::vector<std::string> labels;
  size_t start = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (i > start) labels.push_back(name.substr(start, i - start));
      start = i + 1;
    }
  }
  std::string out;
  for (auto it = labels.rbegin(); it != labels.rend(); ++it) out += *it + ".";
  return out;
}

using Key = std::tuple<std::string, std::string, std::string>;  // reversed name, type, set id

Key KeyOf(const FakeRoute53RecordSet& s) { return {Reversed(s.name), s.type, s.set_identifier}; }

HttpServerResponse Xml(int status, std::string body) {
  HttpServerResponse r;
  r.status = status;
  r.content_type = "text/xml";
  r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + std::move(body);
  r.headers.emplace_back("x-amzn-RequestId", "fake-request-id");
  return r;
}

HttpServerResponse ErrorXml(int status, const std::string& code, const std::string& message,
                            const std::string& type = "Sender") {
  return Xml(status,
             std::string("<ErrorResponse xmlns=\"") + kNs + "\"><Error><Type>" + type +
                 "</Type><Code>" + code + "</Code><Message>" + XmlEscape(message) +
                 "</Message></Error><RequestId>fake-request-id</RequestId></ErrorResponse>");
}

HttpServerResponse InvalidChangeBatch(const std::vector<std::string>& messages) {
  std::string body = std::string("<InvalidChangeBatch xmlns=\"") + kNs + "\"><Messages>";
  for (const auto& m : messages) body += "<Message>" + XmlEscape(m) + "</Message>";
  body += "</Messages><RequestId>fake-request-id</RequestId></InvalidChangeBatch>";
  return Xml(400, body);
}

std::string RecordSetXml(const FakeRoute53RecordSet& s) {
  std::string x = "<ResourceRecordSet><Name>" + XmlEscape(Escape(s.name)) + "</Name><Type>" +
                  s.type + "</Type>";
  if (!s.set_identifier.empty()) {
    x += "<SetIdentifier>" + XmlEscape(s.set_identifier) + "</SetIdentifier>";
  }
  if (s.weight) x += "<Weight>" + std::to_string(*s.weight) + "</Weight>";
  if (!s.failover.empty()) x += "<Failover>" + s.failover + "</Failover>";
  if (!s.alias_dns_name.empty()) {
    x += "<AliasTarget><HostedZoneId>" + XmlEscape(s.alias_zone_id) + "</HostedZoneId><DNSName>" +
         XmlEscape(s.alias_dns_name) + "</DNSName><EvaluateTargetHealth>" +
         (s.evaluate_target_health ? "true" : "false") + "</EvaluateTargetHealth></AliasTarget>";
  } else {
    x += "<TTL>" + std::to_string(s.ttl) + "</TTL><ResourceRecords>";
    for (const auto& v : s.values)
      x += "<ResourceRecord><Value>" + XmlEscape(v) + "</Value></ResourceRecord>";
    x += "</ResourceRecords>";
  }
  if (!s.health_check_id.empty()) {
    x += "<HealthCheckId>" + XmlEscape(s.health_check_id) + "</HealthCheckId>";
  }
  return x + "</ResourceRecordSet>";
}

// What Route 53 says about a change, naming the set as its messages do.
std::string Describe(const std::string& action, const FakeRoute53RecordSet& s) {
  return "[Action=" + action + ", Name=" + Escape(s.name) + ", Type=" + s.type +
         ", SetIdentifier=" + (s.set_identifier.empty() ? "null" : s.set_identifier) + "]";
}

bool SameContent(const FakeRoute53RecordSet& a, const FakeRoute53RecordSet& b) {
  auto x = a.values, y = b.values;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  return x == y && a.ttl == b.ttl && a.weight == b.weight && a.failover == b.failover &&
         a.health_check_id == b.health_check_id &&
         Normalize(a.alias_dns_name) == Normalize(b.alias_dns_name) &&
         a.alias_zone_id == b.alias_zone_id && a.evaluate_target_health == b.evaluate_target_health;
}

bool InZone(const std::string& name, const std::string& zone) {
  return name == zone || (name.size() > zone.size() &&
                          name.compare(name.size() - zone.size(), zone.size(), zone) == 0 &&
                          name[name.size() - zone.size() - 1] == '.');
}

std::optional<std::string> BadValue(const std::string& type, const std::string& v) {
  unsigned char buf[16];
  if (type == "A" && inet_pton(AF_INET, v.c_str(), buf) != 1) {
    return "Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a "
           "valid IPv4 address) encountered with '" +
           v + "''";
  }
  if (type == "AAAA" && inet_pton(AF_INET6, v.c_str(), buf) != 1) {
    return "Invalid Resource Record: 'FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not "
           "a valid IPv6 address) encountered with '" +
           v + "''";
  }
  if ((type == "TXT" || type == "SPF") && (v.size() < 2 || v.front() != '"' || v.back() != '"')) {
    return "Invalid Resource Record: 'FATAL problem: InvalidCharacterString (Value should be "
           "enclosed in quotation marks) encountered with '" +
           v + "''";
  }
  return std::nullopt;
}

}  // namespace

struct FakeRoute53::State {
  mutable std::mutex mu;
  std::map<Key, FakeRoute53RecordSet> sets;
  struct Change {
    int polls = 0;
  };
  std::map<std::string, Change> changes;
  int next_change = 0;
  int pending_polls = 0;
  int fail_next = 0;
  int fail_status = 0;
  std::string fail_code;
  int fail_retry_after = -1;
  std::string session_token;
  int requests = 0;
  int lists = 0;
  int writes = 0;
  int get_changes = 0;
  int rejected_auth = 0;
  std::vector<std::string> change_bodies;
  std::set<std::pair<std::string, std::string>> alias_targets;  // zone id, normalised name
};

FakeRoute53::FakeRoute53(std::string zone)
    : zone_(Normalize(zone)), state_(std::make_unique<State>()) {
  server_ = StartFakeServer(
      "fake Route 53", 4,
      {{"GET", kPrefix, true, [this](const HttpServerRequest& r) { return Handle(r); }},
       {"POST", kPrefix, true, [this](const HttpServerRequest& r) { return Handle(r); }}});
}

FakeRoute53::~FakeRoute53() { server_.reset(); }

std::string FakeRoute53::base_url() const { return LocalBaseUrl(*server_); }

void FakeRoute53::Put(FakeRoute53RecordSet set) {
  std::lock_guard<std::mutex> l(state_->mu);
  set.name = Normalize(set.name);
  state_->sets[KeyOf(set)] = set;
}

void FakeRoute53::AddAliasTarget(const std::string& hosted_zone_id, const std::string& dns_name) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->alias_targets.emplace(hosted_zone_id, Normalize(dns_name));
}

std::optional<FakeRoute53RecordSet> FakeRoute53::Find(const std::string& name,
                                                      const std::string& type,
                                                      const std::string& set_identifier) const {
  std::lock_guard<std::mutex> l(state_->mu);
  auto it = state_->sets.find(Key{Reversed(Normalize(name)), type, set_identifier});
  if (it == state_->sets.end()) return std::nullopt;
  return it->second;
}

void FakeRoute53::SetPendingPolls(int n) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->pending_polls = n;
}

void FakeRoute53::FailNext(int n, int status, std::string code, int retry_after_seconds) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->fail_next = n;
  state_->fail_status = status;
  state_->fail_code = std::move(code);
  state_->fail_retry_after = retry_after_seconds;
}

void FakeRoute53::RequireSessionToken(std::string token) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->session_token = std::move(token);
}

int FakeRoute53::RequestCount() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->requests;
}
int FakeRoute53::ListRequests() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->lists;
}
int FakeRoute53::WriteCount() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->writes;
}
int FakeRoute53::GetChangeRequests() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->get_changes;
}
int FakeRoute53::RejectedAuth() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->rejected_auth;
}
std::vector<std::string> FakeRoute53::ChangeBodies() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->change_bodies;
}

HttpServerResponse FakeRoute53::Handle(const HttpServerRequest& req) {
  std::lock_guard<std::mutex> l(state_->mu);
  State& st = *state_;
  ++st.requests;
  AwsCredentials creds{kFakeAwsAccessKeyId, kFakeAwsSecretAccessKey, st.session_token};
  if (auto fail = VerifySigV4(req, creds, "us-east-1", "route53")) {
    ++st.rejected_auth;
    return ErrorXml(fail->status, fail->code, fail->message);
  }
  if (st.fail_next > 0) {
    --st.fail_next;
    HttpServerResponse r =
        st.fail_code.empty()
            ? Xml(st.fail_status, "<ErrorResponse xmlns=\"" + std::string(kNs) +
                                      "\"><Error><Type>Receiver</Type><Code>ServiceUnavailable</"
                                      "Code><Message>Service unavailable</Message></Error>"
                                      "<RequestId>fake-request-id</RequestId></ErrorResponse>")
            : ErrorXml(st.fail_status, st.fail_code,
                       st.fail_code == "Throttling" ? "Rate exceeded"
                                                    : "Injected failure " + st.fail_code,
                       st.fail_status >= 500 ? "Receiver" : "Sender");
    if (st.fail_retry_after >= 0) {
      r.headers.emplace_back("Retry-After", std::to_string(st.fail_retry_after));
    }
    return r;
  }

  const std::string zone_path = std::string(kPrefix) + "hostedzone/";
  const std::string change_path = std::string(kPrefix) + "change/";
  if (req.method == "GET" && req.path.rfind(change_path, 0) == 0) {
    ++st.get_changes;
    std::string id = req.path.substr(change_path.size());
    auto it = st.changes.find(id);
    if (it == st.changes.end()) {
      return ErrorXml(404, "NoSuchChange", "A change with the specified change ID does not exist.");
    }
    std::string status = it->second.polls < st.pending_polls ? "PENDING" : "INSYNC";
    ++it->second.polls;
    return Xml(200, std::string("<GetChangeResponse xmlns=\"") + kNs +
                        "\"><ChangeInfo><Id>/change/" + id + "</Id><Status>" + status +
                        "</Status><SubmittedAt>2026-11-22T00:00:00.000Z</SubmittedAt></ChangeInfo>"
                        "</GetChangeResponse>");
  }
  if (req.path.rfind(zone_path, 0) != 0) {
    return ErrorXml(404, "UnknownOperationException", "Unknown operation " + req.path);
  }
  std::string rest = req.path.substr(zone_path.size());
  size_t slash = rest.find('/');
  std::string zone_id = rest.substr(0, slash);
  std::string tail = slash == std::string::npos ? "" : rest.substr(slash);
  if ((req.method == "GET" && tail != "/rrset") || (req.method == "POST" && tail != "/rrset/")) {
    return ErrorXml(404, "UnknownOperationException",
                    "Unknown operation " + req.method + " " + req.path);
  }
  if (zone_id != kZoneId) {
    return ErrorXml(404, "NoSuchHostedZone", "No hosted zone found with ID: " + zone_id);
  }

  if (req.method == "GET") {
    ++st.lists;
    std::string name = req.QueryParam("name");
    std::string type = req.QueryParam("type");
    std::string identifier = req.QueryParam("identifier");
    std::string max = req.QueryParam("maxitems");
    if (!type.empty() && name.empty()) {
      return ErrorXml(400, "InvalidInput", "The input is not valid: type requires name");
    }
    if (!identifier.empty() && type.empty()) {
      return ErrorXml(400, "InvalidInput", "The input is not valid: identifier requires type");
    }
    int maxitems = 300;
    if (!max.empty()) {
      try {
        maxitems = std::stoi(max);
      } catch (...) {
        maxitems = -1;
      }
      if (maxitems < 1 || maxitems > 300) {
        return ErrorXml(400, "InvalidInput", "The input is not valid: maxitems");
      }
    }
    Key start{name.empty() ? "" : Reversed(Normalize(name)), type, identifier};
    auto it = st.sets.lower_bound(start);
    std::string body =
        std::string("<ListResourceRecordSetsResponse xmlns=\"") + kNs + "\"><ResourceRecordSets>";
    int n = 0;
    for (; it != st.sets.end() && n < maxitems; ++it, ++n) body += RecordSetXml(it->second);
    body += "</ResourceRecordSets>";
    if (it != st.sets.end()) {
      body += "<IsTruncated>true</IsTruncated><NextRecordName>" +
              XmlEscape(Escape(it->second.name)) + "</NextRecordName><NextRecordType>" +
              it->second.type + "</NextRecordType>";
      if (!it->second.set_identifier.empty()) {
        body += "<NextRecordIdentifier>" + XmlEscape(it->second.set_identifier) +
                "</NextRecordIdentifier>";
      }
    } else {
      body += "<IsTruncated>false</IsTruncated>";
    }
    body +=
        "<MaxItems>" + std::to_string(maxitems) + "</MaxItems></ListResourceRecordSetsResponse>";
    return Xml(200, body);
  }

  // ChangeResourceRecordSets.
  if (req.body.find(std::string("xmlns=\"") + kNs + "\"") == std::string::npos) {
    return ErrorXml(400, "InvalidInput", "Could not parse the request: wrong or missing namespace");
  }
  auto doc = ParseXml(req.body);
  if (!doc || doc->name != "ChangeResourceRecordSetsRequest") {
    return ErrorXml(400, "InvalidInput",
                    "Could not parse the request body as ChangeResourceRecordSetsRequest");
  }
  const XmlElement* changes =
      doc->Child("ChangeBatch") ? doc->Child("ChangeBatch")->Child("Changes") : nullptr;
  if (changes == nullptr || changes->Children("Change").empty()) {
    return ErrorXml(400, "InvalidInput", "ChangeBatch.Changes must have at least one Change");
  }
  auto sets = st.sets;  // applied on a copy: the batch is atomic
  std::vector<std::string> errors;
  for (const XmlElement* ch : changes->Children("Change")) {
    std::string action = ch->Text("Action");
    const XmlElement* rrs = ch->Child("ResourceRecordSet");
    if ((action != "CREATE" && action != "DELETE" && action != "UPSERT") || rrs == nullptr) {
      return ErrorXml(400, "InvalidInput", "Invalid Action or missing ResourceRecordSet");
    }
    FakeRoute53RecordSet s;
    s.name = Normalize(rrs->Text("Name"));
    s.type = rrs->Text("Type");
    s.set_identifier = rrs->Text("SetIdentifier");
    static const std::set<std::string> kTypes = {"A",   "AAAA", "CNAME", "TXT", "MX",    "NS",
                                                 "SRV", "CAA",  "PTR",   "SPF", "NAPTR", "DS"};
    if (rrs->Text("Name").empty() || kTypes.count(s.type) == 0) {
      return ErrorXml(400, "InvalidInput", "Invalid Name or Type in ResourceRecordSet");
    }
    const XmlElement* alias = rrs->Child("AliasTarget");
    const bool has_records = rrs->Child("ResourceRecords") != nullptr;
    if (alias != nullptr && (has_records || rrs->Child("TTL") != nullptr)) {
      return ErrorXml(400, "InvalidInput",
                      "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and "
                      "ResourceRecords], or TrafficPolicyInstanceId], but found more than one in "
                      "Change with " +
                          Describe(action, s));
    }
    if (alias != nullptr) {
      s.alias_zone_id = alias->Text("HostedZoneId");
      s.alias_dns_name = Normalize(alias->Text("DNSName"));
      std::string eth = alias->Text("EvaluateTargetHealth");
      if (s.alias_zone_id.empty() || alias->Text("DNSName").empty() ||
          (eth != "true" && eth != "false")) {
        return ErrorXml(400, "InvalidInput",
                        "Invalid request: AliasTarget needs HostedZoneId, DNSName and "
                        "EvaluateTargetHealth (true|false) in Change with " +
                            Describe(action, s));
      }
      s.evaluate_target_health = eth == "true";
      s.ttl = 0;
    } else {
      std::string ttl = rrs->Text("TTL");
      try {
        s.ttl = std::stoi(ttl);
      } catch (...) {
        return ErrorXml(400, "InvalidInput",
                        "Invalid request: Missing field 'TTL' or not a number");
      }
      if (s.ttl < 0) return ErrorXml(400, "InvalidInput", "TTL must not be negative");
      if (const XmlElement* recs = rrs->Child("ResourceRecords")) {
        for (const XmlElement* r : recs->Children("ResourceRecord"))
          s.values.push_back(r->Text("Value"));
      }
      if (s.values.empty()) {
        return ErrorXml(400, "InvalidInput",
                        "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and "
                        "ResourceRecords], or TrafficPolicyInstanceId], but found none in Change "
                        "with " +
                            Describe(action, s));
      }
    }
    if (rrs->Child("Weight") != nullptr) {
      int w = -1;
      try {
        w = std::stoi(rrs->Text("Weight"));
      } catch (...) {
      }
      if (w < 0 || w > 255) {
        return ErrorXml(400, "InvalidInput",
                        "1 validation error detected: Value '" + rrs->Text("Weight") +
                            "' at 'changeBatch.changes.1.member.resourceRecordSet.weight' failed "
                            "to satisfy constraint: Member must have value less than or equal to "
                            "255");
      }
      s.weight = w;
    }
    s.failover = rrs->Text("Failover");
    if (!s.failover.empty() && s.failover != "PRIMARY" && s.failover != "SECONDARY") {
      return ErrorXml(400, "InvalidInput",
                      "1 validation error detected: Value '" + s.failover +
                          "' at 'changeBatch.changes.1.member.resourceRecordSet.failover' failed "
                          "to satisfy constraint: Member must satisfy enum value set: "
                          "[SECONDARY, PRIMARY]");
    }
    s.health_check_id = rrs->Text("HealthCheckId");
    if ((s.weight || !s.failover.empty()) && s.set_identifier.empty()) {
      return ErrorXml(
          400, "InvalidInput",
          "Invalid request: Missing field 'SetIdentifier' in Change with " + Describe(action, s));
    }
    if (!s.set_identifier.empty() && !s.weight && s.failover.empty()) {
      return ErrorXml(400, "InvalidInput",
                      "Invalid request: Missing field 'Weight' or another routing policy in "
                      "Change with " +
                          Describe(action, s));
    }
    if (s.weight && !s.failover.empty()) {
      return ErrorXml(400, "InvalidInput",
                      "Invalid request: a resource record set has one routing policy, found "
                      "Weight and Failover in Change with " +
                          Describe(action, s));
    }
    std::string what = "resource record set [name='" + Escape(s.name) + "', type='" + s.type + "']";
    if (!InZone(s.name, zone_)) {
      errors.push_back("[RRSet with DNS name " + Escape(s.name) + " is not permitted in zone " +
                       zone_ + "]");
      continue;
    }
    if (!s.alias_dns_name.empty() && action != "DELETE" &&
        st.alias_targets.count({s.alias_zone_id, s.alias_dns_name}) == 0) {
      errors.push_back("[Tried to create an alias that targets " + s.alias_dns_name + ", type " +
                       s.type + " in zone " + s.alias_zone_id +
                       ", but the alias target name does not lie within the target zone]");
      continue;
    }
    if (s.alias_dns_name.empty() && s.type == "CNAME" && s.values.size() != 1) {
      errors.push_back("[Invalid Resource Record: CNAME must have exactly one value]");
      continue;
    }
    bool bad = false;
    for (const auto& v : s.values) {
      if (auto e = BadValue(s.type, v)) {
        errors.push_back("[" + *e + "]");
        bad = true;
      }
    }
    if (bad) continue;
    auto it = sets.find(KeyOf(s));
    if (action == "CREATE") {
      if (it != sets.end()) {
        errors.push_back("[Tried to create " + what + " but it already exists]");
        continue;
      }
      sets[KeyOf(s)] = s;
    } else if (action == "DELETE") {
      if (it == sets.end()) {
        errors.push_back("[Tried to delete " + what + " but it was not found]");
        continue;
      }
      if (!SameContent(it->second, s)) {
        errors.push_back("[Tried to delete " + what +
                         " but the values provided do not match the current values]");
        continue;
      }
      sets.erase(it);
    } else {
      sets[KeyOf(s)] = s;
    }
  }
  // The batch's end state: one routing policy per name and type, at most one failover
  // PRIMARY and one SECONDARY.
  std::map<std::pair<std::string, std::string>, std::vector<const FakeRoute53RecordSet*>> groups;
  for (const auto& [k, v] : sets) groups[{v.name, v.type}].push_back(&v);
  for (const auto& [nt, members] : groups) {
    if (members.size() < 2) continue;
    int simple = 0, weighted = 0, primary = 0, secondary = 0;
    for (const FakeRoute53RecordSet* m : members) {
      if (m->set_identifier.empty()) ++simple;
      if (m->weight) ++weighted;
      if (m->failover == "PRIMARY") ++primary;
      if (m->failover == "SECONDARY") ++secondary;
    }
    if (simple > 0) {
      errors.push_back("[RRSet with DNS name " + Escape(nt.first) + " and type " + nt.second +
                       " cannot be created as a non-weighted set exists with the same name and "
                       "type.]");
    } else if (weighted > 0 && weighted != static_cast<int>(members.size())) {
      errors.push_back("[RRSet with DNS name " + Escape(nt.first) + " and type " + nt.second +
                       " cannot be created because a record set with a different routing "
                       "policy exists with the same name and type.]");
    } else if (primary > 1 || secondary > 1) {
      errors.push_back("[Tried to create resource record set [name='" + Escape(nt.first) +
                       "', type='" + nt.second + "'] but a failover " +
                       (primary > 1 ? "PRIMARY" : "SECONDARY") +
                       " record set already exists with the same name and type]");
    }
  }
  if (!errors.empty()) return InvalidChangeBatch(errors);
  st.sets = std::move(sets);
  ++st.writes;
  st.change_bodies.push_back(req.body);
  std::string id = "C" + std::to_string(++st.next_change) + "FAKE";
  st.changes[id] = {};
  return Xml(200, std::string("<ChangeResourceRecordSetsResponse xmlns=\"") + kNs +
                      "\"><ChangeInfo><Id>/change/" + id +
                      "</Id><Status>PENDING</Status><SubmittedAt>2026-11-22T00:00:00.000Z</"
                      "SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>");
}

}  // namespace failover::testing
