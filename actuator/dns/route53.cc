#include "actuator/dns/route53.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "actuator/dns/rest_api.h"
#include "common/aws_api.h"
#include "common/config_fields.h"
#include "common/log.h"

namespace failover {
namespace {

constexpr const char* kDefaultUrl = "https://route53.amazonaws.com";
constexpr const char* kNs = "https://route53.amazonaws.com/doc/2013-04-01/";
constexpr int kMaxPages = 100;

// What a route53: provider block says.
struct Route53Spec {
  std::string zone_id;            // without the /hostedzone/ prefix: Z0123456789ABC
  std::string url = kDefaultUrl;  // without a trailing / or /2013-04-01
  Duration poll_interval = std::chrono::seconds(3);  // between GetChange calls until INSYNC
  // access_key_id / secret_access_key / session_token (each also _file/_env), or AWS_*.
  AwsCredentialSource credentials;
};

Result<Route53Spec> ParseRoute53Spec(const YamlNode& body) {
  Route53Spec spec;
  auto zid = RequireField<std::string>(body, "hosted_zone_id");
  if (!zid) return zid.error();
  std::string zone_id = zid->value;
  if (zone_id.rfind("/hostedzone/", 0) == 0) zone_id = zone_id.substr(12);
  if (zone_id.empty() || !std::all_of(zone_id.begin(), zone_id.end(),
                                      [](unsigned char c) { return std::isalnum(c) != 0; })) {
    return zid->node.Fail("expected a hosted zone id like Z0123456789ABC, found \"" + zid->value +
                          "\"");
  }
  spec.zone_id = std::move(zone_id);
  auto url = ParseApiUrl(body, "url", "/2013-04-01");
  if (!url) return url.error();
  if (*url) spec.url = **url;
  auto poll =
      ParsePositiveDuration(body, "poll_interval", std::chrono::minutes(5), spec.poll_interval);
  if (!poll) return poll.error();
  spec.poll_interval = *poll;
  auto creds = AwsCredentialSource::FromYaml(body);
  if (!creds) return creds.error();
  spec.credentials = std::move(*creds);
  return spec;
}

class Route53Provider final : public DnsProvider {
 public:
  Route53Provider(Route53Spec spec, AwsApi api, Clock* clock)
      : spec_(std::move(spec)), api_(std::move(api)), clock_(clock) {}

  const std::string& kind() const override {
    static const std::string k = "route53";
    return k;
  }

  bool Supports(DnsFeature) const override { return true; }

  Result<std::optional<DnsRecordSet>> Get(const std::string& zone, const std::string& name,
                                          const std::string& type, MonoTime deadline) override {
    (void)zone;
    auto sets = Collect(Fqdn(name), type, /*first_only=*/true, deadline);
    if (!sets) return sets.error();
    if (sets->empty()) return std::optional<DnsRecordSet>();
    DnsRecordSet& s = sets->front();
    if (!s.set_identifier.empty()) {
      return Error::Invalid(
          "route53: reading " + s.name + " " + type + " in hosted zone " + spec_.zone_id +
          ": the record set uses a routing policy (SetIdentifier " + s.set_identifier +
          "); name the record set with SetIdentifier (dns_update) or use "
          "dns_weights");
    }
    if (s.records.empty() && !s.alias) return std::optional<DnsRecordSet>();
    return std::optional<DnsRecordSet>(std::move(s));
  }

  Result<std::vector<DnsRecordSet>> ListSets(const std::string& zone, const std::string& name,
                                             const std::string& type, MonoTime deadline) override {
    (void)zone;
    return Collect(Fqdn(name), type, /*first_only=*/false, deadline);
  }

  Status Set(const std::string& zone, const DnsRecordSet& desired, MonoTime deadline) override {
    const std::string name = Fqdn(desired.name);
    DnsRecordSet change = desired;
    change.name = name;
    if (desired.records.empty() && !desired.alias) {
      // Route 53 deletes only an exact match of what is there: read it first.
      auto current = Get(zone, name, desired.type, deadline);
      if (!current) return current.error();
      if (!*current) return {};
      return Change("DELETE", {**current}, deadline);
    }
    return Change("UPSERT", {change}, deadline);
  }

  Status Upsert(const std::string& zone, const std::vector<DnsRecordSet>& sets,
                MonoTime deadline) override {
    (void)zone;
    if (sets.empty()) return {};
    return Change("UPSERT", sets, deadline);
  }

