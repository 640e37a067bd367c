#include "tests/support/fake_cloudflare.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/http_server.h"

namespace failover::testing {
namespace {

using nlohmann::json;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

FakeCloudflare::FakeCloudflare() : FakeDnsApi(kToken, "/client/v4", 403, "Authentication error") {
  Start();
}

std::string FakeCloudflare::RecordId(long long id) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%032llx", id);
  return buf;
}

HttpServerResponse FakeCloudflare::ErrorResponse(int status, const std::string& message, int code) {
  if (code == 0) code = status == 429 ? 10013 : status >= 500 ? 10002 : 1004;
  json out = {{"success", false},
              {"errors", json::array({{{"code", code}, {"message", message}}})},
              {"messages", json::array()},
              {"result", nullptr}};
  return HttpServerResponse::Json(status, out.dump());
}

json FakeCloudflare::RecordJson(const FakeDnsRecord& r) const {
  return {{"id", RecordId(r.id)},
          {"zone_id", kZoneId},
          {"zone_name", kZoneName},
          {"name", r.name},
          {"type", r.type},
          {"content", r.content},
          {"ttl", r.ttl},
          {"proxied", r.proxied},
          {"proxiable", r.type == "A" || r.type == "AAAA" || r.type == "CNAME"},
          {"locked", false},
          {"created_on", "2026-01-01T00:00:00Z"},
          {"modified_on", "2026-01-01T00:00:00Z"}};
}

std::string FakeCloudflare::Apply(const json& body, bool whole, FakeDnsRecord& rec) const {
  static const std::set<std::string> kAllowed = {"type",    "name",    "content", "ttl",
                                                 "proxied", "comment", "tags",    "priority"};
  for (const auto& [k, v] : body.items()) {
    if (kAllowed.count(k) == 0) return "Unknown field '" + k + "'";
  }
  if (whole) {
    for (const char* k : {"type", "name", "content", "ttl"}) {
      if (!body.contains(k)) return std::string("DNS record '") + k + "' is required";
    }
  } else if (body.empty()) {
    return "No fields to update";
  }
  for (const char* k : {"type", "name", "content", "comment"}) {
    if (body.contains(k) && !body[k].is_string()) return std::string(k) + " must be a string";
  }
  if (body.contains("type")) rec.type = body["type"].get<std::string>();
  if (body.contains("name")) rec.name = Lower(body["name"].get<std::string>());
  if (body.contains("content")) rec.content = body["content"].get<std::string>();
  if (body.contains("ttl")) {
    if (!body["ttl"].is_number_integer()) return "ttl must be an integer";
    rec.ttl = body["ttl"].get<int>();
  }
  if (body.contains("proxied")) {
    if (!body["proxied"].is_boolean()) return "proxied must be a boolean";
    rec.proxied = body["proxied"].get<bool>();
  }
  if (rec.ttl != 1 && (rec.ttl < 60 || rec.ttl > 86400)) {
    return "TTL must be between 60 and 86400 seconds, or 1 for Automatic.";
  }
  const std::string zone = kZoneName;
  if (rec.name != zone &&
      (rec.name.size() <= zone.size() ||
       rec.name.compare(rec.name.size() - zone.size(), zone.size(), zone) != 0 ||
       rec.name[rec.name.size() - zone.size() - 1] != '.')) {
    return "Name " + rec.name + " is not within zone " + zone;
  }
  if ((rec.type == "A" || rec.type == "AAAA") && !IsAddress(rec.type, rec.content)) {
    return "Content for " + rec.type + " record is invalid. Must be a valid IP address.";
  }
  if (rec.type == "CNAME") {
    // Cloudflare stores targets without the trailing dot.
    if (!rec.content.empty() && rec.content.back() == '.') rec.content.pop_back();
    if (rec.content.empty()) return "Content for CNAME record is invalid.";
  }
  return "";
}

HttpServerResponse FakeCloudflare::Serve(const HttpServerRequest& req, const std::string& path) {
  auto parts = SplitPath(path);
  if (parts.size() < 3 || parts[0] != "zones" || parts[2] != "dns_records" || parts.size() > 4) {
    return Reject(404, "Could not route to " + path, 7003);
  }
  if (parts[1] != kZoneId) {
    return Reject(
        404, "Could not route to " + path + ", perhaps your object identifier is invalid?", 7003);
  }
  if (parts.size() == 3 && req.method == "GET") {
    std::string type = req.QueryParam("type");
    std::string name = Lower(req.QueryParam("name"));
    std::string page_s = req.QueryParam("page");
    std::string per_page_s = req.QueryParam("per_page");
    int page = page_s.empty() ? 1 : std::atoi(page_s.c_str());
    int per_page = per_page_s.empty() ? 100 : std::atoi(per_page_s.c_str());
    if (page < 1) return Reject(400, "Invalid page", 1004);
    if (per_page < 5 || per_page > 5000) {
      return Reject(400, "per_page must be between 5 and 5000", 1004);
    }
    per_page = EffectivePageSize(per_page);
    std::vector<const FakeDnsRecord*> match;
    for (const auto& r : records_) {
      if ((type.empty() || r.type == type) && (name.empty() || r.name == name)) match.push_back(&r);
    }
    int total = static_cast<int>(match.size());
    int pages = (total + per_page - 1) / per_page;
    json result = json::array();
    for (int i = (page - 1) * per_page; i < std::min(total, page * per_page); ++i) {
      result.push_back(RecordJson(*match[i]));
    }
    json out = {{"success", true},
                {"errors", json::array()},
                {"messages", json::array()},
                {"result", result},
                {"result_info",
                 {{"page", page},
                  {"per_page", per_page},
                  {"count", result.size()},
                  {"total_count", total},
                  {"total_pages", pages}}}};
    return HttpServerResponse::Json(200, out.dump());
  }
  auto done = [&](const json& result) {
    json out = {{"success", true},
                {"errors", json::array()},
                {"messages", json::array()},
                {"result", result}};
    return HttpServerResponse::Json(200, out.dump());
  };
  if (parts.size() == 3 && req.method == "POST") {
    json body;
    HttpServerResponse err;
    if (!ParseBody(req, body, err)) return err;
    FakeDnsRecord rec;
    if (std::string e = Apply(body, true, rec); !e.empty()) return Reject(400, e, 9000);
    for (const auto& r : records_) {
      if (r.name == rec.name && r.type == rec.type && r.content == rec.content) {
        return Reject(400, "An identical record already exists.", 81058);
      }
    }
    rec.id = next_id_++;
    records_.push_back(rec);
    ++writes_;
    return done(RecordJson(rec));
  }
  if (parts.size() != 4) return Reject(405, "Method not allowed", 10405);
  FakeDnsRecord* rec = nullptr;
  for (auto& r : records_) {
    if (RecordId(r.id) == parts[3]) rec = &r;
  }
  if (rec == nullptr) return Reject(404, "Record not found", 81044);
  if (req.method == "GET") return done(RecordJson(*rec));
  if (req.method == "DELETE") {
    std::string id = RecordId(rec->id);
    records_.erase(records_.begin() + (rec - records_.data()));
    ++writes_;
    return done({{"id", id}});
  }
  if (req.method == "PATCH" || req.method == "PUT") {
    json body;
    HttpServerResponse err;
    if (!ParseBody(req, body, err)) return err;
    FakeDnsRecord next = *rec;
    if (std::string e = Apply(body, req.method == "PUT", next); !e.empty()) {
      return Reject(400, e, 9000);
    }
    *rec = next;
    ++writes_;
    return done(RecordJson(*rec));
  }
  return Reject(405, "Method not allowed", 10405);
}

}  // namespace failover::testing
