// common/subprocess: argv without a shell, the environment as given, stdout/stderr
// captured up to a limit (head or tail), exit codes and signals, and at the deadline or on
// cancellation the whole process group killed.
#include "common/subprocess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>

#include "common/duration.h"
#include "tests/support/fake_clock.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ProcessDead;
using testing::ReadFile;
using testing::TempDir;

SubprocessSpec Spec(std::vector<std::string> argv, milliseconds timeout = seconds(20)) {
  SubprocessSpec s;
  s.argv = std::move(argv);
  s.env = {"PATH=/usr/bin:/bin"};
  s.deadline = SystemClock::Get().Now() + timeout;
  return s;
}

TEST(SubprocessTest, ExitCodeAndSeparateStreams) {
  auto r = RunSubprocess(Spec({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}));
  ASSERT_TRUE(r.started) << r.error;
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.output, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.timed_out);
}

TEST(SubprocessTest, ZeroExitIsOk) {
  auto r = RunSubprocess(Spec({"/bin/true"}));
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_GT(r.pid, 0);
}

TEST(SubprocessTest, MergedStderrIsInTheOutput) {
  auto s = Spec({"/bin/sh", "-c", "echo one; echo two >&2"});
  s.merge_stderr = true;
  auto r = RunSubprocess(s);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.output, "one\ntwo\n");
  EXPECT_EQ(r.err, "");
}

TEST(SubprocessTest, KilledBySignal) {
  auto r = RunSubprocess(Spec({"/bin/sh", "-c", "kill -TERM $$"}));
  ASSERT_TRUE(r.started) << r.error;
  EXPECT_FALSE(r.exited);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_FALSE(r.ok());
}

TEST(SubprocessTest, SignalsTheCallerIgnoresAreDefaultInTheChild) {
  // The caller ignores SIGTERM; the program must not inherit that.
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGTERM, &ign, &old);
  auto r = RunSubprocess(Spec({"/bin/sh", "-c", "kill -TERM $$; sleep 5"}));
  sigaction(SIGTERM, &old, nullptr);
  EXPECT_EQ(r.signal, SIGTERM);
}

TEST(SubprocessTest, EnvironmentIsExactlyTheOneGiven) {
  setenv("FAILOVER_SUBPROCESS_LEAK", "leaked", 1);
  auto s = Spec({"/usr/bin/env"});
  s.env = {"ONLY=this", "SECOND=two words"};
  auto r = RunSubprocess(s);
  unsetenv("FAILOVER_SUBPROCESS_LEAK");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.output, "ONLY=this\nSECOND=two words\n");
}

TEST(SubprocessTest, ArgumentsAreNotParsedByAShell) {
  auto r = RunSubprocess(Spec({"/bin/echo", "a b; echo injected", "$HOME"}));
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.output, "a b; echo injected $HOME\n");
}

TEST(SubprocessTest, SearchPathFindsTheProgram) {
  auto s = Spec({"echo", "found"});
  s.search_path = true;
  auto r = RunSubprocess(s);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.output, "found\n");

  s.search_path = false;  // a bare name is then a path relative to the cwd: not there
  r = RunSubprocess(s);
  EXPECT_FALSE(r.started);
  EXPECT_EQ(r.exec_errno, ENOENT);
}

TEST(SubprocessTest, MissingProgramIsNotStarted) {
  auto r = RunSubprocess(Spec({"/nonexistent/program"}));
  EXPECT_FALSE(r.started);
  EXPECT_EQ(r.exec_errno, ENOENT);
  EXPECT_NE(r.error.find("/nonexistent/program: "), std::string::npos) << r.error;
}

TEST(SubprocessTest, EmptyArgvIsAnError) {
  auto r = RunSubprocess(Spec({}));
  EXPECT_FALSE(r.started);
  EXPECT_EQ(r.error, "empty command");
}

TEST(SubprocessTest, OutputCapKeepsTheTailOrTheHead) {
  // 100,000 x between "first" and "last"; the program is not stopped by the cap.
  auto s = Spec({"/bin/sh", "-c", "echo first; head -c 100000 /dev/zero | tr '\\0' x; echo last"});
  s.output_limit = 1000;
  for (bool tail : {true, false}) {
    s.keep_tail = tail;
    auto r = RunSubprocess(s);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.output.size(), 1000u);
    EXPECT_EQ(tail ? r.output.substr(995) : r.output.substr(0, 6), tail ? "last\n" : "first\n");
    EXPECT_EQ(r.output_bytes, 100011u);
    EXPECT_TRUE(r.output_truncated());
  }
}

