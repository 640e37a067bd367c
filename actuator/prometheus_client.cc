#include "actuator/prometheus_client.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/encoding.h"

namespace failover {
namespace {

using nlohmann::json;

constexpr size_t kDescribeMaxSamples = 10;
constexpr size_t kDescribeMaxChars = 500;
constexpr size_t kBodyExcerptChars = 200;

std::string Excerpt(std::string_view s, size_t max = kBodyExcerptChars) {
  std::string out(s.substr(0, max));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (s.size() > max) out += "...";
  return out;
}

// Prometheus renders sample values as strings: "1", "0.5", "NaN", "+Inf", "-Inf".
Result<double> ParseValue(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return Error::Invalid("sample value is not a string");
  const std::string& s = v.get_ref<const std::string&>();
  if (s == "NaN") return std::nan("");
  if (s == "+Inf" || s == "Inf") return HUGE_VAL;
  if (s == "-Inf") return -HUGE_VAL;
  if (s.empty()) return Error::Invalid("empty sample value");
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end == nullptr || *end != '\0') return Error::Invalid("bad sample value \"" + s + "\"");
  return d;
}

// A [timestamp, "value"] pair.
Result<double> ParsePair(const json& pair) {
  if (!pair.is_array() || pair.size() != 2) {
    return Error::Invalid("sample is not a [timestamp, value] pair");
  }
  return ParseValue(pair[1]);
}

// A native histogram sample [timestamp, {"count": "...", ...}]: its count stands in.
Result<double> ParseHistogramPair(const json& pair) {
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_object() || !pair[1].contains("count")) {
    return Error::Invalid("histogram sample is not a [timestamp, {count, ...}] pair");
  }
  return ParseValue(pair[1]["count"]);
}

Result<std::map<std::string, std::string>> ParseMetric(const json& series) {
  std::map<std::string, std::string> labels;
  auto it = series.find("metric");
  if (it == series.end() || it->is_null()) return labels;
  if (!it->is_object()) return Error::Invalid("series \"metric\" is not an object");
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return Error::Invalid("label \"" + k + "\" is not a string");
    labels[k] = v.get<std::string>();
  }
  return labels;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

std::string FormatSample(const PromSample& s) {
  std::string out;
  auto name = s.labels.find("__name__");
  if (name != s.labels.end()) out += name->second;
  std::string inner;
  for (const auto& [k, v] : s.labels) {
    if (k == "__name__") continue;
    if (!inner.empty()) inner += ", ";
    inner += k + "=\"";
    for (char c : v) {
      if (c == '"' || c == '\\') inner += '\\';
      if (c == '\n') {
        inner += "\\n";
        continue;
      }
      inner += c;
    }
    inner += '"';
  }
  if (!inner.empty() || out.empty()) out += "{" + inner + "}";
  return out + " " + FormatValue(s.value);
}

// The string member `key` of an object, or `fallback` when it is absent or not a string
// (json::value would throw on a number: the body comes from the network).
std::string StringMember(const json& obj, const char* key, const std::string& fallback = "") {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return fallback;
  return it->get<std::string>();
}

// "bad_data: parse error at char 3: ..." from an error envelope, or "" if none.
std::string EnvelopeError(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "";
  std::string type = StringMember(j, "errorType");
  std::string text = StringMember(j, "error");
  if (type.empty() && text.empty()) return "";
  if (type.empty()) return text;
  return type + ": " + text;
}

}  // namespace

bool PromQueryResult::Truthy() const {
  if (result_type == "scalar") {
    // NaN is not a "true" value for a condition (fail safe).
    return !samples.empty() && samples.front().value != 0 && !std::isnan(samples.front().value);
  }
  if (result_type == "string") return false;
  return !samples.empty();
}

std::string PromQueryResult::Describe() const {
  if (result_type == "scalar" && !samples.empty()) {
    return "scalar " + FormatValue(samples.front().value);
  }
  if (samples.empty()) {
    return "empty " + (result_type.empty() ? std::string("result") : result_type);
  }
  std::string out;
  size_t shown = 0;
  for (const auto& s : samples) {
    if (shown == kDescribeMaxSamples) break;
    std::string item = FormatSample(s);
    if (!out.empty()) out += ", ";
    out += item;
    ++shown;
    if (out.size() > kDescribeMaxChars) break;
  }
  if (out.size() > kDescribeMaxChars) {
    // Cut on a UTF-8 boundary.
    size_t cut = kDescribeMaxChars;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
  }
  if (shown < samples.size()) {
    out += " (" + std::to_string(samples.size() - shown) + " more)";
  }
  return out;
}

