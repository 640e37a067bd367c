// The REST plumbing the hosted DNS providers (cloudflare, linode, digitalocean) share: a
// bearer-token JSON request bounded by the step's deadline, 429 + Retry-After waited out
// through the Clock while the deadline allows it, and errors that carry the provider's
// own message (from its error envelope) and never the token.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actuator/dns/provider.h"
#include "common/encoding.h"
#include "common/secret.h"

namespace failover {

// One record of a record set as a hosted API holds it (the set is several records there).
struct ApiRecord {
  std::string id;
  std::string content;
  int ttl = 0;
  nlohmann::json raw;  // the record as the API answered it
};

// One step of PlanRecordSet's plan.
struct RecordChange {
  enum Kind { kUpdate, kCreate, kDelete };
  Kind kind;
  const ApiRecord* existing = nullptr;  // kUpdate, kDelete
  std::string content;                  // kUpdate, kCreate: the wanted content
  bool content_changes = false;         // kUpdate
  bool ttl_changes = false;             // kUpdate
};

struct RestApiOptions {
  std::string provider;  // "cloudflare": the prefix of every message
  std::string base_url;  // without a trailing slash
  SecretRef token = SecretRef::Inline("");
  HttpClient* http = nullptr;
  Clock* clock = nullptr;
  // The provider's message from a parsed error body ("" when it has none).
  std::function<std::string(const nlohmann::json&)> error_text;
  // Whether a non-2xx, non-429 answer is worth retrying (default: 5xx).
  std::function<bool(const HttpResponse&)> retryable;
};

class RestApi {
 public:
  explicit RestApi(RestApiOptions options);

  // `method` `path_or_url` (a path below base_url, or an absolute URL that starts with
  // base_url) with `Authorization: Bearer`, `Accept: application/json` and, with a body,
  // the JSON body. Returns the parsed JSON of a 2xx answer (null for an empty one).
  // A 429 is retried after its Retry-After while that ends before `deadline`; otherwise,
  // like 5xx and transport failures, it is a retryable error. 401/403 say "authentication
  // failed" and where the token comes from. `what` ("reading www.example.com. A") goes
  // into every message.
  Result<nlohmann::json> Call(const std::string& method, const std::string& path_or_url,
                              const nlohmann::json* body, MonoTime deadline,
                              const std::string& what,
                              std::vector<std::pair<std::string, std::string>> headers = {});

  // Every record of a paged list: `page_fn(page, out)` reads page 1, 2, ... into `out`
  // and says whether more pages follow. An answer of the wrong shape (a JSON exception in
  // `page_fn`) is an error naming `what`; so is a list of more than 1000 pages.
  using PageFn = std::function<Result<bool>(int page, std::vector<ApiRecord>& out)>;
  Result<std::vector<ApiRecord>> ReadPages(const std::string& what, const PageFn& page_fn);

  // Carries out `plan` (see PlanRecordSet) below `records_path`: POST `records_path` with
  // create_body(change), `update_method` `records_path/{id}` with update_body(change),
  // DELETE `records_path/{id}`; stops at the first error.
  using BodyFn = std::function<nlohmann::json(const RecordChange&)>;
  Status Apply(const std::vector<RecordChange>& plan, const std::string& records_path,
               const std::string& update_method, const BodyFn& create_body,
               const BodyFn& update_body, MonoTime deadline, const std::string& what);

  const std::string& base_url() const { return o_.base_url; }
  const std::string& provider() const { return o_.provider; }
  Clock& clock() const { return *o_.clock; }

 private:
  Error StatusError(const HttpResponse& resp, const std::string& what,
                    const std::string& token) const;

