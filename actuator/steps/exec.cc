#include "actuator/steps/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "common/log.h"

namespace failover {
namespace {

using nlohmann::json;

constexpr size_t kOutputLimit = 4096;  // bytes of output kept (the tail)
constexpr size_t kMessageTail = 200;   // characters of output in the one-line message
constexpr int kPollSliceMs = 100;      // cancellation is checked at least this often
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Result<Template> ParseTemplate(const YamlNode& n) {
  auto s = n.AsString();
  if (!s) return s.error();
  auto t = Template::Parse(*s);
  if (!t) return n.Fail(t.error().message);
  return *t;
}

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

// Keeps valid UTF-8 and replaces anything else with '?', so the text is safe in JSON.
std::string SanitizeUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= in.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    }
    if (ok && (c >= 0x20 || c == '\n' || c == '\t' || len > 1)) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += c == '\r' ? '\n' : '?';
      ++i;
    }
  }
  return out;
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

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int* out() { return &fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

class ExecStep final : public Step {
 public:
  std::string path;            // argv[0]: absolute, checked at load
  std::vector<Template> args;  // argv[1..], rendered one by one
  std::vector<std::pair<std::string, Template>> env;

  const std::string& kind() const override {
    static const std::string k = "exec";
    return k;
  }

  Result<json> Render(const TemplateVars& vars) const override {
    auto argv = RenderArgv(vars);
    if (!argv) return argv.error();
    json out = {{"argv", *argv}};
    if (!env.empty()) {
      json e = json::object();
      for (const auto& [k, t] : env) {
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
    auto argv_r = RenderArgv(*ctx.vars);
    if (!argv_r) return StepOutcome::Fail(argv_r.error().message);
    std::vector<std::string> argv = std::move(*argv_r);

    // The environment is an allow-list: nothing else of ours reaches the child.
    std::map<std::string, std::string> envmap;
    for (const char* name : {"PATH", "HOME", "LANG"}) {
      if (const char* v = std::getenv(name)) envmap[name] = v;
    }
    if (envmap.count("PATH") == 0) envmap["PATH"] = kDefaultPath;
    for (const auto& [k, t] : env) {
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
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : envmap) env_strings.push_back(k + "=" + v);
    // Everything the child touches is prepared before fork(): after it, only
    // async-signal-safe calls.
    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (auto& e : env_strings) cenv.push_back(e.data());
    cenv.push_back(nullptr);

    MonoTime start = ctx.clock->Now();
    if (start >= ctx.deadline) return StepOutcome::Retry(path + ": timed out before starting");

    Fd out_r, out_w, err_r, err_w;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
      return StepOutcome::Retry(std::string("exec: pipe: ") + std::strerror(errno));
    }
    *out_r.out() = p[0];
    *out_w.out() = p[1];
    if (pipe2(p, O_CLOEXEC) != 0) {
      return StepOutcome::Retry(std::string("exec: pipe: ") + std::strerror(errno));
    }
    *err_r.out() = p[0];
    *err_w.out() = p[1];
    Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (devnull.get() < 0) {
      return StepOutcome::Retry(std::string("exec: /dev/null: ") + std::strerror(errno));
    }

    pid_t pid = fork();
    if (pid < 0) return StepOutcome::Retry(std::string("exec: fork: ") + std::strerror(errno));
    if (pid == 0) {
      // Child: own session and process group, so the whole tree can be killed at once.
      setsid();
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);  // ignored ones too
      dup2(devnull.get(), 0);
      dup2(out_w.get(), 1);
      dup2(out_w.get(), 2);
      // Nothing of ours (sockets, the journal) leaks into the program.
      if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = 3; fd < 4096; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
      }
      execve(path.c_str(), cargv.data(), cenv.data());
      int e = errno;
      ssize_t ignored = write(err_w.get(), &e, sizeof e);
      (void)ignored;
      _exit(127);
    }
    out_w.Close();
    err_w.Close();
    devnull.Close();

    int exec_errno = 0;
    ssize_t n;
    do {
      n = read(err_r.get(), &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    err_r.Close();
    if (n == static_cast<ssize_t>(sizeof exec_errno)) {
      int st;
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      return StepOutcome::Fail("exec " + path + ": " + std::strerror(exec_errno));
    }
    log::Debug("exec step started", {{"path", path}, {"pid", static_cast<long>(pid)}});

    // Via syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C".
    Fd pidfd(
        static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));  // -1 on old kernels: polled instead
    std::string output;
    size_t total = 0;
    bool eof = false;
    bool exited = false;
    int wstatus = 0;
    auto reap = [&](bool block) {
      if (exited) return;
      int r;
      do {
        r = waitpid(pid, &wstatus, block ? 0 : WNOHANG);
      } while (r < 0 && errno == EINTR);
      if (r == pid) exited = true;
    };
    auto read_some = [&]() {
      char buf[4096];
      ssize_t r = read(out_r.get(), buf, sizeof buf);
      if (r > 0) {
        total += static_cast<size_t>(r);
        output.append(buf, static_cast<size_t>(r));
        if (output.size() > kOutputLimit) output.erase(0, output.size() - kOutputLimit);
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        eof = true;
      }
      return r > 0;
    };
    auto kill_group = [&]() {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      reap(true);
    };

    while (true) {
      reap(false);
      if (exited) {
        // Whatever the program wrote is in the pipe; a background child it left behind
        // may keep the pipe open, so read only what is there.
        fcntl(out_r.get(), F_SETFL, fcntl(out_r.get(), F_GETFL) | O_NONBLOCK);
        while (!eof && read_some()) {
        }
        break;
      }
      MonoTime now = ctx.clock->Now();
      if (now >= ctx.deadline) {
        kill_group();
        StepOutcome o = StepOutcome::Retry(path + " timed out after " + Seconds(now - start) +
                                           "; killed its process group");
        o.details = OutputDetails(output, total);
        log::Warn("exec step timed out", {{"path", path}, {"pid", static_cast<long>(pid)}});
        return o;
      }
      if (ctx.cancelled()) {
        kill_group();
        return StepOutcome::Retry(path + ": cancelled (shutting down); killed its process group");
      }
      auto remaining =
          std::chrono::duration_cast<std::chrono::milliseconds>(ctx.deadline - now).count() + 1;
      int wait_ms = static_cast<int>(std::min<long long>(remaining, kPollSliceMs));
      pollfd fds[2];
      nfds_t nfds = 0;
      int out_idx = -1;
      if (!eof) {
        out_idx = static_cast<int>(nfds);
        fds[nfds++] = {out_r.get(), POLLIN, 0};
      }
      if (pidfd.get() >= 0) {
        fds[nfds++] = {pidfd.get(), POLLIN, 0};
      } else if (eof) {
        wait_ms = std::min(wait_ms, 10);  // no pidfd: poll for the exit
      }
      int r = poll(nfds > 0 ? fds : nullptr, nfds, wait_ms);
      if (r > 0 && out_idx >= 0 && (fds[out_idx].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        read_some();
      }
    }

    json details = OutputDetails(output, total);
    std::string tail = MessageTail(details["output"].get<std::string>());
    if (WIFEXITED(wstatus)) {
      int code = WEXITSTATUS(wstatus);
      details["exit_code"] = code;
      if (code == 0) return StepOutcome::Ok(path + " exited 0", std::move(details));
      StepOutcome o = StepOutcome::Fail(path + " exited with status " + std::to_string(code) +
                                        (tail.empty() ? "" : ": " + tail));
      o.details = std::move(details);
      return o;
    }
    int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
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
    std::vector<std::string> argv = {path};
    for (size_t i = 0; i < args.size(); ++i) {
      auto v = args[i].Render(vars);
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
};

}  // namespace

Result<std::unique_ptr<Step>> NewExecStep(const YamlNode& body, const StepFactoryContext&) {
  if (auto s = body.ExpectKeys(WithCommonKeys({"argv", "env"})); !s) return s.error();
  auto step = std::make_unique<ExecStep>();

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
      step->path = p;
      continue;
    }
    auto t = ParseTemplate(item);
    if (!t) return t.error();
    step->args.push_back(*t);
  }

  if (auto e = body.Get("env")) {
    auto entries = e->Entries();
    if (!entries) return entries.error();
    for (const auto& [name, value] : *entries) {
      if (!ValidEnvName(name)) {
        return value.Fail("invalid environment variable name \"" + name + "\"");
      }
      auto t = ParseTemplate(value);
      if (!t) return t.error();
      step->env.emplace_back(name, *t);
    }
  }

  auto common = ParseStepCommon(body);
  if (!common) return common.error();
  step->set_common(*common);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace failover
