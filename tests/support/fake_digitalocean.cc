#include "tests/support/fake_digitalocean.h"

#include <algorithm>
#include <set>

#include "common/http_server.h"

namespace failover::testing {
namespace {

using nlohmann::json;

json RecordJson(const FakeDnsRecord& r) {
  return {{"id", r.id},          {"type", r.type},  {"name", r.name}, {"data", r.content},
          {"priority", nullptr}, {"port", nullptr}, {"ttl", r.ttl},   {"weight", nullptr},
          {"flags", nullptr},    {"tag", nullptr}};
}

std::string ErrorId(int status) {
  switch (status) {
    case 401:
      return "unauthorized";
    case 404:
      return "not_found";
    case 422:
      return "unprocessable_entity";
    case 429:
      return "too_many_requests";
    default:
      return status >= 500 ? "server_error" : "bad_request";
  }
}

}  // namespace

FakeDigitalOcean::FakeDigitalOcean() : FakeDnsApi(kToken, "", 401, "Unable to authenticate you") {
  Start();
}

void FakeDigitalOcean::SetLinkBase(std::string base) {
  std::lock_guard<std::mutex> l(mu_);
  link_base_ = std::move(base);
}

HttpServerResponse FakeDigitalOcean::ErrorResponse(int status, const std::string& message, int) {
  json out = {{"id", ErrorId(status)},
              {"message", message},
              {"request_id", "4d9d8375-3c56-4925-a3e7-eb137fed17e9"}};
  return HttpServerResponse::Json(status, out.dump());
}

HttpServerResponse FakeDigitalOcean::Serve(const HttpServerRequest& req, const std::string& path) {
  auto parts = SplitPath(path);
  if (parts.size() < 4 || parts.size() > 5 || parts[0] != "v2" || parts[1] != "domains" ||
      parts[3] != "records" || parts[2] != kDomain) {
    return Reject(404, "The resource you were accessing could not be found.");
  }
  if (parts.size() == 4 && req.method == "GET") {
    std::string type = req.QueryParam("type");
    std::string name = req.QueryParam("name");
    std::string page_s = req.QueryParam("page");
    std::string per_page_s = req.QueryParam("per_page");
    int page = page_s.empty() ? 1 : std::atoi(page_s.c_str());
    int per_page = per_page_s.empty() ? 20 : std::atoi(per_page_s.c_str());
    if (page < 1 || per_page < 1 || per_page > 200) {
      return Reject(400, "page must be positive and per_page between 1 and 200");
    }
    per_page = EffectivePageSize(per_page);
    // The name filter is the fully qualified name; a name filter needs a type filter.
    if (!name.empty() && type.empty()) return Reject(422, "name filter requires type");
    const std::string domain = kDomain;
    std::vector<const FakeDnsRecord*> match;
    for (const auto& r : records_) {
      std::string fq = r.name == "@" ? domain : r.name + "." + domain;
      if ((type.empty() || r.type == type) && (name.empty() || fq == name)) match.push_back(&r);
    }
    int total = static_cast<int>(match.size());
    int pages = (total + per_page - 1) / per_page;
    json records = json::array();
    for (int i = (page - 1) * per_page; i < std::min(total, page * per_page); ++i) {
      records.push_back(RecordJson(*match[i]));
    }
    auto link = [&](int p) {
      std::string q;
      if (!type.empty()) q += "type=" + type + "&";
      if (!name.empty()) q += "name=" + name + "&";
      return (link_base_.empty() ? base_url() : link_base_) + path + "?" + q +
             "page=" + std::to_string(p) + "&per_page=" + std::to_string(per_page);
    };
    json pages_json = json::object();
    if (page > 1) pages_json["first"] = link(1), pages_json["prev"] = link(page - 1);
    if (page < pages) pages_json["next"] = link(page + 1), pages_json["last"] = link(pages);
    json out = {{"domain_records", records},
                {"links", {{"pages", pages_json}}},
                {"meta", {{"total", total}}}};
    return HttpServerResponse::Json(200, out.dump());
  }

  auto apply = [&](const json& body, FakeDnsRecord& rec) -> std::string {
    static const std::set<std::string> kAllowed = {"type", "name",   "data",  "priority", "port",
                                                   "ttl",  "weight", "flags", "tag"};
    for (const auto& [k, v] : body.items()) {
      if (kAllowed.count(k) == 0) return "Unknown attribute " + k + ".";
    }
    for (const char* k : {"type", "name", "data"}) {
      if (body.contains(k) && !body[k].is_string()) return std::string(k) + " must be a string.";
    }
    if (body.contains("ttl") && !body["ttl"].is_number_integer()) return "Ttl must be a number.";
    if (body.contains("type")) rec.type = body["type"].get<std::string>();
    if (body.contains("name")) rec.name = body["name"].get<std::string>();
    if (body.contains("data")) rec.content = body["data"].get<std::string>();
    if (body.contains("ttl")) rec.ttl = body["ttl"].get<int>();
    if (rec.ttl < 30) return "Ttl must be at least 30.";
    if (rec.name.empty() || rec.name.find(kDomain) != std::string::npos || rec.name.back() == '.') {
      return "Name is invalid (relative names only, @ for the apex).";
    }
    if ((rec.type == "A" || rec.type == "AAAA") && !IsAddress(rec.type, rec.content)) {
      return "Data needs to be a valid IP address.";
    }
    if (rec.type == "CNAME" && (rec.content.empty() || rec.content.back() != '.')) {
      return "Data needs to end with a dot (.)";
    }
    return "";
  };

  if (parts.size() == 4 && req.method == "POST") {
    json body;
    HttpServerResponse err;
    if (!ParseBody(req, body, err)) return err;
    for (const char* k : {"type", "name", "data"}) {
      if (!body.contains(k)) return Reject(422, std::string(k) + " is required.");
    }
    FakeDnsRecord rec;
    rec.ttl = 1800;
    if (std::string e = apply(body, rec); !e.empty()) return Reject(422, e);
    rec.id = next_id_++;
    records_.push_back(rec);
    ++writes_;
    return HttpServerResponse::Json(201, json({{"domain_record", RecordJson(rec)}}).dump());
  }
  if (parts.size() != 5) return Reject(405, "Method not allowed");
  FakeDnsRecord* rec = ById(std::atoll(parts[4].c_str()));
  if (rec == nullptr) return Reject(404, "The resource you were accessing could not be found.");
  if (req.method == "GET") {
    return HttpServerResponse::Json(200, json({{"domain_record", RecordJson(*rec)}}).dump());
  }
  if (req.method == "PUT" || req.method == "PATCH") {
    json body;
    HttpServerResponse err;
    if (!ParseBody(req, body, err)) return err;
    if (req.method == "PUT" && !body.contains("type")) return Reject(422, "type is required.");
    FakeDnsRecord next = *rec;
    if (std::string e = apply(body, next); !e.empty()) return Reject(422, e);
    *rec = next;
    ++writes_;
    return HttpServerResponse::Json(200, json({{"domain_record", RecordJson(*rec)}}).dump());
  }
  if (req.method == "DELETE") {
    records_.erase(records_.begin() + (rec - records_.data()));
    ++writes_;
    HttpServerResponse r = HttpServerResponse::Text(204, "");
    return r;
  }
  return Reject(405, "Method not allowed");
}

}  // namespace failover::testing
