#include "tests/support/fake_linode.h"

#include <algorithm>
#include <set>

#include "common/http_server.h"

namespace failover::testing {
namespace {

using nlohmann::json;

constexpr int kAllowedTtls[] = {0,     30,    120,    300,    3600,   7200,    14400,  28800,
                                57600, 86400, 172800, 345600, 604800, 1209600, 2419200};

int RoundTtl(int ttl) {
  for (int t : kAllowedTtls) {
    if (ttl <= t) return t;
  }
  return 2419200;
}

json RecordJson(const FakeDnsRecord& r) {
  return {{"id", r.id},
          {"type", r.type},
          {"name", r.name},
          {"target", r.content},
          {"priority", 0},
          {"weight", 0},
          {"port", 0},
          {"service", nullptr},
          {"protocol", nullptr},
          {"ttl_sec", r.ttl},
          {"tag", nullptr},
          {"created", "2026-01-01T00:00:00"},
          {"updated", "2026-01-01T00:00:00"}};
}

}  // namespace

FakeLinode::FakeLinode() : FakeDnsApi(kToken, "/v4", 401, "Invalid Token") { Start(); }

HttpServerResponse FakeLinode::ErrorResponse(int status, const std::string& message, int) {
  json out = {{"errors", json::array({{{"reason", message}}})}};
  return HttpServerResponse::Json(status, out.dump());
}

HttpServerResponse FakeLinode::Invalid(const std::string& field, const std::string& reason) {
  FakeDnsApi::Reject(400, reason);  // counts the rejection
  json out = {{"errors", json::array({{{"reason", reason}, {"field", field}}})}};
  return HttpServerResponse::Json(400, out.dump());
}

HttpServerResponse FakeLinode::Serve(const HttpServerRequest& req, const std::string& path) {
  auto parts = SplitPath(path);
  if (parts.size() < 3 || parts.size() > 4 || parts[0] != "domains" || parts[2] != "records") {
    return Reject(404, "Not found");
  }
  if (parts[1] != std::to_string(kDomainId)) return Reject(404, "Not found");

  if (parts.size() == 3 && req.method == "GET") {
    std::string page_s = req.QueryParam("page");
    std::string size_s = req.QueryParam("page_size");
    int page = page_s.empty() ? 1 : std::atoi(page_s.c_str());
    int page_size = size_s.empty() ? 100 : std::atoi(size_s.c_str());
    if (page < 1) return Invalid("page", "Must be a positive integer");
    if (page_size < 25 || page_size > 500) {
      return Invalid("page_size", "page_size must be a value between 25 and 500");
    }
    page_size = EffectivePageSize(page_size);
    json filter = json::object();
    if (std::string f = req.Header("x-filter"); !f.empty()) {
      filter = json::parse(f, nullptr, false);
      if (filter.is_discarded() || !filter.is_object()) {
        return Invalid("X-Filter", "The filter is not valid JSON");
      }
      for (const auto& [k, v] : filter.items()) {
        if ((k != "name" && k != "type") || !v.is_string()) {
          return Invalid("X-Filter", "Cannot filter on " + k);
        }
      }
    }
    std::vector<const FakeDnsRecord*> match;
    for (const auto& r : records_) {
      if (filter.contains("name") && r.name != filter["name"].get<std::string>()) continue;
      if (filter.contains("type") && r.type != filter["type"].get<std::string>()) continue;
      match.push_back(&r);
    }
    int total = static_cast<int>(match.size());
    int pages = std::max(1, (total + page_size - 1) / page_size);
    json data = json::array();
    for (int i = (page - 1) * page_size; i < std::min(total, page * page_size); ++i) {
      data.push_back(RecordJson(*match[i]));
    }
    json out = {{"data", data}, {"page", page}, {"pages", pages}, {"results", total}};
    return HttpServerResponse::Json(200, out.dump());
  }

  auto apply = [&](const json& body, FakeDnsRecord& rec) -> std::string {
    static const std::set<std::string> kAllowed = {"type",     "name",   "target", "ttl_sec",
                                                   "priority", "weight", "port",   "service",
                                                   "protocol", "tag"};
    for (const auto& [k, v] : body.items()) {
      if (kAllowed.count(k) == 0) return k;
    }
    for (const char* k : {"type", "name", "target"}) {
      if (body.contains(k) && !body[k].is_string()) return k;
    }
    if (body.contains("ttl_sec") && !body["ttl_sec"].is_number_integer()) return "ttl_sec";
    if (body.contains("type")) rec.type = body["type"].get<std::string>();
    if (body.contains("name")) rec.name = body["name"].get<std::string>();
    if (body.contains("target")) rec.content = body["target"].get<std::string>();
    if (body.contains("ttl_sec")) rec.ttl = RoundTtl(body["ttl_sec"].get<int>());
    // Linode names are relative: a fully qualified one is a client bug.
    if (rec.name.find(kDomain) != std::string::npos ||
        (!rec.name.empty() && rec.name.back() == '.')) {
      return "name";
    }
    if ((rec.type == "A" || rec.type == "AAAA") && !IsAddress(rec.type, rec.content)) {
      return "target";
    }
    return "";
  };

  if (parts.size() == 3 && req.method == "POST") {
    json body;
    HttpServerResponse err;
    if (!ParseBody(req, body, err)) return err;
    if (!body.contains("type")) return Invalid("type", "type is required");
    if (!body.contains("target")) return Invalid("target", "target is required");
    FakeDnsRecord rec;
    if (std::string f = apply(body, rec); !f.empty()) return Invalid(f, "Invalid value for " + f);
    rec.id = next_id_++;
    records_.push_back(rec);
    ++writes_;
    return HttpServerResponse::Json(200, RecordJson(rec).dump());
  }
  if (parts.size() != 4) return Reject(405, "Method not allowed");
  FakeDnsRecord* rec = ById(std::atoll(parts[3].c_str()));
  if (rec == nullptr) return Reject(404, "Not found");
  if (req.method == "GET") return HttpServerResponse::Json(200, RecordJson(*rec).dump());
  if (req.method == "PUT") {
    json body;
    HttpServerResponse err;
    if (!ParseBody(req, body, err)) return err;
    FakeDnsRecord next = *rec;
    if (std::string f = apply(body, next); !f.empty()) return Invalid(f, "Invalid value for " + f);
    *rec = next;
    ++writes_;
    return HttpServerResponse::Json(200, RecordJson(*rec).dump());
  }
  if (req.method == "DELETE") {
    records_.erase(records_.begin() + (rec - records_.data()));
    ++writes_;
    return HttpServerResponse::Json(200, "{}");
  }
  return Reject(405, "Method not allowed");
}

}  // namespace failover::testing