TEST(SubprocessTest, StderrKeepsItsTail) {
  auto s = Spec({"/bin/sh", "-c", "head -c 5000 /dev/zero | tr '\\0' e >&2; echo end >&2"});
  s.stderr_tail = 100;
  auto r = RunSubprocess(s);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.err.size(), 100u);
  EXPECT_EQ(r.err.substr(96), "end\n");
}

TEST(SubprocessTest, StdinIsEmpty) {
  auto r = RunSubprocess(Spec({"/bin/cat"}));
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.output, "");
}

TEST(SubprocessTest, CallerFileDescriptorsAreNotInherited) {
  TempDir dir;
  int fd = ::open((dir.path() + "/held").c_str(), O_CREAT | O_WRONLY, 0600);  // no O_CLOEXEC
  ASSERT_GE(fd, 0);
  auto r = RunSubprocess(
      Spec({"/bin/sh", "-c",
            "test -e /proc/self/fd/" + std::to_string(fd) + " && echo inherited || echo closed"}));
  ::close(fd);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.output, "closed\n");
}

TEST(SubprocessTest, TimeoutKillsTheProcessGroup) {
  TempDir dir;
  std::string pidfile = dir.path() + "/child.pid";
  // The shell leaves a grandchild behind; both must die at the deadline.
  auto r = RunSubprocess(
      Spec({"/bin/sh", "-c", "/bin/sleep 60 & echo $! > " + pidfile + "; echo waiting; wait"},
           milliseconds(500)));
  ASSERT_TRUE(r.started) << r.error;
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.exited);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.output, "waiting\n");
  std::string pid_text = ReadFile(pidfile);
  ASSERT_FALSE(pid_text.empty());
  pid_t grandchild = static_cast<pid_t>(std::stol(pid_text));
  EXPECT_TRUE(testing::WaitFor([&] { return ProcessDead(grandchild); }))
      << "sleep " << grandchild << " survived";
}

TEST(SubprocessTest, DeadlineIsMeasuredOnTheGivenClock) {
  testing::FakeClock clock;
  auto s = Spec({"/bin/sleep", "60"});
  s.clock = &clock;
  s.deadline = clock.Now() + seconds(10);
  std::atomic<int> checks{0};
  s.cancelled = [&] {
    if (++checks == 3) clock.Advance(seconds(11));  // time passes only on the fake clock
    return false;
  };
  auto r = RunSubprocess(s);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.cancelled);
}

TEST(SubprocessTest, CancellationKillsTheProgram) {
  auto s = Spec({"/bin/sleep", "60"}, seconds(3600));
  std::atomic<int> checks{0};
  s.cancelled = [&] { return ++checks > 2; };
  auto r = RunSubprocess(s);
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_TRUE(ProcessDead(r.pid));
}

TEST(SubprocessTest, ABackgroundChildHoldingThePipeDoesNotHoldTheCaller) {
  TempDir dir;
  std::string pidfile = dir.path() + "/child.pid";
  // The program exits at once; the child it leaves keeps stdout open for a while.
  auto s = Spec({"/bin/sh", "-c", "echo started; /bin/sleep 30 & echo $! > " + pidfile});
  auto start = std::chrono::steady_clock::now();
  auto r = RunSubprocess(s);
  auto took = std::chrono::steady_clock::now() - start;
  std::string pid_text = ReadFile(pidfile);
  if (!pid_text.empty()) kill(static_cast<pid_t>(std::stol(pid_text)), SIGKILL);
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.output, "started\n");
  EXPECT_LT(took, seconds(15));  // not blocked until the child closes the pipe
}

TEST(FdTest, ClosesOnceAndMoves) {
  Fd r, w;
  ASSERT_TRUE(MakePipe(r, w));
  int raw = w.get();
  Fd moved(std::move(w));
  EXPECT_EQ(w.get(), -1);  // NOLINT(bugprone-use-after-move): the moved-from state
  EXPECT_EQ(moved.get(), raw);
  EXPECT_NE(fcntl(raw, F_GETFD) & FD_CLOEXEC, 0);
  moved.Close();
  EXPECT_FALSE(moved.valid());
  EXPECT_EQ(fcntl(raw, F_GETFD), -1);  // closed
  char c;
  EXPECT_EQ(read(r.get(), &c, 1), 0);  // the reader sees end of file
}

}  // namespace
}  // namespace failover
