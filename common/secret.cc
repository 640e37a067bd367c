#include "common/secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <unordered_map>

namespace failover {
namespace {

// Secret files are read when used (rotation needs no restart), and some are used on every
// request (the webhook's bearer token). A file's value is kept while the file is unchanged:
// same inode, size, modification and change times. A file changed within the last second
// when it was read is not kept: time stamps are coarse (a clock tick), so a second write
// of the same size in the same tick would look unchanged.
struct KeptFile {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  timespec ctime{};
  std::string value;
};

bool Same(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

bool Unchanged(const struct stat& st, const KeptFile& k) {
  return st.st_dev == k.dev && st.st_ino == k.ino && st.st_size == k.size &&
         Same(st.st_mtim, k.mtime) && Same(st.st_ctim, k.ctime);
}

std::mutex g_kept_mu;
std::unordered_map<std::string, KeptFile>& Kept() {
  static auto* kept = new std::unordered_map<std::string, KeptFile>();  // one per path
  return *kept;
}

constexpr off_t kMaxSecretFileBytes = 1 << 20;

Result<std::string> ReadSecretFile(const std::string& path) {
  Error unreadable = Error::Invalid("cannot read secret file " + path);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return unreadable;
  {
    std::lock_guard<std::mutex> l(g_kept_mu);
    auto it = Kept().find(path);
    if (it != Kept().end() && Unchanged(st, it->second)) return it->second.value;
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return unreadable;
  KeptFile k;
  bool ok = fstat(fd, &st) == 0 && st.st_size <= kMaxSecretFileBytes;
  char buf[4096];
  while (ok) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    k.value.append(buf, static_cast<size_t>(n));
    ok = k.value.size() <= static_cast<size_t>(kMaxSecretFileBytes);
  }
  close(fd);
  if (!ok) return unreadable;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  bool settled = now.tv_sec - st.st_ctim.tv_sec >= 2 ||
                 (now.tv_sec - st.st_ctim.tv_sec == 1 && now.tv_nsec >= st.st_ctim.tv_nsec);
  if (S_ISREG(st.st_mode) && settled) {
    k.dev = st.st_dev;
    k.ino = st.st_ino;
    k.size = st.st_size;
    k.mtime = st.st_mtim;
    k.ctime = st.st_ctim;
    std::lock_guard<std::mutex> l(g_kept_mu);
    Kept()[path] = k;
  }
  return k.value;
}

}  // namespace

Result<std::optional<SecretRef>> SecretRef::FromYaml(const YamlNode& parent, std::string_view key) {
  std::string k(key);
  auto inline_v = parent.Get(k);
  auto file_v = parent.Get(k + "_file");
  auto env_v = parent.Get(k + "_env");
  int n = (inline_v ? 1 : 0) + (file_v ? 1 : 0) + (env_v ? 1 : 0);
  if (n == 0) return std::optional<SecretRef>();
  if (n > 1) {
    return parent.Fail("set only one of \"" + k + "\", \"" + k + "_file\" and \"" + k + "_env\"");
  }
  std::optional<SecretRef> ref;
  if (inline_v) {
    auto s = inline_v->AsString();
    if (!s) return s.error();
    ref = Inline(*s);
  } else if (file_v) {
    auto s = file_v->AsString();
    if (!s) return s.error();
    ref = File(*s);
    if (auto r = ref->Resolve(); !r) return file_v->Fail(r.error().message);
  } else {
    auto s = env_v->AsString();
    if (!s) return s.error();
    ref = Env(*s);
    if (auto r = ref->Resolve(); !r) return env_v->Fail(r.error().message);
  }
  return ref;
}

Result<std::string> SecretRef::Resolve() const {
  std::string value;
  switch (source_) {
    case Source::kInline:
      value = ref_;
      break;
    case Source::kFile: {
      auto read = ReadSecretFile(ref_);
      if (!read) return read.error();
      value = std::move(*read);
      break;
    }
    case Source::kEnv: {
      const char* v = std::getenv(ref_.c_str());
      if (v == nullptr) return Error::Invalid("environment variable " + ref_ + " is not set");
      value = v;
      break;
    }
  }
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  if (value.empty()) return Error::Invalid("secret from " + Describe() + " is empty");
  return value;
}

std::string SecretRef::Describe() const {
  switch (source_) {
    case Source::kInline:
      return "inline value";
    case Source::kFile:
      return "file " + ref_;
    case Source::kEnv:
      return "env " + ref_;
  }
  return "?";
}

}  // namespace failover
