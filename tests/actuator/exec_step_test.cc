// The exec step: argv without a shell, the environment allow-list, output capture,
// timeouts that kill the whole process group, and load-time checks.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "actuator/steps/exec.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using testing::ProcessDead;
using testing::ReadFile;
using testing::TempDir;

Result<std::unique_ptr<Step>> Load(const std::string& body) {
  return testing::LoadListedStep("exec", body, &NewExecStep);
}

std::string Script(const TempDir& dir, const std::string& name, const std::string& text) {
  std::string p = dir.Write(name, "#!/bin/sh\n" + text);
  chmod(p.c_str(), 0755);
  return p;
}

class ExecStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vars_.labels = {{"region", "us-east"}, {"evil", "a b; rm -rf /"}};
    vars_.runbook = "failover-us-east";
    vars_.execution_id = "exec-7";
  }
  StepOutcome Run(
      Step& step, std::function<bool()> cancelled = [] { return false; }) {
    return testing::RunStep(step, SystemClock::Get(), &vars_, nullptr,
                            [&](StepContext& c) { c.cancelled = std::move(cancelled); });
  }
  std::unique_ptr<Step> MustLoad(const std::string& body) {
    auto s = Load(body);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  TempDir dir_;
  TemplateVars vars_;
};

TEST_F(ExecStepTest, EachArgumentStaysOneArgument) {
  std::string script = Script(dir_, "argv.sh",
                              "{ echo \"$#\"; for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done; } "
                              "> \"$OUT\"\n");
  std::string out = dir_.path() + "/argv.txt";
  auto step = MustLoad("{argv: [" + script + ", \"{{labels.region}}\", \"{{labels.evil}}\", " +
                       "'$(touch " + dir_.path() + "/pwned)'], env: {OUT: " + out + "}}");
  ASSERT_TRUE(step);
  EXPECT_EQ(step->kind(), "exec");
  StepOutcome o = Run(*step);
  ASSERT_EQ(o.status, StepStatus::kOk) << o.message;
  EXPECT_EQ(ReadFile(out), "3\n[us-east]\n[a b; rm -rf /]\n[$(touch " + dir_.path() + "/pwned)]\n");
  EXPECT_EQ(ReadFile(dir_.path() + "/pwned"), "");
  struct stat st {};
  EXPECT_NE(stat((dir_.path() + "/pwned").c_str(), &st), 0);
  EXPECT_EQ(o.details["exit_code"], 0);

  auto r = step->Render(vars_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ((*r)["argv"][2], "a b; rm -rf /");
  EXPECT_EQ((*r)["env"]["OUT"], out);
}

TEST_F(ExecStepTest, WorksWithPrintf) {
  auto step = MustLoad("{argv: [/usr/bin/printf, '%s|', \"{{labels.evil}}\", x]}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  ASSERT_EQ(o.status, StepStatus::kOk) << o.message;
  EXPECT_EQ(o.details["output"], "a b; rm -rf /|x|");

  // No carriage return reaches the journal: CRLF is one line break and a lone CR (a
  // progress bar) a line break too, as in the http step's body excerpt.
  step = MustLoad("{argv: [/usr/bin/printf, 'one\\r\\ntwo\\rthree\\001']}");
  ASSERT_TRUE(step);
  o = Run(*step);
  EXPECT_EQ(o.details["output"], "one\ntwo\nthree?") << o.message;
}

TEST_F(ExecStepTest, EnvironmentIsAnAllowList) {
  setenv("FAILOVER_TEST_LEAK", "leaked-value", 1);
  auto step =
      MustLoad("{argv: [/usr/bin/env], env: {REGION: \"{{labels.region}}\", API_TOKEN: hunter2}}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  unsetenv("FAILOVER_TEST_LEAK");
  ASSERT_EQ(o.status, StepStatus::kOk) << o.message;
  std::string env = o.details["output"];
  EXPECT_EQ(env.find("FAILOVER_TEST_LEAK"), std::string::npos) << env;
  EXPECT_EQ(env.find("leaked-value"), std::string::npos) << env;
  EXPECT_NE(env.find("REGION=us-east\n"), std::string::npos) << env;
  EXPECT_NE(env.find("PATH="), std::string::npos) << env;
  // Every variable is one of the allowed ones.
  size_t pos = 0;
  while (pos < env.size()) {
    size_t nl = env.find('\n', pos);
    std::string line = env.substr(pos, nl - pos);
    std::string name = line.substr(0, line.find('='));
    EXPECT_TRUE(name == "PATH" || name == "HOME" || name == "LANG" || name == "REGION" ||
                name == "API_TOKEN")
        << line;
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  auto r = step->Render(vars_);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["env"]["API_TOKEN"], "<redacted>");
  EXPECT_EQ((*r)["env"]["REGION"], "us-east");
}

TEST_F(ExecStepTest, NonZeroExitFailsWithOutput) {
  auto step = MustLoad(
      "{argv: [/bin/sh, -c, 'echo starting; echo \"boom: $1\" >&2; exit 3', sh, "
      "\"{{labels.region}}\"]}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kFailed);
  EXPECT_NE(o.message.find("exited with status 3"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("boom: us-east"), std::string::npos) << o.message;
  EXPECT_EQ(o.details["exit_code"], 3);
  EXPECT_EQ(o.details["output"], "starting\nboom: us-east\n");
}

TEST_F(ExecStepTest, TimeoutKillsTheProcessGroup) {
  std::string pidfile = dir_.path() + "/child.pid";
  // The script leaves a grandchild behind; both must die at the deadline.
  std::string script =
      Script(dir_, "hang.sh", "/bin/sleep 60 &\necho $! > \"$PIDFILE\"\necho waiting\nwait\n");
  auto step = MustLoad("{argv: [" + script + "], env: {PIDFILE: " + pidfile + "}, timeout: 500ms}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kRetryable) << o.message;
  EXPECT_NE(o.message.find("timed out"), std::string::npos) << o.message;
  EXPECT_EQ(o.details["output"], "waiting\n");
  std::string pid_text = ReadFile(pidfile);
  ASSERT_FALSE(pid_text.empty());
  pid_t grandchild = static_cast<pid_t>(std::stol(pid_text));
  EXPECT_TRUE(testing::WaitFor([&] { return ProcessDead(grandchild); }))
      << "sleep " << grandchild << " survived";
}

TEST_F(ExecStepTest, PlainSleepTimesOut) {
  auto step = MustLoad("{argv: [/bin/sleep, '60'], timeout: 200ms}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kRetryable) << o.message;
  EXPECT_NE(o.message.find("timed out"), std::string::npos) << o.message;
}

TEST_F(ExecStepTest, CancellationKillsTheChild) {
  auto step = MustLoad("{argv: [/bin/sleep, '60'], timeout: 1h}");
  ASSERT_TRUE(step);
  std::atomic<int> checks{0};
  StepOutcome o = Run(*step, [&] { return ++checks > 2; });
  EXPECT_EQ(o.status, StepStatus::kRetryable) << o.message;
  EXPECT_NE(o.message.find("cancelled"), std::string::npos) << o.message;
}

TEST_F(ExecStepTest, OutputIsTruncatedToTheTail) {
  auto step = MustLoad(
      "{argv: [/bin/sh, -c, 'head -c 100000 /dev/zero | tr \"\\0\" x; echo; echo last-line']}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  ASSERT_EQ(o.status, StepStatus::kOk) << o.message;
  std::string out = o.details["output"];
  EXPECT_EQ(out.size(), 4096u);
  EXPECT_EQ(out.substr(out.size() - 10), "last-line\n");
  EXPECT_EQ(o.details["output_bytes"], 100011);
  EXPECT_EQ(o.details["output_truncated"], true);
}

TEST_F(ExecStepTest, StdinIsEmpty) {
  auto step = MustLoad("{argv: [/bin/cat], timeout: 10s}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kOk) << o.message;
}

TEST_F(ExecStepTest, KilledBySignalFails) {
  auto step = MustLoad("{argv: [/bin/sh, -c, 'kill -TERM $$']}");
  ASSERT_TRUE(step);
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kFailed);
  EXPECT_NE(o.message.find("signal 15"), std::string::npos) << o.message;
}

TEST_F(ExecStepTest, ProgramRemovedAfterLoadFails) {
  std::string script = Script(dir_, "gone.sh", "exit 0\n");
  auto step = MustLoad("{argv: [" + script + "]}");
  ASSERT_TRUE(step);
  std::remove(script.c_str());
  StepOutcome o = Run(*step);
  EXPECT_EQ(o.status, StepStatus::kFailed);
  EXPECT_NE(o.message.find("No such file"), std::string::npos) << o.message;
}

TEST_F(ExecStepTest, LocatedConfigErrors) {
  std::string not_exec = dir_.Write("plain.txt", "hello\n");
  chmod(not_exec.c_str(), 0644);
  struct Case {
    std::string body;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {"{argv: [notify-ops, x]}",
            "steps[0].exec.argv[0]: the program must be an absolute path"},
           {"{argv: [/nonexistent/failover/notify-ops]}",
            "steps[0].exec.argv[0]: cannot use \"/nonexistent/failover/notify-ops\": No such file"},
           {"{argv: [" + not_exec + "]}",
            "steps[0].exec.argv[0]: \"" + not_exec + "\" is not executable"},
           {"{argv: [/tmp]}", "steps[0].exec.argv[0]: \"/tmp\" is not a regular file"},
           {"{argv: [\"/usr/bin/{{labels.tool}}\"]}",
            "steps[0].exec.argv[0]: the program must be a literal path"},
           {"{argv: []}", "steps[0].exec.argv: argv must name at least the program"},
           {"{argv: /bin/true}", "steps[0].exec.argv: expected a list"},
           {"{argv: [/bin/true, \"{{nope}}\"]}", "steps[0].exec.argv[1]: "},
           {"{timeout: 5s}", "steps[0].exec: missing required key \"argv\""},
           {"{argv: [/bin/true], env: {\"1BAD\": x}}",
            "steps[0].exec.env.1BAD: invalid environment variable name"},
           {"{argv: [/bin/true, [x]]}", "steps[0].exec.argv[1]: expected a string"},
           {"{argv: [/bin/true], env: [REGION]}", "steps[0].exec.env: expected a mapping"},
           {"{argv: [/bin/true], env: {REGION: {a: b}}}",
            "steps[0].exec.env.REGION: expected a string"},
           {"{argv: [/bin/true], env: {REGION: \"{{labels}}\"}}", "steps[0].exec.env.REGION: "},
           {"{argv: [/bin/true], shell: true}", "steps[0].exec.shell: unknown key"},
           {"{argv: [/bin/true], retries: 99}", "steps[0].exec.retries: "},
       }) {
    testing::ExpectListedStepRefused(Load(c.body), c.body, c.want);
  }
}

}  // namespace
}  // namespace failover