 private:
  // The record sets at `want` + `type`, from ListResourceRecordSets (one per page with
  // first_only, else up to 100), following the pages while they stay on the name and type.
  Result<std::vector<DnsRecordSet>> Collect(const std::string& want, const std::string& type,
                                            bool first_only, MonoTime deadline) {
    AwsCall call;
    call.method = "GET";
    call.path = "/2013-04-01/hostedzone/" + AwsUriEncode(spec_.zone_id, true) + "/rrset";
    call.what = "reading " + want + " " + type + " in hosted zone " + spec_.zone_id;
    std::vector<DnsRecordSet> out;
    std::string identifier;
    for (int page = 0; page < kMaxPages; ++page) {
      call.query = "name=" + AwsUriEncode(want, true) + "&type=" + AwsUriEncode(type, true) +
                   (identifier.empty() ? "" : "&identifier=" + AwsUriEncode(identifier, true)) +
                   "&maxitems=" + (first_only ? "1" : "100");
      auto resp = api_.Send(call, deadline);
      if (!resp) return resp.error();
      auto doc = ParseXml(resp->body);
      if (!doc || doc->name != "ListResourceRecordSetsResponse") {
        return Unexpected(*resp, call.what);
      }
      const XmlElement* sets = doc->Child("ResourceRecordSets");
      if (sets == nullptr) return Unexpected(*resp, call.what);
      for (const XmlElement* s : sets->Children("ResourceRecordSet")) {
        if (Route53Name(s->Text("Name")) != want || s->Text("Type") != type) {
          return out;  // the listing has moved past the name
        }
        auto parsed = ParseSet(*s, call.what);
        if (!parsed) return parsed.error();
        out.push_back(std::move(*parsed));
        if (first_only) return out;
      }
      // Look further only while the listing stays on our name and type.
      if (doc->Text("IsTruncated") != "true" || Route53Name(doc->Text("NextRecordName")) != want ||
          doc->Text("NextRecordType") != type) {
        return out;
      }
      identifier = doc->Text("NextRecordIdentifier");
    }
    return Error::Invalid("route53: " + call.what + ": more than " + std::to_string(kMaxPages) +
                          " pages for one name and type");
  }

  static Result<DnsRecordSet> ParseSet(const XmlElement& s, const std::string& what) {
    for (const char* policy : {"Region", "GeoLocation", "MultiValueAnswer", "GeoProximityLocation",
                               "CidrRoutingConfig", "TrafficPolicyInstanceId"}) {
      if (s.Child(policy) != nullptr) {
        return Error::Invalid("route53: " + what + ": the record set (SetIdentifier " +
                              s.Text("SetIdentifier") + ") uses a routing policy with " + policy +
                              "; only simple, alias, weighted and failover record sets can be "
                              "managed");
      }
    }
    DnsRecordSet out;
    out.name = Route53Name(s.Text("Name"));
    out.type = s.Text("Type");
    std::string ttl = s.Text("TTL");
    out.ttl = ttl.empty() ? 0 : std::atoi(ttl.c_str());
    if (const XmlElement* recs = s.Child("ResourceRecords")) {
      for (const XmlElement* r : recs->Children("ResourceRecord")) {
        out.records.push_back(r->Text("Value"));
      }
    }
    std::sort(out.records.begin(), out.records.end());
    if (const XmlElement* a = s.Child("AliasTarget")) {
      out.alias = DnsAliasTarget{a->Text("HostedZoneId"), Route53Name(a->Text("DNSName")),
                                 a->Text("EvaluateTargetHealth") == "true"};
    }
    out.set_identifier = s.Text("SetIdentifier");
    if (s.Child("Weight") != nullptr) out.weight = std::atoi(s.Text("Weight").c_str());
    out.failover = s.Text("Failover");
    out.health_check_id = s.Text("HealthCheckId");
    return out;
  }

  // One ResourceRecordSet element, in the order of the API reference.
  static std::string SetXml(const DnsRecordSet& s) {
    std::string x = "<ResourceRecordSet><Name>" + XmlEscape(Fqdn(s.name)) + "</Name><Type>" +
                    XmlEscape(s.type) + "</Type>";
    if (!s.set_identifier.empty()) {
      x += "<SetIdentifier>" + XmlEscape(s.set_identifier) + "</SetIdentifier>";
    }
    if (s.weight) x += "<Weight>" + std::to_string(*s.weight) + "</Weight>";
    if (!s.failover.empty()) x += "<Failover>" + XmlEscape(s.failover) + "</Failover>";
    if (s.alias) {
      x += "<AliasTarget><HostedZoneId>" + XmlEscape(s.alias->hosted_zone_id) +
           "</HostedZoneId><DNSName>" + XmlEscape(s.alias->dns_name) +
           "</DNSName><EvaluateTargetHealth>" +
           (s.alias->evaluate_target_health ? "true" : "false") +
           "</EvaluateTargetHealth></AliasTarget>";
    } else {
      x += "<TTL>" + std::to_string(s.ttl) + "</TTL><ResourceRecords>";
      for (const std::string& r : s.records) {
        x += "<ResourceRecord><Value>" + XmlEscape(r) + "</Value></ResourceRecord>";
      }
      x += "</ResourceRecords>";
    }
    if (!s.health_check_id.empty()) {
      x += "<HealthCheckId>" + XmlEscape(s.health_check_id) + "</HealthCheckId>";
    }
    return x + "</ResourceRecordSet>";
  }

