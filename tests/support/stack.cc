#include "tests/support/stack.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "tests/support/subprocess.h"

extern char** environ;

namespace failover::testing {
namespace {

const char* const kAllComponents[] = {"powerdns", "bind",  "alertmanager", "prometheus", "mariadb",
                                      "postgres", "nginx", "etcd",         "redis"};
// Readiness is bounded inside the script (FAILOVER_STACK_TIMEOUT, 60 s per wait); this
// only guards against a hung script.
constexpr int kScriptLimitSeconds = 600;

std::string ScriptPath() { return std::string(FAILOVER_SOURCE_DIR) + "/scripts/stack"; }

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string Tail(const std::string& s, size_t max) {
  return s.size() <= max ? s : "...\n" + s.substr(s.size() - max);
}

}  // namespace

int RunShell(const std::string& cmd, std::string* out) {
  FILE* f = popen(cmd.c_str(), "re");
  if (f == nullptr) return -1;
  std::string buf;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf.append(chunk, n);
  int st = pclose(f);
  if (out != nullptr) *out = std::move(buf);
  if (st == -1) return -1;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

std::map<std::string, std::string> Stack::ParseExports(const std::string& text) {
  std::map<std::string, std::string> result;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    const std::string prefix = "export ";
    if (line.rfind(prefix, 0) != 0) continue;
    size_t eq = line.find('=', prefix.size());
    if (eq == std::string::npos) continue;
    std::string name = line.substr(prefix.size(), eq - prefix.size());
    std::string value;
    for (size_t i = eq + 1; i < line.size(); ++i) {
      char c = line[i];
      if (c == '\'') {
        size_t close = line.find('\'', i + 1);
        if (close == std::string::npos) close = line.size();
        value += line.substr(i + 1, close - i - 1);
        i = close;
      } else if (c == '\\' && i + 1 < line.size()) {
        value += line[++i];
      } else {
        value += c;
      }
    }
    result[name] = value;
  }
  return result;
}

Stack& Stack::Get(std::vector<std::string> components) {
  // Destroyed at normal process exit, which stops the servers.
  static Stack stack;
  if (components.empty()) components.assign(std::begin(kAllComponents), std::end(kAllComponents));
  stack.Ensure(components);
  return stack;
}

Stack::Stack() : owner_pid_(getpid()) {
  std::string tmpl = "/tmp/failover-stack-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("stack: mkdtemp failed");
  dir_ = tmpl;
  // The postgres OS user must traverse the state dir (scripts/stack does the same).
  chmod(dir_.c_str(), 0711);
  StartWatcher();
}

void Stack::StartWatcher() {
  // Everything the watcher needs is prepared before fork (only async-signal-safe calls
  // after it: the test process may have threads).
  std::vector<std::string> args = {"/usr/bin/env", "FAILOVER_STACK_DIR=" + dir_, ScriptPath(),
                                   "stop", "--clean"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("stack: pipe2 failed");
  pid_t child = fork();
  if (child < 0) throw std::runtime_error("stack: fork failed");
  if (child == 0) {
    // Double fork: the watcher is re-parented away from the test process, so neither a
    // process-group signal nor a kill of the test's process tree reaches it.
    setsid();
    if (fork() != 0) _exit(0);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    long max_fd = sysconf(_SC_OPEN_MAX);
    if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
    for (int fd = 3; fd < max_fd; ++fd) {
      if (fd != fds[0]) close(fd);
    }
    char c;
    ssize_t n;
    do {
      n = read(fds[0], &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1) _exit(0);  // released: the test process stopped the stack itself
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  close(fds[0]);
  watcher_fd_ = fds[1];
  int st;
  while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
  }
}

void Stack::Ensure(const std::vector<std::string>& components) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> missing;
  for (const auto& c : components) {
    auto f = failed_.find(c);
    if (f != failed_.end()) throw std::runtime_error(f->second);
    if (!started_.count(c)) missing.push_back(c);
  }
  if (missing.empty()) return;

  std::vector<std::string> argv = {"/usr/bin/env", "FAILOVER_STACK_DIR=" + dir_, ScriptPath(),
                                   "start"};
  argv.insert(argv.end(), missing.begin(), missing.end());
  Subprocess p(argv, logs_.path());
  auto status = p.Wait(kScriptLimitSeconds);
  if (!status || *status != 0) {
    std::string what = "scripts/stack start";
    for (const auto& c : missing) what += " " + c;
    std::string msg = what + " failed (" +
                      (status ? "exit status " + std::to_string(*status) : "timed out") +
                      ", FAILOVER_STACK_DIR=" + dir_ + "):\n" + Tail(p.Stderr(), 6000);
    for (const auto& c : missing) failed_[c] = msg;
    throw std::runtime_error(msg);
  }
  exports_ = ParseExports(p.Stdout());
  for (const auto& c : missing) started_.insert(c);
}

std::string Stack::Env(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = exports_.find(name);
  if (it == exports_.end()) {
    ADD_FAILURE() << "scripts/stack exported no " << name;
    return "";
  }
  return it->second;
}

bool Stack::Has(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return exports_.count(name) > 0;
}

std::map<std::string, std::string> Stack::Exports() const {
  std::lock_guard<std::mutex> lock(mu_);
  return exports_;
}

std::string Stack::Dir() const { return dir_; }

int Stack::Run(const std::vector<std::string>& args, std::string* out) const {
  std::string cmd = "FAILOVER_STACK_DIR=" + ShellQuote(dir_) + " " + ShellQuote(ScriptPath());
  for (const auto& a : args) cmd += " " + ShellQuote(a);
  return RunShell(cmd, out);
}

int Stack::Shell(const std::string& cmd, std::string* out) const {
  std::string script;
  for (const auto& [name, value] : Exports()) {
    script += "export " + name + "=" + ShellQuote(value) + "\n";
  }
  return RunShell(script + cmd, out);
}

void Stack::Stop() {
  std::vector<std::string> argv = {"/usr/bin/env", "FAILOVER_STACK_DIR=" + dir_, ScriptPath(),
                                   "stop", "--clean"};
  Subprocess p(argv, logs_.path());
  auto status = p.Wait(kScriptLimitSeconds);
  if (!status || *status != 0) {
    fprintf(stderr, "stack: scripts/stack stop --clean failed for %s:\n%s\n", dir_.c_str(),
            p.Stderr().c_str());
    return;  // the watcher tries again when this process exits
  }
  if (watcher_fd_ >= 0) {
    char c = 'q';
    (void)!write(watcher_fd_, &c, 1);
  }
}

Stack::~Stack() {
  // A forked child that calls exit() must not tear down its parent's servers.
  if (getpid() != owner_pid_) return;
  Stop();
  if (watcher_fd_ >= 0) close(watcher_fd_);
}

}  // namespace failover::testing
