#include "tests/support/fake_cloudwatch.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <regex>
#include <set>
#include <stdexcept>

#include "common/aws_credentials.h"
#include "common/time_format.h"
#include "common/xml.h"
#include "tests/support/aws_query.h"
#include "tests/support/fake_server.h"

namespace failover::testing {
namespace {

constexpr const char* kNs = "http://monitoring.amazonaws.com/doc/2010-08-01/";

HttpServerResponse ErrorXml(int status, const std::string& code, const std::string& message) {
  return AwsErrorXml(status, kNs, code, message, "Sender", "fake-cloudwatch-request");
}

struct Point {
  double at = 0;  // unix seconds
  double value = 0;
};

struct Series {
  std::string ns, name, unit;
  std::map<std::string, std::string> dims;
  std::vector<Point> points;
};

// The units CloudWatch knows (StandardUnit).
bool KnownUnit(const std::string& u) {
  static const std::set<std::string> k = {"Seconds",
                                          "Microseconds",
                                          "Milliseconds",
                                          "Bytes",
                                          "Kilobytes",
                                          "Megabytes",
                                          "Gigabytes",
                                          "Terabytes",
                                          "Bits",
                                          "Kilobits",
                                          "Megabits",
                                          "Gigabits",
                                          "Terabits",
                                          "Percent",
                                          "Count",
                                          "Bytes/Second",
                                          "Kilobytes/Second",
                                          "Megabytes/Second",
                                          "Gigabytes/Second",
                                          "Terabytes/Second",
                                          "Bits/Second",
                                          "Kilobits/Second",
                                          "Megabits/Second",
                                          "Gigabits/Second",
                                          "Terabits/Second",
                                          "Count/Second",
                                          "None"};
  return k.count(u) > 0;
}

std::optional<double> Aggregate(std::vector<double> v, const std::string& stat) {
  if (v.empty()) return std::nullopt;
  if (stat == "Maximum") return *std::max_element(v.begin(), v.end());
  if (stat == "Minimum") return *std::min_element(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  if (stat == "Sum") return sum;
  if (stat == "SampleCount") return static_cast<double>(v.size());
  if (stat == "Average") return sum / static_cast<double>(v.size());
  // pNN: nearest rank.
  double q = std::strtod(stat.c_str() + 1, nullptr);
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(q / 100.0 * static_cast<double>(v.size())));
  return v[rank == 0 ? 0 : rank - 1];
}

bool ValidStat(const std::string& s) {
  static const std::regex re(
      R"(Maximum|Minimum|Average|Sum|SampleCount|p[0-9]{1,2}(\.[0-9]+)?|p100)");
  return std::regex_match(s, re);
}

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

struct FakeCloudWatch::State {
  mutable std::mutex mu;
  std::vector<Series> series;
  int requests = 0, rejected_auth = 0;
  int fail_next = 0, fail_status = 0;
  std::string fail_code, fail_message;
  std::map<std::string, std::string> last_params;
  std::string last_error;
};

FakeCloudWatch::FakeCloudWatch(std::string region)
    : region_(std::move(region)), state_(std::make_unique<State>()) {
  server_ = StartFakeServer(
      "fake CloudWatch", 2,
      {{"POST", "/", false, [this](const HttpServerRequest& r) { return Handle(r); }}});
}

FakeCloudWatch::~FakeCloudWatch() { server_.reset(); }

std::string FakeCloudWatch::base_url() const { return LocalBaseUrl(*server_); }

void FakeCloudWatch::Put(const std::string& ns, const std::string& name,
                         const std::map<std::string, std::string>& dimensions,
                         const std::string& unit, WallTime at, double value) {
  std::lock_guard<std::mutex> l(state_->mu);
  double t = std::chrono::duration<double>(at.time_since_epoch()).count();
  for (Series& s : state_->series) {
    if (s.ns == ns && s.name == name && s.dims == dimensions && s.unit == unit) {
      s.points.push_back({t, value});
      return;
    }
  }
  state_->series.push_back({ns, name, unit, dimensions, {{t, value}}});
}

void FakeCloudWatch::FailNext(int n, int status, std::string code, std::string message) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->fail_next = n;
  state_->fail_status = status;
  state_->fail_code = std::move(code);
  state_->fail_message = std::move(message);
}

int FakeCloudWatch::RequestCount() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->requests;
}

