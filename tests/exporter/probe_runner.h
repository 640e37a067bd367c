// Test harness for probers: the exporter's run-time environment (event loop, curl multi,
// c-ares driver) driven from the test thread, plus helpers to build a prober
// from YAML and to render results the way /metrics shows them.
#pragma once

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "common/yaml.h"
#include "exporter/ares_driver.h"
#include "exporter/curl_multi.h"
#include "exporter/event_loop.h"
#include "exporter/prober.h"
#include "exporter/result_store.h"
#include "tests/support/wait.h"

namespace failover::testing {

inline ::testing::AssertionResult HasSubstr(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

inline std::string Describe(const ProbeResult& r) {
  return "success=" + std::to_string(r.success) + " reason=" + r.reason + " detail=" + r.detail;
}

// Builds a prober from `yaml`, whose top-level key is the kind (e.g. "dns:\n  name: x").
inline Result<std::shared_ptr<Prober>> BuildProber(
    const std::string& yaml, ProberFactory factory, Duration timeout = std::chrono::seconds(5),
    const std::map<std::string, RegionConfig>& regions = {}) {
  auto root = YamlNode::LoadString(yaml, "probe.yml");
  if (!root) return root.error();
  auto entries = root->Entries();
  if (!entries || entries->size() != 1) return Error::Invalid("test YAML needs one kind block");
  ProberContext ctx{"test_probe", timeout, &regions};
  return factory((*entries)[0].second, ctx);
}

// The samples of `r` as /metrics renders them for probe "p" (no region, kind "k").
inline std::string RenderSamples(const ProbeResult& r) {
  ResultStore store;
  store.SetProbes({{"p", "", "k", {}}});
  store.Record("p", r, 0.001, WallTime());
  std::string out;
  store.WriteText(out);
  return out;
}

// A configuration a prober refuses (a parameterised test's case): `body` (YAML) gives an
// error containing `expected`, which names the file, line:column and key path.
struct ConfigErrorCase {
  const char* name;
  const char* body;
  const char* expected;
};

// Named in test listings (and ctest) by its name rather than its bytes.
inline void PrintTo(const ConfigErrorCase& c, std::ostream* os) { *os << c.name; }
inline std::string ConfigErrorCaseName(const ::testing::TestParamInfo<ConfigErrorCase>& info) {
  return info.param.name;
}

// The build of a ConfigErrorCase was refused with its expected error.
inline void ExpectRefused(const Result<std::shared_ptr<Prober>>& prober, const ConfigErrorCase& c) {
  ASSERT_FALSE(prober) << "config was accepted";
  EXPECT_TRUE(HasSubstr(prober.error().message, c.expected));
}

inline bool HasLine(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

class ProbeRunner {
 public:
  // Starts a run; `done` is called on this thread, from inside Pump/Run.
  void Start(Prober& prober, MonoTime deadline, ProbeDone done) {
    prober.Start(env_, deadline, std::move(done));
  }

  // Runs the loop until `cond` holds or `limit` passes (a safety net).
  bool Pump(const std::function<bool()>& cond,
            std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    auto give_up = std::chrono::steady_clock::now() + limit;
    while (!cond() && std::chrono::steady_clock::now() < give_up) {
      loop_.RunOnce(
          std::min(give_up, std::chrono::steady_clock::now() + std::chrono::milliseconds(100)));
    }
    return cond();
  }

  // One run with a deadline `timeout` from now; checks `done` is called exactly once.
  ProbeResult Run(Prober& prober, Duration timeout = std::chrono::seconds(5)) {
    std::optional<ProbeResult> result;
    int calls = 0;
    Start(prober, std::chrono::steady_clock::now() + timeout, [&](ProbeResult r) {
      ++calls;
      result = std::move(r);
    });
    auto limit =
        std::chrono::duration_cast<std::chrono::milliseconds>(timeout) + std::chrono::seconds(20);
    if (!Pump([&] { return result.has_value(); },
              std::max<std::chrono::milliseconds>(limit, std::chrono::seconds(30)))) {
      ADD_FAILURE() << "the prober never called done";
      return ProbeResult::Failure("test_harness", "done never called");
    }
    // Anything that would call done a second time is due by now.
    loop_.RunOnce(std::chrono::steady_clock::now());
    EXPECT_EQ(calls, 1);
    return *result;
  }

  // One run of a prober built from YAML (a config error fails the test).
  ProbeResult Run(const Result<std::shared_ptr<Prober>>& built,
                  Duration timeout = std::chrono::seconds(5)) {
    if (!built) {
      ADD_FAILURE() << "config error: " << built.error().message;
      return ProbeResult::Failure("test_harness", built.error().message);
    }
    return Run(**built, timeout);
  }

  EventLoop& loop() { return loop_; }
  AresDriver& ares() { return ares_; }

 private:
  EventLoop loop_;
  CurlMulti curl_{loop_};
  AresDriver ares_{loop_};
  ProbeEnv env_{&loop_, &curl_, &ares_};
};

}  // namespace failover::testing