Result<PromQueryResult> ParsePromQueryResponse(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error::Invalid("Prometheus answer is not a JSON object: " + Excerpt(body));
  }
  std::string status = StringMember(j, "status");
  if (status == "error") {
    std::string type = StringMember(j, "errorType", "unknown");
    std::string text = StringMember(j, "error");
    return Error::Invalid("Prometheus error (" + type + "): " + text);
  }
  if (status != "success") {
    return Error::Invalid("Prometheus answer has status \"" + status + "\"");
  }
  auto data = j.find("data");
  if (data == j.end() || !data->is_object()) {
    return Error::Invalid("Prometheus answer has no \"data\" object");
  }
  PromQueryResult out;
  auto rt = data->find("resultType");
  if (rt == data->end() || !rt->is_string()) {
    return Error::Invalid("Prometheus answer has no data.resultType");
  }
  out.result_type = rt->get<std::string>();
  auto result = data->find("result");
  if (result == data->end()) return Error::Invalid("Prometheus answer has no data.result");
  const json& r = *result;

  auto fail = [](const std::string& where, const Error& e) {
    return Error::Invalid("Prometheus answer: " + where + ": " + e.message);
  };

  if (out.result_type == "scalar") {
    auto v = ParsePair(r);
    if (!v) return fail("data.result", v.error());
    out.samples.push_back({{}, *v});
  } else if (out.result_type == "string") {
    if (!r.is_array() || r.size() != 2 || !r[1].is_string()) {
      return Error::Invalid("Prometheus answer: data.result is not a [timestamp, string] pair");
    }
  } else if (out.result_type == "vector" || out.result_type == "matrix") {
    if (r.is_null()) return out;
    if (!r.is_array()) return Error::Invalid("Prometheus answer: data.result is not a list");
    for (size_t i = 0; i < r.size(); ++i) {
      const json& series = r[i];
      std::string where = "data.result[" + std::to_string(i) + "]";
      if (!series.is_object())
        return Error::Invalid("Prometheus answer: " + where + " is not an object");
      auto labels = ParseMetric(series);
      if (!labels) return fail(where, labels.error());
      PromSample sample;
      sample.labels = std::move(*labels);
      if (out.result_type == "vector") {
        Result<double> v = Error::Invalid("no value");
        if (series.contains("value")) {
          v = ParsePair(series["value"]);
        } else if (series.contains("histogram")) {
          v = ParseHistogramPair(series["histogram"]);
        }
        if (!v) return fail(where, v.error());
        sample.value = *v;
      } else {
        // Matrix: the newest point of each series stands for it.
        const json* last = nullptr;
        bool histogram = false;
        for (const char* key : {"values", "histograms"}) {
          auto it = series.find(key);
          if (it == series.end() || it->is_null()) continue;
          if (!it->is_array())
            return Error::Invalid("Prometheus answer: " + where + "." + key + " is not a list");
          if (!it->empty()) {
            last = &it->back();
            histogram = std::string_view(key) == "histograms";
          }
        }
        if (last == nullptr) continue;  // a series without points says nothing
        auto v = histogram ? ParseHistogramPair(*last) : ParsePair(*last);
        if (!v) return fail(where, v.error());
        sample.value = *v;
      }
      out.samples.push_back(std::move(sample));
    }
  } else {
    return Error::Invalid("Prometheus answer has unknown resultType \"" + out.result_type + "\"");
  }
  return out;
}

Result<PromQueryResult> PromClient::Query(const std::string& promql) {
  std::string base = base_url_;
  while (!base.empty() && base.back() == '/') base.pop_back();
  HttpRequest req;
  req.method = "GET";
  req.url = base + "/api/v1/query?query=" + UrlEncode(promql);
  req.headers = {{"Accept", "application/json"}};
  req.timeout = timeout_;
  req.max_response_bytes = 8 << 20;
  std::string what = "query \"" + Excerpt(promql) + "\"";
  auto resp = http_.Send(req);
  if (!resp) {
    Error e = resp.error();
    e.message = "Prometheus " + what + ": " + e.message;
    e.retryable = true;  // Prometheus down or slow: try again later
    if (e.code != ErrorCode::kTimeout) e.code = ErrorCode::kUnavailable;
    return e;
  }
  int status = resp->status;
  if (status == 200) {
    auto parsed = ParsePromQueryResponse(resp->body);
    if (!parsed) {
      Error e = parsed.error();
      e.message = "Prometheus " + what + ": " + e.message;
      return e;
    }
    return parsed;
  }
  std::string detail = EnvelopeError(resp->body);
  if (detail.empty()) detail = Excerpt(resp->body);
  std::string msg = "Prometheus " + what + ": HTTP " + std::to_string(status);
  if (!detail.empty()) msg += ": " + detail;
  if (status >= 500 || status == 429) return Error::Unavailable(msg);
  // 400 bad_data, 422 execution error, 401/403/404 misconfiguration: retrying will not help.
  return Error::Invalid(msg);
}

}  // namespace failover