  RestApiOptions o_;
};

// The error envelopes and retry rules of the APIs whose DNS and load-balancer providers
// (actuator/dns/<name>.cc, actuator/lb/<name>*.cc) share them; Cloudflare's is
// UseCloudflareErrors (actuator/dns/cloudflare.h).
//   Linode: {"errors":[{"reason":"...","field":"ttl_sec"}]}; a 503 with
//     X-Maintenance-Mode is planned maintenance, not retried within a step.
//   DigitalOcean: {"id":"not_found","message":"...","request_id":"..."}.
void UseLinodeErrors(RestApiOptions& o);
void UseDigitalOceanErrors(RestApiOptions& o);

// A provider whose record set is the records List() finds (Get returns ToRecordSet of
// them); the hosted providers implement List with their API's paged lookup.
class RecordListProvider : public DnsProvider {
 public:
  Result<std::optional<DnsRecordSet>> Get(const std::string& zone, const std::string& name,
                                          const std::string& type, MonoTime deadline) override;

 protected:
  virtual Result<std::vector<ApiRecord>> List(const std::string& zone, const std::string& name,
                                              const std::string& type, MonoTime deadline) = 0;
};

// Optional `key` of a mapping: an http:// or https:// API URL without query or fragment,
// its trailing slashes removed and then `api_suffix` ("/api/v1"; "" for none) when it ends
// with that; nullopt when absent. The errors name file:line:key.
Result<std::optional<std::string>> ParseApiUrl(const YamlNode& body, std::string_view key,
                                               std::string_view api_suffix = "");

// What every hosted provider's config has: `url:` (http or https, no query; default
// `default_url`) and the token under `token_key` (`token`, `token_file` or `token_env`;
// one is required, `product` names the API in that error).
struct RestApiSpec {
  std::string base_url;  // without a trailing slash
  SecretRef token = SecretRef::Inline("");
};
Result<RestApiSpec> ParseRestApiSpec(const YamlNode& body, const std::string& product,
                                     const std::string& default_url, const std::string& token_key);

// The options of `provider`'s API from its spec and the context's HTTP client and clock.
// Fills all but error_text and retryable.
Result<RestApiOptions> MakeRestApiOptions(const RestApiSpec& spec, const std::string& provider,
                                          const DnsProviderContext& ctx);

// ParseRestApiSpec, then MakeRestApiOptions.
Result<RestApiOptions> ParseRestApiOptions(const YamlNode& body, const std::string& provider,
                                           const std::string& product,
                                           const std::string& default_url,
                                           const std::string& token_key,
                                           const DnsProviderContext& ctx);

// `name` relative to `zone` (both fully qualified): "www" for www.example.com. in
// example.com., "" for the apex; an error when it lies outside.
Result<std::string> RelativeName(const std::string& name, const std::string& zone);

// Record content in the form the hosted APIs take: CNAME targets without the trailing
// dot (`keep_dot` keeps it), TXT as its plain text (`"a" "b"` -> `ab`) unless
// `quoted_txt`; anything else as it is.
std::string ApiContent(const std::string& type, const std::string& content, bool keep_dot,
                       bool quoted_txt);

// Whether two contents are the same record (compared in canonical form).
bool SameContent(const std::string& type, const std::string& a, const std::string& b);

// The record set the step sees: the records' contents sorted, the highest TTL among them
// (a record with another TTL then makes the step rewrite); nullopt for no records.
std::optional<DnsRecordSet> ToRecordSet(const std::string& name, const std::string& type,
                                        const std::vector<ApiRecord>& records);

// What turns `existing` into exactly `desired` records with `ttl`, with as few writes as
// possible: a record whose content is wanted stays (updated when its TTL differs or
// `stale` says so), a record no longer wanted takes over a wanted content (update), any
// further wanted content is created and the rest deleted. Updates and creations come
// before deletions, so the name never answers nothing in between.
std::vector<RecordChange> PlanRecordSet(
    const std::string& type, const std::vector<ApiRecord>& existing,
    const std::vector<std::string>& desired, int ttl,
    const std::function<bool(const ApiRecord&)>& stale = nullptr);

}  // namespace failover
