// A local fake of the Route 53 API (from AWS's public Route 53 API reference)
// on 127.0.0.1, a free port, for one hosted zone:
//   GET  /2013-04-01/hostedzone/{Id}/rrset?name=&type=&identifier=&maxitems=
//        ListResourceRecordSets: record sets in Route 53's order (labels reversed, then
//        type, then set identifier) from the given name/type on, with IsTruncated and
//        NextRecordName / NextRecordType / NextRecordIdentifier;
//   POST /2013-04-01/hostedzone/{Id}/rrset/   ChangeResourceRecordSets (CREATE, DELETE,
//        UPSERT; atomic; InvalidChangeBatch for a create of an existing set, a delete that
//        does not match, an out-of-zone name, a bad A/AAAA value, an alias to a target
//        that does not exist (AddAliasTarget), and a batch whose end state mixes routing
//        policies at one name and type or has two failover PRIMARY (or SECONDARY) sets;
//        InvalidInput for AliasTarget together with TTL/ResourceRecords, Weight or
//        Failover without SetIdentifier, a weight outside 0..255, a Failover value other
//        than PRIMARY/SECONDARY);
//   GET  /2013-04-01/change/{Id}               GetChange: PENDING for the first N polls
//        (SetPendingPolls), then INSYNC.
// Every request must be SigV4-signed (service route53, region us-east-1) with
// kFakeAwsAccessKeyId / kFakeAwsSecretAccessKey (plus a session token when one is set);
// otherwise 403 with AWS' error envelope (SignatureDoesNotMatch, ...). The next N requests
// can be failed with Throttling (HTTP 400), 429 or 5xx, with or without Retry-After.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "tests/support/fake_aws_auth.h"

namespace failover::testing {

struct FakeRoute53RecordSet {
  std::string name;  // lower case, trailing dot
  std::string type;
  int ttl = 300;
  std::vector<std::string> values;  // in the order given
  std::string set_identifier;       // weighted/failover sets; "" for simple ones
  std::optional<int> weight;        // weighted
  std::string failover;             // PRIMARY | SECONDARY
  std::string health_check_id;
  // Alias (then no ttl and no values): the target's hosted zone id and DNS name.
  std::string alias_zone_id;
  std::string alias_dns_name;
  bool evaluate_target_health = false;
};

class FakeRoute53 {
 public:
  // `zone` is the hosted zone's name ("example.com."); its id is kZoneId.
  static constexpr const char* kZoneId = "Z0123FAKE";
  explicit FakeRoute53(std::string zone = "example.com.");
  ~FakeRoute53();
  FakeRoute53(const FakeRoute53&) = delete;
  FakeRoute53& operator=(const FakeRoute53&) = delete;

  std::string base_url() const;  // "http://127.0.0.1:<port>"

  void Put(FakeRoute53RecordSet set);
  void Put(const std::string& name, const std::string& type, int ttl,
           std::vector<std::string> values) {
    FakeRoute53RecordSet s;
    s.name = name;
    s.type = type;
    s.ttl = ttl;
    s.values = std::move(values);
    Put(std::move(s));
  }
  std::optional<FakeRoute53RecordSet> Find(const std::string& name, const std::string& type,
                                           const std::string& set_identifier = "") const;
  // An alias may point only at targets that exist (an ALB's DNS name in its region's
  // hosted zone, as Route 53 checks); add them here.
  void AddAliasTarget(const std::string& hosted_zone_id, const std::string& dns_name);

  // GetChange answers PENDING this many times per change before INSYNC.
  void SetPendingPolls(int n);
  // The next `n` requests are answered with `status` and AWS error `code` (e.g. 400
  // "Throttling", 429 "", 503 "ServiceUnavailable"), with Retry-After when >= 0.
  void FailNext(int n, int status, std::string code, int retry_after_seconds = -1);
  // Requests must also carry this session token.
  void RequireSessionToken(std::string token);

  int RequestCount() const;
  int ListRequests() const;
  int WriteCount() const;  // accepted change batches
  int GetChangeRequests() const;
  int RejectedAuth() const;                       // requests refused for their signature
  std::vector<std::string> ChangeBodies() const;  // accepted ChangeResourceRecordSets bodies

  struct State;

 private:
  HttpServerResponse Handle(const HttpServerRequest& req);

  std::string zone_;
  std::unique_ptr<State> state_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace failover::testing
