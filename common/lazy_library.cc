#include "common/lazy_library.h"

#include <dlfcn.h>

#include <cstdlib>

#include "common/log.h"

namespace failover {

Status LazyLibrary::Load() {
  std::call_once(once_, [this] {
    void* h = dlopen(soname_, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* why = dlerror();
      error_ = std::string("cannot load ") + soname_ + ", which " + needed_by_ +
               " need: " + (why != nullptr ? why : "unknown reason");
      return;
    }
    handle_ = h;
    log::Debug("loaded a shared library", {{"library", soname_}, {"for", needed_by_}});
  });
  if (handle_.load() == nullptr) return Error::Unavailable(error_);
  return {};
}

bool LazyLibrary::loaded() const { return handle_.load() != nullptr; }

void* LazyLibrary::Symbol(const char* name) {
  if (auto st = Load(); !st) {
    log::Error("broken installation: a library is missing", {{"err", st.error().message}});
    std::abort();
  }
  dlerror();
  void* f = dlsym(handle_.load(), name);
  if (f == nullptr) {
    const char* why = dlerror();
    log::Error("broken installation: a library lacks a function",
               {{"library", soname_}, {"function", name}, {"err", why != nullptr ? why : ""}});
    std::abort();
  }
  return f;
}

}  // namespace failover
