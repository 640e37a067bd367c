#include "actuator/steps/exec.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "common/encoding.h"
#include "common/log.h"
#include "common/subprocess.h"

namespace failover {
namespace {

using nlohmann::json;

constexpr size_t kOutputLimit = 4096;  // bytes of output kept (the tail)
constexpr size_t kMessageTail = 200;   // characters of output in the one-line message
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool ValidEnvName(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

bool SecretEnvName(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  for (const char* part : {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "AUTH", "CREDENTIAL"}) {
    if (name.find(part) != std::string::npos) return true;
  }
  return false;
}

// The last characters of the output on one line, for the message.
std::string MessageTail(const std::string& output) {
  std::string s = output;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.size() > kMessageTail) {
    size_t cut = s.size() - kMessageTail;
    while (cut < s.size() && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) ++cut;
    s = "..." + s.substr(cut);
  }
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += " | ";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Seconds(std::chrono::steady_clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", std::chrono::duration<double>(d).count());
  return buf;
}

// What an exec: block asks for (besides timeout, retries, backoff).
struct ExecSpec {
  std::string path;            // argv[0]: an absolute path to an executable file, checked at load
  std::vector<Template> args;  // argv[1..], each rendered into exactly one argument
  // Added to the child's PATH, HOME and LANG (the only variables it inherits).
  std::vector<std::pair<std::string, Template>> env;
};

Result<ExecSpec> ParseExecSpec(const YamlNode& body) {
  ExecSpec spec;
  auto argv_node = body.Require("argv");
  if (!argv_node) return argv_node.error();
  auto items = argv_node->Items();
  if (!items) return items.error();
  if (items->empty()) return argv_node->Fail("argv must name at least the program");
  for (size_t i = 0; i < items->size(); ++i) {
    const YamlNode& item = (*items)[i];
    if (i == 0) {
      auto s = item.AsString();
      if (!s) return s.error();
      const std::string& p = *s;
      if (p.find("{{") != std::string::npos) {
        return item.Fail("the program must be a literal path (no templates)");
      }
      if (p.empty() || p[0] != '/') {
        return item.Fail(
            "the program must be an absolute path (no shell, no PATH lookup), found \"" + p + "\"");
      }
      struct stat st {};
      if (stat(p.c_str(), &st) != 0) {
        return item.Fail("cannot use \"" + p + "\": " + std::strerror(errno));
      }
      if (!S_ISREG(st.st_mode)) return item.Fail("\"" + p + "\" is not a regular file");
      if (access(p.c_str(), X_OK) != 0) {
        return item.Fail("\"" + p + "\" is not executable: " + std::strerror(errno));
      }
      spec.path = p;
      continue;
    }
    auto t = Template::FromYaml(item);
    if (!t) return t.error();
    spec.args.push_back(*t);
  }

  if (auto e = body.Get("env")) {
    auto entries = e->Entries();
    if (!entries) return entries.error();
    for (const auto& [name, value] : *entries) {
      if (!ValidEnvName(name)) {
        return value.Fail("invalid environment variable name \"" + name + "\"");
      }
      auto t = Template::FromYaml(value);
      if (!t) return t.error();
      spec.env.emplace_back(name, *t);
    }
  }
  return spec;
}

class ExecStep final : public Step {
 public:
  explicit ExecStep(ExecSpec spec) : spec_(std::move(spec)) {}

  const std::string& kind() const override {
    static const std::string k = "exec";
    return k;
  }

  Result<json> Render(const TemplateVars& vars) const override {
    auto argv = RenderArgv(vars);
    if (!argv) return argv.error();
    json out = {{"argv", *argv}};
    if (!spec_.env.empty()) {
      json e = json::object();
      for (const auto& [k, t] : spec_.env) {
        auto v = t.Render(vars);
        if (!v) return Error::Invalid("env." + k + ": " + v.error().message);
        e[k] = SecretEnvName(k) ? std::string("<redacted>") : SanitizeUtf8(*v);
      }
      out["env"] = std::move(e);
    }
    return out;
  }

  StepOutcome Run(StepContext& ctx) override {
    if (ctx.vars == nullptr || ctx.clock == nullptr) {
      return StepOutcome::Fail("exec step: incomplete step context");
    }
    const std::string& path = spec_.path;
    auto argv_r = RenderArgv(*ctx.vars);
    if (!argv_r) return StepOutcome::Fail(argv_r.error().message);
    std::vector<std::string> argv = std::move(*argv_r);

    // The environment is an allow-list: nothing else of ours reaches the child.
    std::map<std::string, std::string> envmap;
    for (const char* name : {"PATH", "HOME", "LANG"}) {
      if (const char* v = std::getenv(name)) envmap[name] = v;
    }
    if (envmap.count("PATH") == 0) envmap["PATH"] = kDefaultPath;
    for (const auto& [k, t] : spec_.env) {
      auto v = t.Render(*ctx.vars);
      if (!v) return StepOutcome::Fail("env." + k + ": " + v.error().message);
      if (v->find('\0') != std::string::npos) {
        return StepOutcome::Fail("env." + k + ": rendered value contains a NUL byte");
      }
      envmap[k] = *v;
    }
    for (size_t i = 0; i < argv.size(); ++i) {
      if (argv[i].find('\0') != std::string::npos) {
        return StepOutcome::Fail("argv[" + std::to_string(i) + "]: contains a NUL byte");
      }
    }
    SubprocessSpec spec;
    spec.argv = std::move(argv);
    for (const auto& [k, v] : envmap) spec.env.push_back(k + "=" + v);
    spec.merge_stderr = true;
    spec.output_limit = kOutputLimit;
    spec.keep_tail = true;
    spec.deadline = ctx.deadline;
    spec.clock = ctx.clock;
    spec.cancelled = ctx.cancelled;

    MonoTime start = ctx.clock->Now();
    if (start >= ctx.deadline) return StepOutcome::Retry(path + ": timed out before starting");
    SubprocessResult run = RunSubprocess(spec);
    if (run.exec_errno != 0) {
      return StepOutcome::Fail("exec " + path + ": " + std::strerror(run.exec_errno));
    }
    if (!run.started) return StepOutcome::Retry("exec: " + run.error);
    log::Debug("exec step ran", {{"path", path}, {"pid", static_cast<long>(run.pid)}});
    if (run.timed_out) {
      StepOutcome o =
          StepOutcome::Retry(path + " timed out after " + Seconds(ctx.clock->Now() - start) +
                             "; killed its process group");
      o.details = OutputDetails(run.output, run.output_bytes);
      log::Warn("exec step timed out", {{"path", path}, {"pid", static_cast<long>(run.pid)}});
      return o;
    }
    if (run.cancelled) {
      return StepOutcome::Retry(path + ": cancelled (shutting down); killed its process group");
    }

    json details = OutputDetails(run.output, run.output_bytes);
    std::string tail = MessageTail(details["output"].get<std::string>());
    if (run.exited) {
      int code = run.exit_code;
      details["exit_code"] = code;
      if (code == 0) return StepOutcome::Ok(path + " exited 0", std::move(details));
      StepOutcome o = StepOutcome::Fail(path + " exited with status " + std::to_string(code) +
                                        (tail.empty() ? "" : ": " + tail));
      o.details = std::move(details);
      return o;
    }
    int sig = run.signal;
    details["signal"] = sig;
    const char* name = sigabbrev_np(sig);
    StepOutcome o = StepOutcome::Fail(path + " killed by signal " + std::to_string(sig) +
                                      (name != nullptr ? std::string(" (SIG") + name + ")" : "") +
                                      (tail.empty() ? "" : ": " + tail));
    o.details = std::move(details);
    return o;
  }

 private:
  Result<std::vector<std::string>> RenderArgv(const TemplateVars& vars) const {
    std::vector<std::string> argv = {spec_.path};
    for (size_t i = 0; i < spec_.args.size(); ++i) {
      auto v = spec_.args[i].Render(vars);
      if (!v) return Error::Invalid("argv[" + std::to_string(i + 1) + "]: " + v.error().message);
      argv.push_back(std::move(*v));
    }
    return argv;
  }

  static json OutputDetails(const std::string& output, size_t total) {
    json d = {{"output", SanitizeUtf8(output)}, {"output_bytes", total}};
    if (total > output.size()) d["output_truncated"] = true;
    return d;
  }

  ExecSpec spec_;
};

}  // namespace

Result<std::unique_ptr<Step>> NewExecStep(const YamlNode& body, const StepFactoryContext&) {
  if (auto s = body.ExpectMap(); !s) return s.error();
  auto spec = ParseExecSpec(body);
  if (!spec) return spec.error();
  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  return FinishStep<ExecStep>(body, std::move(*spec), *common);
}

}  // namespace failover
