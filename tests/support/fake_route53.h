// A local fake of the Route 53 API (from AWS's public Route 53 API reference)
// on 127.0.0.1, a free port, for one hosted zone:
//   GET  /2013-04-01/hostedzone/{Id}/rrset?name=&type=&identifier=&maxitems=
//        ListResourceRecordSets: record sets in Route 53's order (labels reversed, then
//        type, then set identifier) from the given name/type on, with IsTruncated and
//        NextRecordName / NextRecordType / NextRecordIdentifier;
//   POST /2013-04-01/hostedzone/{Id}/rrset/   ChangeResourceRecordSets (CREATE, DELETE,
//        UPSERT; atomic; InvalidChangeBatch for a create of an existing set, a delete that
//        does not match, an out-of-zone name, a bad A/AAAA value);
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
  std::string set_identifier;       // weighted/latency sets; "" for simple ones
  int weight = 0;
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
    Put(FakeRoute53RecordSet{name, type, ttl, std::move(values), "", 0});
  }
  std::optional<FakeRoute53RecordSet> Find(const std::string& name, const std::string& type) const;

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
