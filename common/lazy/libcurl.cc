// libcurl's functions that failover_exporter calls (common/http_client.cc,
// exporter/curl_multi.cc, the tcp and cloudwatch probes), forwarded to libcurl.so.4 mapped
// on the first call: see common/lazy_library.h.
#define CURL_DISABLE_TYPECHECK  // the type-checking macros would rename the definitions
#include <curl/curl.h>

#include <cstdarg>

#include "common/lazy/forward.h"

namespace failover {
LazyLibrary& LazyLibcurl() {
  static LazyLibrary lib("libcurl.so.4",
                         "tcp probes of a host name or with TLS and cloudwatch probes");
  return lib;
}
}  // namespace failover

using failover::LazyLibcurl;

// clang-format off
FAILOVER_LAZY_FORWARD(LazyLibcurl, void, curl_easy_cleanup, (CURL* h), (h))
FAILOVER_LAZY_FORWARD(LazyLibcurl, CURL*, curl_easy_init, (void), ())
FAILOVER_LAZY_FORWARD(LazyLibcurl, CURLcode, curl_easy_perform, (CURL* h), (h))
FAILOVER_LAZY_FORWARD(LazyLibcurl, void, curl_easy_reset, (CURL* h), (h))
FAILOVER_LAZY_FORWARD(LazyLibcurl, const char*, curl_easy_strerror, (CURLcode rc), (rc))
FAILOVER_LAZY_FORWARD(LazyLibcurl, void, curl_free, (void* p), (p))
FAILOVER_LAZY_FORWARD(LazyLibcurl, CURLcode, curl_global_init, (long flags), (flags))
FAILOVER_LAZY_FORWARD(LazyLibcurl, CURLMcode, curl_multi_add_handle, (CURLM* m, CURL* h), (m, h))
FAILOVER_LAZY_FORWARD(LazyLibcurl, CURLMcode, curl_multi_cleanup, (CURLM* m), (m))
FAILOVER_LAZY_FORWARD(LazyLibcurl, CURLMsg*, curl_multi_info_read, (CURLM* m, int* left), (m, left))
FAILOVER_LAZY_FORWARD(LazyLibcurl, CURLM*, curl_multi_init, (void), ())
FAILOVER_LAZY_FORWARD(LazyLibcurl, CURLMcode, curl_multi_remove_handle, (CURLM* m, CURL* h),
                      (m, h))
FAILOVER_LAZY_FORWARD(LazyLibcurl, CURLMcode, curl_multi_socket_action,
                      (CURLM* m, curl_socket_t s, int events, int* running),
                      (m, s, events, running))
FAILOVER_LAZY_FORWARD(LazyLibcurl, curl_slist*, curl_slist_append, (curl_slist* list, const char* s),
                      (list, s))
FAILOVER_LAZY_FORWARD(LazyLibcurl, void, curl_slist_free_all, (curl_slist* list), (list))
FAILOVER_LAZY_FORWARD(LazyLibcurl, CURLU*, curl_url, (void), ())
FAILOVER_LAZY_FORWARD(LazyLibcurl, void, curl_url_cleanup, (CURLU* u), (u))
FAILOVER_LAZY_FORWARD(LazyLibcurl, CURLUcode, curl_url_get,
                      (CURLU* u, CURLUPart what, char** part, unsigned int flags),
                      (u, what, part, flags))
FAILOVER_LAZY_FORWARD(LazyLibcurl, CURLUcode, curl_url_set,
                      (CURLU* u, CURLUPart what, const char* part, unsigned int flags),
                      (u, what, part, flags))
FAILOVER_LAZY_FORWARD(LazyLibcurl, const char*, curl_url_strerror, (CURLUcode rc), (rc))
// clang-format on

// The three variadic functions take exactly one argument after the option, of the type
// the option's number range gives (libcurl's CURLOPTTYPE_* constants): it is read as that type
// and passed on as that type.
namespace {

using AnyFunction = void (*)();

template <typename Call>
auto ForwardOption(int option, va_list ap, Call call) {
  if (option < CURLOPTTYPE_OBJECTPOINT) return call(va_arg(ap, long));
  if (option < CURLOPTTYPE_FUNCTIONPOINT) return call(va_arg(ap, void*));
  if (option < CURLOPTTYPE_OFF_T) return call(va_arg(ap, AnyFunction));
  if (option < CURLOPTTYPE_BLOB) return call(va_arg(ap, curl_off_t));
  return call(va_arg(ap, void*));
}

}  // namespace

// va_start after an enum parameter: clang warns that the enum might promote to another
// type; CURLoption, CURLMoption and CURLINFO have no negative values, so each is
// compatible with unsigned int, which does not promote, and libcurl's own definitions of
// these functions do the same.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wvarargs"
#endif

extern "C" CURLcode curl_easy_setopt(CURL* h, CURLoption option, ...) {
  static auto* const real =
      reinterpret_cast<decltype(&curl_easy_setopt)>(LazyLibcurl().Symbol("curl_easy_setopt"));
  va_list ap;
  va_start(ap, option);
  CURLcode rc = ForwardOption(option, ap, [&](auto value) { return real(h, option, value); });
  va_end(ap);
  return rc;
}

extern "C" CURLMcode curl_multi_setopt(CURLM* m, CURLMoption option, ...) {
  static auto* const real =
      reinterpret_cast<decltype(&curl_multi_setopt)>(LazyLibcurl().Symbol("curl_multi_setopt"));
  va_list ap;
  va_start(ap, option);
  CURLMcode rc = ForwardOption(option, ap, [&](auto value) { return real(m, option, value); });
  va_end(ap);
  return rc;
}

// Every CURLINFO_* takes a pointer to where the answer goes.
extern "C" CURLcode curl_easy_getinfo(CURL* h, CURLINFO info, ...) {
  static auto* const real =
      reinterpret_cast<decltype(&curl_easy_getinfo)>(LazyLibcurl().Symbol("curl_easy_getinfo"));
  va_list ap;
  va_start(ap, info);
  void* out = va_arg(ap, void*);
  va_end(ap);
  return real(h, info, out);
}
