#include "actuator/etcd_client.h"

#include <cstdlib>
#include <cstring>

namespace failover {
namespace {

using nlohmann::json;

constexpr const char* kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// int64 fields: a JSON string (the gateway's form), a number, or absent (zero).
std::int64_t Int64(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) return std::strtoll(it->get<std::string>().c_str(), nullptr, 10);
  return 0;
}

Result<std::vector<EtcdKv>> ParseKvs(const json& range) {
  std::vector<EtcdKv> out;
  auto it = range.find("kvs");
  if (it == range.end() || !it->is_array()) return out;
  for (const json& kv : *it) {
    EtcdKv r;
    auto k = Base64Decode(kv.value("key", ""));
    if (!k) return k.error();
    auto v = Base64Decode(kv.value("value", ""));
    if (!v) return v.error();
    r.key = std::move(*k);
    r.value = std::move(*v);
    r.create_revision = Int64(kv, "create_revision");
    r.mod_revision = Int64(kv, "mod_revision");
    r.lease = Int64(kv, "lease");
    out.push_back(std::move(r));
  }
  return out;
}

json OpJson(const EtcdOp& op) {
  json body = {{"key", Base64Encode(op.key)}};
  if (op.prefix) body["range_end"] = Base64Encode(PrefixEnd(op.key));
  switch (op.kind) {
    case EtcdOp::kPut:
      body["value"] = Base64Encode(op.value);
      if (op.lease != 0) body["lease"] = std::to_string(op.lease);
      return {{"request_put", body}};
    case EtcdOp::kRange:
      return {{"request_range", body}};
    case EtcdOp::kDelete:
      return {{"request_delete_range", body}};
  }
  return json::object();
}

}  // namespace

Result<std::string> Base64Decode(const std::string& in) {
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const char* p = std::strchr(kAlphabet, c);
    if (p == nullptr || c == '\0') return Error::Internal("etcd: invalid base64 in an answer");
    buf = (buf << 6) | static_cast<unsigned>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  return out;
}

std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

EtcdClient::EtcdClient(HttpClient& http, std::vector<std::string> endpoints, Duration timeout)
    : http_(http), endpoints_(std::move(endpoints)), timeout_(timeout) {
  for (auto& e : endpoints_) {
    while (!e.empty() && e.back() == '/') e.pop_back();
  }
}

Result<json> EtcdClient::Call(const std::string& path, const json& body, Duration timeout) {
  if (endpoints_.empty()) return Error::Invalid("etcd: no endpoints configured");
  std::string payload = body.dump();
  Error last = Error::Unavailable("etcd: no endpoint answered");
  size_t start = current_.load();
  for (size_t n = 0; n < endpoints_.size(); ++n) {
    size_t i = (start + n) % endpoints_.size();
    HttpRequest req;
    req.method = "POST";
    req.url = endpoints_[i] + path;
    req.body = payload;
    req.timeout = timeout;
    req.headers.emplace_back("Content-Type", "application/json");
    auto resp = http_.Send(req);
    if (!resp) {
      last = Error{ErrorCode::kUnavailable,
                   "etcd " + endpoints_[i] + path + ": " + resp.error().message, true};
      continue;
    }
    current_ = i;
    json j = json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
    if (resp->status / 100 != 2 || j.is_discarded() || !j.is_object()) {
      std::string why = j.is_object() ? j.value("message", j.value("error", resp->body))
                                      : resp->body.substr(0, 200);
      bool retryable = resp->status >= 500 || resp->status == 429;
      return Error{
          retryable ? ErrorCode::kUnavailable : ErrorCode::kInternal,
          "etcd " + endpoints_[i] + path + ": HTTP " + std::to_string(resp->status) + ": " + why,
          retryable};
    }
    return j;
  }
  return last;
}

Result<std::vector<EtcdKv>> EtcdClient::Range(const std::string& key, bool prefix) {
  json body = {{"key", Base64Encode(key)}};
  if (prefix) body["range_end"] = Base64Encode(PrefixEnd(key));
  auto r = Call("/v3/kv/range", body, timeout_);
  if (!r) return r.error();
  return ParseKvs(*r);
}

Result<EtcdTxnResult> EtcdClient::Txn(const std::vector<EtcdCompare>& compare,
                                      const std::vector<EtcdOp>& success,
                                      const std::vector<EtcdOp>& failure) {
  json body = {{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const auto& c : compare) {
    json cj = {{"key", Base64Encode(c.key)}, {"target", c.target}, {"result", c.result}};
    const char* field = c.target == "CREATE"    ? "create_revision"
                        : c.target == "VERSION" ? "version"
                        : c.target == "MOD"     ? "mod_revision"
                                                : "lease";
    cj[field] = std::to_string(c.value);
    body["compare"].push_back(cj);
  }
  for (const auto& op : success) body["success"].push_back(OpJson(op));
  for (const auto& op : failure) body["failure"].push_back(OpJson(op));
  auto r = Call("/v3/kv/txn", body, timeout_);
  if (!r) return r.error();
  EtcdTxnResult out;
  out.succeeded = r->value("succeeded", false);
  if (auto h = r->find("header"); h != r->end()) out.revision = Int64(*h, "revision");
  if (auto rs = r->find("responses"); rs != r->end() && rs->is_array()) {
    for (const json& resp : *rs) {
      if (auto rr = resp.find("response_range"); rr != resp.end()) {
        auto kvs = ParseKvs(*rr);
        if (!kvs) return kvs.error();
        out.ranges.push_back(std::move(*kvs));
      }
    }
  }
  return out;
}

Result<std::int64_t> EtcdClient::LeaseGrant(std::int64_t ttl_seconds) {
  auto r = Call("/v3/lease/grant", {{"TTL", std::to_string(ttl_seconds)}}, timeout_);
  if (!r) return r.error();
  std::int64_t id = Int64(*r, "ID");
  if (id == 0) return Error::Internal("etcd: lease grant answered without an ID");
  return id;
}

Result<std::int64_t> EtcdClient::LeaseKeepAlive(std::int64_t id, Duration timeout) {
  auto r = Call("/v3/lease/keepalive", {{"ID", std::to_string(id)}}, timeout);
  if (!r) return r.error();
  auto res = r->find("result");
  if (res == r->end() || !res->is_object()) {
    return Error::Unavailable("etcd: lease keepalive answered without a result");
  }
  return Int64(*res, "TTL");
}

Status EtcdClient::LeaseRevoke(std::int64_t id) {
  auto r = Call("/v3/lease/revoke", {{"ID", std::to_string(id)}}, timeout_);
  if (!r) return r.error();
  return {};
}

}  // namespace failover