  // One ChangeResourceRecordSets batch (atomic: all or none), then GetChange until INSYNC.
  Status Change(const std::string& action, const std::vector<DnsRecordSet>& sets,
                MonoTime deadline) {
    AwsCall call;
    call.method = "POST";
    call.path = "/2013-04-01/hostedzone/" + AwsUriEncode(spec_.zone_id, true) + "/rrset/";
    call.content_type = "application/xml";
    call.idempotent = action == "UPSERT";  // a repeated DELETE fails: re-read instead
    std::string names;
    for (const DnsRecordSet& s : sets) {
      if (!names.empty()) names += ", ";
      names += Fqdn(s.name) + " " + s.type +
               (s.set_identifier.empty() ? "" : " (SetIdentifier " + s.set_identifier + ")");
    }
    call.what = (action == "DELETE" ? "deleting " : "updating ") + names + " in hosted zone " +
                spec_.zone_id;
    std::string body = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") +
                       "<ChangeResourceRecordSetsRequest xmlns=\"" + kNs +
                       "\"><ChangeBatch><Comment>failover</Comment><Changes>";
    for (const DnsRecordSet& s : sets) {
      body += "<Change><Action>" + action + "</Action>" + SetXml(s) + "</Change>";
    }
    body += "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>";
    call.body = std::move(body);
    auto resp = api_.Send(call, deadline);
    if (!resp) return resp.error();
    auto doc = ParseXml(resp->body);
    std::string id = doc ? doc->Text("ChangeInfo/Id") : "";
    if (id.empty()) return Unexpected(*resp, call.what);
    if (id.rfind("/change/", 0) == 0) id = id.substr(8);
    std::string status = doc->Text("ChangeInfo/Status");
    return WaitInSync(id, status, call.what, deadline);
  }

  Status WaitInSync(const std::string& id, std::string status, const std::string& what,
                    MonoTime deadline) {
    AwsCall call;
    call.method = "GET";
    call.path = "/2013-04-01/change/" + AwsUriEncode(id, true);
    call.what = what + ": waiting for change " + id;
    while (status != "INSYNC") {
      MonoTime next = clock_->Now() + spec_.poll_interval;
      if (next >= deadline) {
        return Error{ErrorCode::kTimeout,
                     "route53: " + call.what + ": still " + status +
                         " at the step's deadline (Route 53 accepted the change and applies it)",
                     true};
      }
      clock_->SleepUntil(next);
      auto resp = api_.Send(call, deadline);
      if (!resp) return resp.error();
      auto doc = ParseXml(resp->body);
      if (!doc || doc->Text("ChangeInfo/Status").empty()) return Unexpected(*resp, call.what);
      status = doc->Text("ChangeInfo/Status");
    }
    log::Debug("route53 change in sync", {{"change", id}});
    return {};
  }

  Error Unexpected(const HttpResponse& resp, const std::string& what) const {
    std::string excerpt = resp.body.substr(0, 200);
    std::replace(excerpt.begin(), excerpt.end(), '\n', ' ');
    return Error::Invalid("route53: " + what + ": unexpected response from " + api_.base_url() +
                          ": " + excerpt);
  }

  Route53Spec spec_;
  AwsApi api_;
  Clock* clock_;
};

}  // namespace

std::string Route53Name(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\\' && i + 3 < in.size() && in[i + 1] >= '0' && in[i + 1] <= '3' &&
        in[i + 2] >= '0' && in[i + 2] <= '7' && in[i + 3] >= '0' && in[i + 3] <= '7') {
      out += static_cast<char>((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 + (in[i + 3] - '0'));
      i += 3;
    } else {
      out += in[i];
    }
  }
  return Fqdn(out);
}

Result<std::shared_ptr<DnsProvider>> NewRoute53Provider(const YamlNode& body,
                                                        const DnsProviderContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseRoute53Spec(body);
  if (!spec) return spec.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  if (ctx.http == nullptr) return Error::Internal("route53 provider built without an HTTP client");
  Clock* clock = ctx.clock != nullptr ? ctx.clock : &SystemClock::Get();
  AwsApi api("route53", spec->url, "us-east-1", "route53", spec->credentials, ctx.http, clock);
  return std::shared_ptr<DnsProvider>(
      std::make_shared<Route53Provider>(std::move(*spec), std::move(api), clock));
}

}  // namespace failover
