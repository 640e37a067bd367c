#include "common/secret.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace failover {

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
      std::ifstream in(ref_, std::ios::binary);
      if (!in) return Error::Invalid("cannot read secret file " + ref_);
      std::stringstream ss;
      ss << in.rdbuf();
      value = ss.str();
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