int FakeCloudWatch::RejectedAuth() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->rejected_auth;
}

std::map<std::string, std::string> FakeCloudWatch::LastParams() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->last_params;
}

std::string FakeCloudWatch::LastErrorCode() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->last_error;
}

HttpServerResponse FakeCloudWatch::Handle(const HttpServerRequest& req) {
  std::lock_guard<std::mutex> l(state_->mu);
  ++state_->requests;
  auto fail = [&](int status, const std::string& code, const std::string& message) {
    state_->last_error = code;
    return ErrorXml(status, code, message);
  };
  AwsCredentials creds{kFakeAwsAccessKeyId, kFakeAwsSecretAccessKey, ""};
  if (auto f = VerifySigV4(req, creds, region_, "monitoring")) {
    ++state_->rejected_auth;
    return fail(f->status, f->code, f->message);
  }
  if (req.Header("content-type").rfind("application/x-www-form-urlencoded", 0) != 0) {
    return fail(400, "InvalidParameterValue",
                "the Query API takes a form-encoded body (Content-Type: "
                "application/x-www-form-urlencoded)");
  }
  auto p = ParseAwsForm(req.body);
  state_->last_params = p;
  if (p["Action"] != "GetMetricData") {
    return fail(400, "InvalidAction",
                "Could not find operation " + p["Action"] + " for version " + p["Version"]);
  }
  if (p["Version"] != "2010-08-01") {
    return fail(400, "InvalidParameterValue", "Version must be 2010-08-01");
  }
  if (state_->fail_next > 0) {
    --state_->fail_next;
    return fail(state_->fail_status, state_->fail_code, state_->fail_message);
  }
  // Every parameter must be one GetMetricData has.
  static const std::regex known(
      R"(Action|Version|StartTime|EndTime|ScanBy|MaxDatapoints|NextToken|LabelOptions\.Timezone|)"
      R"(MetricDataQueries\.member\.[0-9]+\.(Id|ReturnData|Label|Period|AccountId|Expression|)"
      R"(MetricStat\.(Period|Stat|Unit|Metric\.(Namespace|MetricName|)"
      R"(Dimensions\.member\.[0-9]+\.(Name|Value)))))");
  for (const auto& [k, v] : p) {
    if (!std::regex_match(k, known)) {
      return fail(400, "InvalidParameterValue", "The parameter " + k + " is not recognized");
    }
  }
  for (const char* k : {"StartTime", "EndTime"}) {
    if (!p.count(k))
      return fail(400, "MissingParameter", std::string("The parameter ") + k + " is required.");
  }
  auto start = ParseAwsTimestamp(p["StartTime"]);
  auto end = ParseAwsTimestamp(p["EndTime"]);
  if (!start || !end) {
    return fail(400, "InvalidParameterValue", "StartTime and EndTime must be ISO 8601 timestamps");
  }
  if (*start >= *end) {
    return fail(400, "InvalidParameterCombination",
                "The parameter StartTime must be less than the parameter EndTime.");
  }
  std::string scan = p.count("ScanBy") ? p["ScanBy"] : "TimestampDescending";
  if (scan != "TimestampDescending" && scan != "TimestampAscending") {
    return fail(400, "InvalidParameterValue",
                "ScanBy must be TimestampDescending or "
                "TimestampAscending");
  }
  double t0 = std::chrono::duration<double>(start->time_since_epoch()).count();
  double t1 = std::chrono::duration<double>(end->time_since_epoch()).count();

  std::string results;
  std::set<std::string> ids;
  int n = 0;
  for (int i = 1;; ++i) {
    std::string q = "MetricDataQueries.member." + std::to_string(i) + ".";
    if (!p.count(q + "Id")) break;
    ++n;
    std::string id = p[q + "Id"];
    static const std::regex id_re("[a-z][a-zA-Z0-9_]*");
    if (!std::regex_match(id, id_re) || !ids.insert(id).second) {
      return fail(400, "InvalidParameterValue",
                  "The value " + id + " for parameter " + q + "Id is not valid or not unique.");
    }
    std::string ms = q + "MetricStat.";
    for (const std::string& k :
         {ms + "Metric.Namespace", ms + "Metric.MetricName", ms + "Period", ms + "Stat"}) {
      if (p[k].empty())
        return fail(400, "MissingParameter", "The parameter " + k + " is required.");
    }
    char* endp = nullptr;
    long period = std::strtol(p[ms + "Period"].c_str(), &endp, 10);
    if (*endp != '\0' || period <= 0 ||
        !(period == 1 || period == 5 || period == 10 || period == 30 || period % 60 == 0)) {
      return fail(400, "InvalidParameterValue",
                  "The parameter " + ms + "Period must be 1, 5, 10, 30 or a multiple of 60.");
    }
    std::string stat = p[ms + "Stat"];
    if (!ValidStat(stat)) {
      return fail(400, "InvalidParameterValue", "The parameter " + ms + "Stat is not valid.");
    }
    std::string unit = p.count(ms + "Unit") ? p[ms + "Unit"] : "";
    if (!unit.empty() && !KnownUnit(unit)) {
      return fail(400, "InvalidParameterValue", "The parameter " + ms + "Unit is not valid.");
    }
    std::map<std::string, std::string> dims;
    for (int d = 1;; ++d) {
      std::string dk = ms + "Metric.Dimensions.member." + std::to_string(d) + ".";
      if (!p.count(dk + "Name")) break;
      if (!p.count(dk + "Value")) {
        return fail(400, "MissingParameter", "The parameter " + dk + "Value is required.");
      }
      dims[p[dk + "Name"]] = p[dk + "Value"];
    }
    // Buckets of `period` seconds (aligned to the epoch) inside the window.
    std::map<long long, std::vector<double>> buckets;
    for (const Series& s : state_->series) {
      if (s.ns != p[ms + "Metric.Namespace"] || s.name != p[ms + "Metric.MetricName"] ||
          s.dims != dims || (!unit.empty() && unit != s.unit)) {
        continue;
      }
      for (const Point& pt : s.points) {
        if (pt.at < t0 || pt.at >= t1) continue;
        auto b = static_cast<long long>(std::floor(pt.at / static_cast<double>(period))) * period;
        buckets[b].push_back(pt.value);
      }
    }
    std::vector<std::pair<long long, double>> points;
    for (auto& [b, values] : buckets) {
      if (auto v = Aggregate(values, stat)) points.emplace_back(b, *v);
    }
    if (scan == "TimestampDescending") std::reverse(points.begin(), points.end());
    std::string ts, vs;
    for (const auto& [b, v] : points) {
      ts += "<member>" + FormatUtc(static_cast<double>(b)) + "</member>";
      vs += "<member>" + Number(v) + "</member>";
    }
    results += "<member><Id>" + XmlEscape(id) + "</Id><Label>" +
               XmlEscape(p[ms + "Metric.MetricName"]) +
               "</Label><StatusCode>Complete</StatusCode>" + "<Timestamps>" + ts +
               "</Timestamps><Values>" + vs + "</Values></member>";
  }
  if (n == 0) {
    return fail(400, "MissingParameter", "The parameter MetricDataQueries is required.");
  }
  if (n > 500) {
    return fail(400, "InvalidParameterValue", "At most 500 MetricDataQueries per request.");
  }
  state_->last_error.clear();
  return AwsXml(200, std::string("<GetMetricDataResponse xmlns=\"") + kNs +
                         "\"><GetMetricDataResult><MetricDataResults>" + results +
                         "</MetricDataResults><Messages/></GetMetricDataResult><ResponseMetadata>"
                         "<RequestId>fake-cloudwatch-request</RequestId></ResponseMetadata>"
                         "</GetMetricDataResponse>");
}

}  // namespace failover::testing
