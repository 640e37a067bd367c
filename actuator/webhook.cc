#include <nlohmann/json.hpp>

#include "actuator/alert.h"

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

bool IsHex(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

Result<AlertGroup> ParseAlertmanagerWebhook(std::string_view body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error::Invalid("body is not valid JSON");
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
    if (starts->size() < 20 || (*starts)[4] != '-' || (*starts)[10] != 'T') {
      return Bad(p + "startsAt", "\"" + *starts + "\" is not an RFC 3339 time");
    }
    alert.starts_at = *starts;
    auto ends = GetString(a, "endsAt", p, false);
    if (!ends) return ends.error();
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
