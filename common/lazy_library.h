// A shared library that the process maps only when it first needs it.
//
// failover_exporter links libcurl, libpq and libmariadb through the forwarding functions
// in common/lazy/ instead of the libraries themselves: an exporter whose probes need none
// of them (http, dns, tcp to an address, redis) never maps them, nor what they pull in
// (GnuTLS, Kerberos, LDAP, SASL, ...), about 4 MiB of resident memory. The first postgres
// probe maps libpq, the first tcp probe of a host name or cloudwatch probe libcurl.
// failover_actuator links the libraries directly (see common/CMakeLists.txt).
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "common/result.h"

namespace failover {

class LazyLibrary {
 public:
  // `soname` as the dynamic loader looks it up (libpq.so.5); `needed_by` says, for the log
  // and errors, what needs it ("postgres probes").
  LazyLibrary(const char* soname, const char* needed_by) : soname_(soname), needed_by_(needed_by) {}
  LazyLibrary(const LazyLibrary&) = delete;
  LazyLibrary& operator=(const LazyLibrary&) = delete;

  // Maps the library unless it is already: the error names the library, what needs it,
  // and the loader's reason. Tried once; a failure stays.
  Status Load();
  // Whether Load() succeeded, without trying it.
  bool loaded() const;
  // The address of function `name`, loading the library first. A library or function
  // that cannot be found ends the process with an error line naming both: it is a broken
  // installation (the package depends on the libraries), and no caller can go on without
  // the function.
  void* Symbol(const char* name);

  const char* soname() const { return soname_; }

 private:
  const char* soname_;
  const char* needed_by_;
  std::once_flag once_;
  std::atomic<void*> handle_{nullptr};
  std::string error_;
};

// The libraries that common/lazy/ forwards to (one definition each, in its file).
LazyLibrary& LazyLibcurl();
LazyLibrary& LazyLibpq();
LazyLibrary& LazyLibmariadb();

}  // namespace failover
