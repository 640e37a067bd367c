#include "tests/support/subprocess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <stdexcept>
#include <thread>

#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace failover::testing {

bool ProcessDead(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  return stat.empty() ||
         (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z');
}
namespace {
std::atomic<int> g_counter{0};
}

std::string Binary(const std::string& name) {
  return std::string(FAILOVER_BINARY_DIR) + "/bin/" + name;
}

Subprocess::Subprocess(std::vector<std::string> argv, const std::string& dir) {
  int n = g_counter++;
  out_path_ = dir + "/proc" + std::to_string(n) + ".out";
  err_path_ = dir + "/proc" + std::to_string(n) + ".err";
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

Subprocess::~Subprocess() {
  if (Running()) {
    kill(pid_, SIGKILL);
    Wait();
  }
}

void Subprocess::Signal(int sig) const { kill(pid_, sig); }

bool Subprocess::Running() {
  if (status_) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == 0) return true;
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
  return false;
}

std::optional<int> Subprocess::Wait(int limit_seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(limit_seconds);
  while (Running()) {
    if (std::chrono::steady_clock::now() > end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

std::string Subprocess::Stdout() const { return ReadFile(out_path_); }
std::string Subprocess::Stderr() const { return ReadFile(err_path_); }

Subprocess::Output Subprocess::Run(std::vector<std::string> argv, const std::string& dir) {
  Subprocess p(std::move(argv), dir);
  auto st = p.Wait();
  return {st.value_or(-999), p.Stdout(), p.Stderr()};
}

int WaitForListeningPort(Subprocess& p, std::chrono::milliseconds limit) {
  static const std::regex re("msg=listening address=127\\.0\\.0\\.1:([0-9]+)");
  int port = 0;
  WaitFor(
      [&] {
        std::smatch m;
        std::string err = p.Stderr();
        if (std::regex_search(err, m, re)) port = std::stoi(m[1]);
        return port != 0 || !p.Running();
      },
      limit);
  return port;
}

Daemon::Daemon(const std::string& binary, const std::string& config_path, const std::string& dir)
    : process_({Binary(binary), "--config.file=" + config_path, "--web.listen-address=127.0.0.1:0"},
               dir),
      port_(WaitForListeningPort(process_)) {
  EXPECT_NE(port_, 0) << binary << " did not start:\n" << process_.Stderr();
}

}  // namespace failover::testing
