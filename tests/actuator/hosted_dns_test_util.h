// What the tests of the hosted DNS providers (cloudflare_test, linode_test,
// digitalocean_test) share: building a provider from YAML through the provider registry,
// loading a whole actuator.yml with a dns_update runbook and running its step, capturing
// log lines.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actuator/config.h"
#include "actuator/dns/provider.h"
#include "actuator/steps/dns_update.h"
#include "actuator/steps/step.h"
#include "common/http_client.h"
#include "common/log.h"
#include "tests/actuator/step_test_util.h"

namespace failover::testing {

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// `r` is an error whose message contains each of `parts`.
template <typename T>
::testing::AssertionResult FailsWith(const Result<T>& r, std::initializer_list<std::string> parts) {
  if (r) return ::testing::AssertionFailure() << "no error";
  for (const auto& part : parts) {
    if (!Contains(r.error().message, part)) {
      return ::testing::AssertionFailure() << "\"" << part << "\" not in: " << r.error().message;
    }
  }
  return ::testing::AssertionSuccess();
}

// The provider of kind `kind` from `yaml` (the mapping under the kind), as actuator.yml
// builds it.
inline Result<std::shared_ptr<DnsProvider>> MakeProvider(const std::string& kind,
                                                         const std::string& yaml, HttpClient* http,
                                                         Clock* clock) {
  auto node = YamlNode::LoadString(yaml, "actuator.yml");
  if (!node) return node.error();
  DnsProviderContext ctx{http, clock};
  DnsProviderRegistry kinds;
  RegisterBuiltinDnsProviders(kinds);
  if (const DnsProviderKind* k = kinds.Find(kind)) return k->factory(*node, ctx);
  return Error::Internal("no DNS provider kind " + kind);
}

// The dns_update step `step_yaml` (read as actuator.yml) with one provider, `provider`,
// named `name`.
inline Result<std::unique_ptr<Step>> NewDnsUpdateStepWith(const std::string& name,
                                                          std::shared_ptr<DnsProvider> provider,
                                                          const std::string& step_yaml) {
  ProviderMap providers{{name, std::move(provider)}};
  StepFactoryContext fctx;
  fctx.providers = &providers;
  auto node = YamlNode::LoadString(step_yaml, "actuator.yml");
  if (!node) return node.error();
  return NewDnsUpdateStep(*node, fctx);
}

// An actuator.yml with `providers_yaml` (the lines under providers:) and one runbook whose
// only step is `step_yaml` (one dns_update mapping), loaded as the daemon loads it.
class DnsStepRig {
 public:
  explicit DnsStepRig(HttpClient* http) : http_(http), config_(http, &SystemClock::Get()) {}

  Result<std::shared_ptr<Step>> Load(const std::string& providers_yaml,
                                     const std::string& step_yaml) {
    return config_.Load("providers", providers_yaml, "switch", "dns_update", step_yaml);
  }

  StepOutcome Run(Step& step) { return RunStep(step, SystemClock::Get(), nullptr, http_); }

 private:
  HttpClient* http_ = nullptr;
  OneStepConfig config_;
};

// Collects the log lines written while it lives (one at a time per process).
class LogCapture {
 public:
  LogCapture() {
    std::lock_guard<std::mutex> l(mu());
    lines().clear();
    log::SetSink(&Sink);
  }
  ~LogCapture() { log::SetSink(nullptr); }
  std::vector<std::string> Lines() const {
    std::lock_guard<std::mutex> l(mu());
    return lines();
  }
  std::string All() const {
    std::string out;
    for (const auto& s : Lines()) out += s + "\n";
    return out;
  }

 private:
  static std::mutex& mu() {
    static std::mutex m;
    return m;
  }
  static std::vector<std::string>& lines() {
    static std::vector<std::string> v;
    return v;
  }
  static void Sink(std::string_view line) {
    std::lock_guard<std::mutex> l(mu());
    lines().emplace_back(line);
  }
};

}  // namespace failover::testing

namespace failover::testing {

// Sends `method` `url` with the bearer `token` and a JSON `body` straight to a fake, to
// show it rejects what a buggy client would send.
inline HttpResponse SendRaw(const std::string& method, const std::string& url,
                            const std::string& token, const std::string& body) {
  CurlHttpClient http;
  HttpRequest req;
  req.method = method;
  req.url = url;
  req.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  req.body = body;
  auto resp = http.Send(req);
  EXPECT_TRUE(resp) << resp.error().message;
  return resp ? *resp : HttpResponse{};
}

}  // namespace failover::testing
