#include "actuator/dns/rfc2136.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "common/config_fields.h"
#include "common/dns_query.h"
#include "common/secret.h"
#include "common/subprocess.h"  // Fd

namespace failover {
namespace {

// Seconds of clock difference the server may tolerate (RFC 8945 recommends 300).
constexpr uint16_t kFudge = 300;
constexpr Duration kMaxExchange = std::chrono::seconds(30);

// TSIG error codes (RFC 8945 section 3): in the TSIG record of a NOTAUTH answer.
constexpr uint16_t kBadSig = 16;
constexpr uint16_t kBadKey = 17;
constexpr uint16_t kBadTime = 18;

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RrFree {
  void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
struct RrListFree {
  void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct BufferFree {
  void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
struct WireFree {
  void operator()(uint8_t* w) const { LDNS_FREE(w); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;
using RrPtr = std::unique_ptr<ldns_rr, RrFree>;
using RrListPtr = std::unique_ptr<ldns_rr_list, RrListFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;
using BufferPtr = std::unique_ptr<ldns_buffer, BufferFree>;
using WirePtr = std::unique_ptr<uint8_t, WireFree>;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string TsigErrorName(uint16_t e) {
  switch (e) {
    case kBadSig:
      return "BADSIG";
    case kBadKey:
      return "BADKEY";
    case kBadTime:
      return "BADTIME";
    case 19:
      return "BADMODE";
    case 20:
      return "BADNAME";
    case 21:
      return "BADALG";
    case 22:
      return "BADTRUNC";
    default:
      return "TSIG error " + std::to_string(e);
  }
}

// ldns waits with poll() in whole milliseconds (truncating): round up, so that a wait
// that ran out ends at or after the deadline, never just before it.
timeval ToTimeval(Duration d) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  if (ms < 1) ms = 1;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

// A strict check of standard base64 (what tsig-keygen prints), so that ldns only ever sees
// a secret it can decode.
bool IsBase64(const std::string& s) {
  if (s.empty() || s.size() % 4 != 0) return false;
  size_t pad = 0;
  while (pad < 2 && pad < s.size() && s[s.size() - 1 - pad] == '=') ++pad;
  for (size_t i = 0; i < s.size() - pad; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isalnum(c) == 0 && c != '+' && c != '/') return false;
  }
  return true;
}

// One record's rdata in the presentation format of common/dns_query.h.
std::string RecordText(const ldns_rr* rr, ldns_rr_type type) {
  if (type == LDNS_RR_TYPE_TXT) {
    std::vector<std::string> strings;
    for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
      const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
      const uint8_t* data = ldns_rdf_data(rdf);
      size_t size = ldns_rdf_size(rdf);
      if (size == 0) continue;
      size_t len = std::min<size_t>(data[0], size - 1);
      strings.emplace_back(reinterpret_cast<const char*>(data + 1), len);
    }
    return QuoteTxt(strings);
  }
  if (ldns_rr_rd_count(rr) < 1) return "";
  char* text = ldns_rdf2str(ldns_rr_rdf(rr, 0));
  if (text == nullptr) return "";
  std::string out = text;
  LDNS_FREE(text);
  if (type == LDNS_RR_TYPE_CNAME) out = Lower(out);
  return out;
}

// What an rfc2136: provider block says.
struct Rfc2136Spec {
  std::string server;       // as configured, for messages: 127.0.0.1:53, [::1]:53
  sockaddr_storage addr{};  // the server's address and port
  socklen_t addr_len = 0;
  std::string key_name;                      // the TSIG key's name, with the trailing dot
  std::string algorithm = "hmac-sha256.";    // ldns' name, with the trailing dot
  SecretRef secret = SecretRef::Inline("");  // key_secret(_file/_env): base64
};

Result<Rfc2136Spec> ParseRfc2136Spec(const YamlNode& body) {
  Rfc2136Spec spec;
  auto server = RequireField<std::string>(body, "server");
  if (!server) return server.error();
  auto hp = ParseDnsServer(server->value);
  if (!hp) return server->node.Fail(hp.error().message);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&spec.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&spec.addr);
  if (inet_pton(AF_INET, hp->first.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(hp->second));
    spec.addr_len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, hp->first.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(hp->second));
    spec.addr_len = sizeof(sockaddr_in6);
  } else {
    return server->node.Fail("expected an IP address and port (127.0.0.1:53, [::1]:53)");
  }
  spec.server = server->value;

  auto key_name = RequireField<std::string>(body, "key_name");
  if (!key_name) return key_name.error();
  {
    const std::string& k = key_name->value;
    bool ok = !k.empty() && k.find("..") == std::string::npos && k.front() != '.' &&
              std::all_of(k.begin(), k.end(), [](unsigned char c) {
                return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.';
              });
    RdfPtr rdf(ok ? ldns_dname_new_frm_str(k.c_str()) : nullptr);
    if (!rdf) {
      return key_name->node.Fail("invalid TSIG key name \"" + k +
                                 "\" (a domain name such as failover-key)");
    }
  }
  spec.key_name = Fqdn(key_name->value);

  auto a = GetField<std::string>(body, "algorithm");
  if (!a) return a.error();
  if (*a) {
    std::string v = Lower((*a)->value);
    if (!v.empty() && v.back() == '.') v.pop_back();
    if (v != "hmac-sha256" && v != "hmac-sha512") {
      return (*a)->node.Fail("unsupported TSIG algorithm \"" + (*a)->value +
                             "\" (supported: hmac-sha256, hmac-sha512)");
    }
    spec.algorithm = v + ".";
  }

  auto secret = SecretRef::FromYaml(body, "key_secret");
  if (!secret) return secret.error();
  if (!*secret) {
    return body.Fail(
        "the TSIG key needs key_secret, key_secret_file or key_secret_env (base64, as "
        "tsig-keygen prints it)");
  }
  spec.secret = **secret;
  return spec;
}

class Rfc2136Provider final : public DnsProvider {
 public:
  Rfc2136Provider(Rfc2136Spec spec, Clock* clock) : spec_(std::move(spec)), clock_(clock) {}

  const std::string& kind() const override {
    static const std::string k = "rfc2136";
    return k;
  }

  Result<std::optional<DnsRecordSet>> Get(const std::string& zone, const std::string& name,
                                          const std::string& type, MonoTime deadline) override {
    const std::string what = "reading " + name + " " + type + " in zone " + zone;
    ldns_rr_type rtype = ldns_get_rr_type_by_name(type.c_str());
    if (rtype == 0) return Fail(ErrorCode::kInvalidArgument, what, "unknown record type", false);
    ldns_rdf* qname = ldns_dname_new_frm_str(name.c_str());
    if (qname == nullptr) return Fail(ErrorCode::kInvalidArgument, what, "invalid name", false);
    // ldns_pkt_query_new takes qname over. No RD: the server is asked as the authority.
    PktPtr query(ldns_pkt_query_new(qname, rtype, LDNS_RR_CLASS_IN, 0));
    if (!query) return Fail(ErrorCode::kInternal, what, "cannot build the query", false);
    ldns_pkt_set_random_id(query.get());

    auto reply = Exchange(query.get(), deadline, what);
    if (!reply) return reply.error();
    ldns_pkt* r = reply->get();
    int rcode = ldns_pkt_get_rcode(r);
    if (rcode == LDNS_RCODE_NXDOMAIN) return std::optional<DnsRecordSet>();
    if (rcode != LDNS_RCODE_NOERROR) return RcodeError(rcode, what, zone, false);
    if (!ldns_pkt_aa(r)) {
      return Fail(ErrorCode::kInvalidArgument, what,
                  "the answer is not authoritative: the server is not a primary or secondary "
                  "of zone " +
                      zone,
                  false);
    }
    DnsRecordSet set;
    set.name = name;
    set.type = type;
    bool have_ttl = false;
    RdfPtr owner(ldns_dname_new_frm_str(name.c_str()));
    ldns_rr_list* answer = ldns_pkt_answer(r);
    for (size_t i = 0; answer != nullptr && i < ldns_rr_list_rr_count(answer); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(answer, i);
      if (ldns_rr_get_type(rr) != rtype || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) continue;
      if (ldns_dname_compare(ldns_rr_owner(rr), owner.get()) != 0) continue;
      set.records.push_back(RecordText(rr, rtype));
      int ttl = static_cast<int>(ldns_rr_ttl(rr));
      set.ttl = have_ttl ? std::min(set.ttl, ttl) : ttl;
      have_ttl = true;
    }
    if (set.records.empty()) return std::optional<DnsRecordSet>();  // NODATA
    std::sort(set.records.begin(), set.records.end());
    return std::optional<DnsRecordSet>(std::move(set));
  }

  Status Set(const std::string& zone, const DnsRecordSet& desired, MonoTime deadline) override {
    const std::string what = "updating " + desired.name + " " + desired.type + " in zone " + zone;
    ldns_rr_type rtype = ldns_get_rr_type_by_name(desired.type.c_str());
    if (rtype == 0) return Fail(ErrorCode::kInvalidArgument, what, "unknown record type", false);

    // Update section: "delete the RRset" (class ANY, TTL 0, no rdata), then one "add" per
    // desired record (RFC 2136 section 2.5).
    RrListPtr updates(ldns_rr_list_new());
    RrPtr del(ldns_rr_new());
    ldns_rdf* owner = ldns_dname_new_frm_str(desired.name.c_str());
    if (!updates || !del || owner == nullptr) {
      if (owner != nullptr) ldns_rdf_deep_free(owner);
      return Fail(ErrorCode::kInvalidArgument, what, "invalid name", false);
    }
    ldns_rr_set_owner(del.get(), owner);
    ldns_rr_set_type(del.get(), rtype);
    ldns_rr_set_class(del.get(), LDNS_RR_CLASS_ANY);
    ldns_rr_set_ttl(del.get(), 0);
    ldns_rr_list_push_rr(updates.get(), del.release());
    for (const std::string& record : desired.records) {
      const std::string text =
          desired.name + " " + std::to_string(desired.ttl) + " IN " + desired.type + " " + record;
      ldns_rr* rr = nullptr;
      ldns_status st = ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr);
      if (st != LDNS_STATUS_OK || rr == nullptr) {
        return Fail(ErrorCode::kInvalidArgument, what,
                    "record " + record + " is not valid " + desired.type + " data (" +
                        ldns_get_errorstr_by_id(st) + ")",
                    false);
      }
      ldns_rr_list_push_rr(updates.get(), rr);
    }

    ldns_rdf* zone_rdf = ldns_dname_new_frm_str(zone.c_str());
    if (zone_rdf == nullptr) return Fail(ErrorCode::kInvalidArgument, what, "invalid zone", false);
    // Takes zone_rdf over, copies the update list.
    PktPtr update(ldns_update_pkt_new(zone_rdf, LDNS_RR_CLASS_IN, nullptr, updates.get(), nullptr));
    if (!update) return Fail(ErrorCode::kInternal, what, "cannot build the UPDATE message", false);
    ldns_pkt_set_rd(update.get(), false);  // the Z bits of an UPDATE header are zero
    ldns_pkt_set_random_id(update.get());

    auto reply = Exchange(update.get(), deadline, what);
    if (!reply) return reply.error();
    int rcode = ldns_pkt_get_rcode(reply->get());
    if (rcode != LDNS_RCODE_NOERROR) return RcodeError(rcode, what, zone, true);
    return {};
  }

 private:
  Error Fail(ErrorCode code, const std::string& what, const std::string& why,
             bool retryable) const {
    return Error{code, "rfc2136: " + what + " at " + spec_.server + ": " + why, retryable};
  }

  Error RcodeError(int rcode, const std::string& what, const std::string& zone, bool update) const {
    const std::string name = DnsRcodeName(rcode);
    switch (rcode) {
      case LDNS_RCODE_SERVFAIL:
        return Fail(ErrorCode::kUnavailable, what, "the server answered SERVFAIL", true);
      case LDNS_RCODE_REFUSED:
        return Fail(ErrorCode::kPermissionDenied, what,
                    update ? "the server refused the update (REFUSED): zone " + zone +
                                 " must be a primary zone there whose allow-update or "
                                 "update-policy grants TSIG key \"" +
                                 KeyLabel() + "\""
                           : "the server refused the query (REFUSED): it must serve zone " + zone +
                                 " and allow queries from this host",
                    false);
      case LDNS_RCODE_NOTZONE:
        return Fail(ErrorCode::kInvalidArgument, what,
                    "the name is not in zone " + zone + " (NOTZONE)", false);
      case LDNS_RCODE_NOTIMPL:
        return Fail(ErrorCode::kInvalidArgument, what,
                    "the server does not implement " +
                        std::string(update ? "dynamic updates" : "this query") + " (NOTIMP)",
                    false);
      default:
        return Fail(ErrorCode::kInvalidArgument, what, "the server answered " + name, false);
    }
  }

  // Signs `query` with the TSIG key, sends it over TCP, reads the answer and checks that
  // it answers this query, that the key was accepted and that the answer's TSIG verifies.
  Result<PktPtr> Exchange(ldns_pkt* query, MonoTime deadline, const std::string& what) {
    auto secret = spec_.secret.Resolve();
    if (!secret) {
      return Fail(ErrorCode::kInvalidArgument, what,
                  "TSIG secret of key \"" + KeyLabel() + "\": " + secret.error().message, false);
    }
    if (!IsBase64(*secret)) {
      return Fail(ErrorCode::kInvalidArgument, what,
                  "TSIG secret of key \"" + KeyLabel() + "\" (" + spec_.secret.Describe() +
                      ") is not valid base64 (expected the secret as tsig-keygen prints it)",
                  false);
    }
    ldns_status st = ldns_pkt_tsig_sign(query, spec_.key_name.c_str(), secret->c_str(), kFudge,
                                        spec_.algorithm.c_str(), nullptr);
    if (st != LDNS_STATUS_OK) {
      std::string why = st == LDNS_STATUS_INVALID_B64 ? "is not valid base64"
                                                      : std::string("cannot sign with it (") +
                                                            ldns_get_errorstr_by_id(st) + ")";
      return Fail(
          ErrorCode::kInvalidArgument, what,
          "TSIG secret of key \"" + KeyLabel() + "\" (" + spec_.secret.Describe() + ") " + why,
          false);
    }
    const ldns_rr* query_tsig = ldns_pkt_tsig(query);
    const ldns_rdf* query_mac = query_tsig != nullptr ? ldns_rr_rdf(query_tsig, 3) : nullptr;
    BufferPtr wire(ldns_buffer_new(LDNS_MAX_PACKETLEN));
    if (!wire || ldns_pkt2buffer_wire(wire.get(), query) != LDNS_STATUS_OK) {
      return Fail(ErrorCode::kInternal, what, "cannot encode the message", false);
    }

    Duration left = deadline - clock_->Now();
    if (left <= Duration::zero()) {
      return Fail(ErrorCode::kTimeout, what, "step deadline passed", true);
    }
    errno = 0;
    Fd fd(ldns_tcp_connect2(&spec_.addr, spec_.addr_len, ToTimeval(std::min(left, kMaxExchange))));
    if (fd.get() < 0) {
      int err = errno;
      if (clock_->Now() >= deadline) {
        return Fail(ErrorCode::kTimeout, what, "no TCP connection before the step deadline", true);
      }
      return Fail(ErrorCode::kUnavailable, what,
                  std::string("cannot connect over TCP") +
                      (err != 0 ? std::string(": ") + std::strerror(err) : std::string()),
                  true);
    }
    if (ldns_tcp_send_query(wire.get(), fd.get(), &spec_.addr, spec_.addr_len) <= 0) {
      return Fail(ErrorCode::kUnavailable, what, "sending the message failed", true);
    }
    left = deadline - clock_->Now();
    if (left <= Duration::zero()) {
      return Fail(ErrorCode::kTimeout, what, "no answer before the step deadline", true);
    }
    size_t answer_size = 0;
    WirePtr answer(ldns_tcp_read_wire_timeout(fd.get(), &answer_size,
                                              ToTimeval(std::min(left, kMaxExchange))));
    if (!answer) {
      if (clock_->Now() >= deadline) {
        return Fail(ErrorCode::kTimeout, what, "no answer before the step deadline", true);
      }
      return Fail(ErrorCode::kUnavailable, what, "no answer (connection closed or timed out)",
                  true);
    }
    ldns_pkt* parsed = nullptr;
    if (ldns_wire2pkt(&parsed, answer.get(), answer_size) != LDNS_STATUS_OK || parsed == nullptr) {
      return Fail(ErrorCode::kUnavailable, what, "malformed answer", true);
    }
    PktPtr reply(parsed);
    if (!ldns_pkt_qr(reply.get()) || ldns_pkt_id(reply.get()) != ldns_pkt_id(query)) {
      return Fail(ErrorCode::kUnavailable, what, "the answer does not belong to the message sent",
                  true);
    }

    const ldns_rr* tsig = ldns_pkt_tsig(reply.get());
    uint16_t tsig_error = 0;
    if (tsig != nullptr && ldns_rr_rd_count(tsig) >= 6) {
      tsig_error = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
    }
    if (ldns_pkt_get_rcode(reply.get()) == LDNS_RCODE_NOTAUTH || tsig_error != 0) {
      return KeyRejected(what, tsig_error);
    }
    if (tsig == nullptr) {
      // Nothing in an unsigned answer can be trusted; a SERVFAIL is still worth a retry
      // (retrying reads and rewrites, which is safe).
      const int rcode = ldns_pkt_get_rcode(reply.get());
      if (rcode == LDNS_RCODE_SERVFAIL) {
        return Fail(ErrorCode::kUnavailable, what, "the server answered SERVFAIL (unsigned)", true);
      }
      return Fail(ErrorCode::kPermissionDenied, what,
                  "the server answered " + DnsRcodeName(rcode) +
                      " without a TSIG signature, so the answer cannot be trusted",
                  false);
    }
    // The answer must be signed with our key and algorithm (RFC 8945 5.3).
    RdfPtr algorithm(ldns_dname_new_frm_str(spec_.algorithm.c_str()));
    RdfPtr key(ldns_dname_new_frm_str(spec_.key_name.c_str()));
    if (ldns_rr_rd_count(tsig) < 7 ||
        ldns_dname_compare(ldns_rr_rdf(tsig, 0), algorithm.get()) != 0 ||
        ldns_dname_compare(ldns_rr_owner(tsig), key.get()) != 0) {
      return Fail(ErrorCode::kPermissionDenied, what,
                  "the answer is signed with another key or algorithm than \"" + KeyLabel() + "\"",
                  false);
    }
    if (!ldns_pkt_tsig_verify(reply.get(), answer.get(), answer_size, spec_.key_name.c_str(),
                              secret->c_str(), query_mac)) {
      return Fail(ErrorCode::kPermissionDenied, what,
                  "the answer's TSIG signature does not verify with key \"" + KeyLabel() + "\"",
                  false);
    }
    return reply;
  }

  // The key name as configured (without the trailing dot the wire format needs).
  std::string KeyLabel() const { return spec_.key_name.substr(0, spec_.key_name.size() - 1); }

  Error KeyRejected(const std::string& what, uint16_t tsig_error) const {
    std::string why = "the server rejected TSIG key \"" + KeyLabel() + "\" (" +
                      spec_.algorithm.substr(0, spec_.algorithm.size() - 1) + "): NOTAUTH";
    if (tsig_error != 0) why += ", " + TsigErrorName(tsig_error);
    switch (tsig_error) {
      case kBadSig:
        why += ": the secret (" + spec_.secret.Describe() + ") does not match the server's";
        break;
      case kBadKey:
        why += ": the server has no key of that name and algorithm";
        break;
      case kBadTime:
        why += ": the clocks differ by more than " + std::to_string(kFudge) + " s";
        break;
      default:
        break;
    }
    return Fail(ErrorCode::kPermissionDenied, what, why, false);
  }

  Rfc2136Spec spec_;
  Clock* clock_;
};

}  // namespace

Result<std::shared_ptr<DnsProvider>> NewRfc2136Provider(const YamlNode& body,
                                                        const DnsProviderContext& ctx) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseRfc2136Spec(body);
  if (!spec) return spec.error();
  if (auto s = body.RejectUnreadKeys(); !s) return s.error();
  Clock* clock = ctx.clock != nullptr ? ctx.clock : &SystemClock::Get();
  return std::shared_ptr<DnsProvider>(std::make_shared<Rfc2136Provider>(std::move(*spec), clock));
}

}  // namespace failover
