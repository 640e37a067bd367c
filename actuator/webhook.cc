#include <nlohmann/json.hpp>

#include "actuator/alert.h"
#include "common/json_limits.h"

namespace failover {
namespace {

using nlohmann::json;

Error Bad(const std::string& field, const std::string& why) {
  return Error::Invalid(field + ": " + why);
}

Result<std::string> GetString(const json& obj, const std::string& key, const std::string& path,
                              bool required = true) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return Bad(path + key, "missing");
    return std::string();
  }
  if (!it->is_string()) return Bad(path + key, "must be a string");
  return it->get<std::string>();
}

Result<LabelSet> GetLabels(const json& obj, const std::string& key, const std::string& path,
                           bool required) {
  LabelSet out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return Bad(path + key, "missing");
    return out;
  }
  if (!it->is_object()) return Bad(path + key, "must be an object of strings");
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return Bad(path + key + "." + k, "must be a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

// At most 80 characters of `s`, quoted with control characters escaped (JSON style).
std::string Quote(const std::string& s) {
  std::string cut = s.size() > 80 ? s.substr(0, 80) + "..." : s;
  return json(cut).dump(-1, ' ', false, json::error_handler_t::replace);
}

bool Digits(const std::string& s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// RFC 3339 section 5.6 date-time: 2026-11-21T22:40:00Z, 2026-11-21T22:00:00.123+01:00
// (T and Z in either case), with the fields in range (Feb 29 only in leap years, second 60
// for a leap second). Alertmanager's "no end" 0001-01-01T00:00:00Z is one.
bool IsRfc3339(const std::string& s) {
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, &year) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, &month) ||
      s[7] != '-' || !Digits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't') ||
      !Digits(s, 11, 2, &hour) || s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' ||
      !Digits(s, 17, 2, &second)) {
    return false;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return false;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int days = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  if (day < 1 || day > days || hour > 23 || minute > 59 || second > 60) return false;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) return i + 1 == s.size();
  int oh, om;
  return i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && Digits(s, i + 1, 2, &oh) &&
         s[i + 3] == ':' && Digits(s, i + 4, 2, &om) && oh <= 23 && om <= 59;
}

bool IsHex(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

Result<AlertGroup> ParseAlertmanagerWebhook(std::string_view body) {
  // The depth check runs before nlohmann allocates anything (common/json_limits.h).
  auto parsed = ParseJsonBounded(body, kMaxRequestJsonDepth);
  if (!parsed) return parsed.error();
  json doc = std::move(*parsed);
  if (!doc.is_object()) return Error::Invalid("body must be a JSON object");
  AlertGroup g;
  auto version = GetString(doc, "version", "");
  if (!version) return version.error();
  if (*version != "4") {
    return Bad("version", "\"" + *version + "\" is not supported (Alertmanager sends \"4\")");
  }
  g.version = *version;
  auto status = GetString(doc, "status", "");
  if (!status) return status.error();
  if (*status != "firing" && *status != "resolved") {
    return Bad("status", "must be \"firing\" or \"resolved\"");
  }
  g.status = *status;
  auto key = GetString(doc, "groupKey", "", false);
  if (!key) return key.error();
  g.group_key = *key;
  auto receiver = GetString(doc, "receiver", "", false);
  if (!receiver) return receiver.error();
  g.receiver = *receiver;
  auto ext = GetString(doc, "externalURL", "", false);
  if (!ext) return ext.error();
  g.external_url = *ext;
  if (auto it = doc.find("truncatedAlerts"); it != doc.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<long long>() < 0) {
      return Bad("truncatedAlerts", "must be a non-negative integer");
    }
    g.truncated_alerts = it->get<long long>();
  }
  for (auto [name, target] : {std::pair<const char*, LabelSet*>{"groupLabels", &g.group_labels},
                              {"commonLabels", &g.common_labels},
                              {"commonAnnotations", &g.common_annotations}}) {
    auto l = GetLabels(doc, name, "", false);
    if (!l) return l.error();
    *target = *l;
  }
  auto alerts = doc.find("alerts");
  if (alerts == doc.end() || alerts->is_null()) return Bad("alerts", "missing");
  if (!alerts->is_array()) return Bad("alerts", "must be an array");
  if (alerts->empty()) return Bad("alerts", "is empty");
  for (size_t i = 0; i < alerts->size(); ++i) {
    const json& a = (*alerts)[i];
    std::string p = "alerts[" + std::to_string(i) + "].";
    if (!a.is_object()) return Bad("alerts[" + std::to_string(i) + "]", "must be an object");
    Alert alert;
    auto st = GetString(a, "status", p);
    if (!st) return st.error();
    if (*st != "firing" && *st != "resolved") {
      return Bad(p + "status", "must be \"firing\" or \"resolved\"");
    }
    alert.status = *st;
    auto labels = GetLabels(a, "labels", p, true);
    if (!labels) return labels.error();
    if (labels->empty()) return Bad(p + "labels", "is empty");
    alert.labels = *labels;
    auto ann = GetLabels(a, "annotations", p, false);
    if (!ann) return ann.error();
    alert.annotations = *ann;
    auto starts = GetString(a, "startsAt", p);
    if (!starts) return starts.error();
    if (!IsRfc3339(*starts)) {
      return Bad(p + "startsAt", "not an RFC 3339 timestamp: " + Quote(*starts));
    }
    alert.starts_at = *starts;
    auto ends = GetString(a, "endsAt", p, false);
    if (!ends) return ends.error();
    if (!ends->empty() && !IsRfc3339(*ends)) {
      return Bad(p + "endsAt", "not an RFC 3339 timestamp: " + Quote(*ends));
    }
    alert.ends_at = *ends;
    auto gen = GetString(a, "generatorURL", p, false);
    if (!gen) return gen.error();
    alert.generator_url = *gen;
    auto fp = GetString(a, "fingerprint", p);
    if (!fp) return fp.error();
    if (!IsHex(*fp) || fp->size() > 32) return Bad(p + "fingerprint", "must be hexadecimal");
    alert.fingerprint = *fp;
    g.alerts.push_back(std::move(alert));
  }
  return g;
}

}  // namespace failover
