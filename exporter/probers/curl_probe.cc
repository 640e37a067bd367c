#include "exporter/probers/curl_probe.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

namespace failover {

const MetricDesc kTlsExpiryMetric = {
    "failover_probe_tls_cert_expiry_timestamp_seconds",
    "Earliest notAfter of the certificate chain the target presented, as a Unix timestamp."};

void SetCommonCurlOptions(CURL* h) {
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(h, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
}

ProbeResult CurlFailure(CURL* h, CURLcode rc, const char* errbuf, Duration timeout) {
  std::string text = errbuf != nullptr && errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
  long os_errno = 0;
  curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return ProbeResult::Failure("timeout",
                                  "timeout after " + FormatDuration(timeout) + ": " + text);
    case CURLE_COULDNT_CONNECT:
      if (os_errno == ECONNREFUSED) return ProbeResult::Failure("connection_refused", text);
      return ProbeResult::Failure("connect_failed", text);
    case CURLE_COULDNT_RESOLVE_HOST:
      return ProbeResult::Failure("resolve", text);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return ProbeResult::Failure("tls_verify", text);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
      return ProbeResult::Failure("tls_handshake", text);
    case CURLE_TOO_MANY_REDIRECTS:
      return ProbeResult::Failure("too_many_redirects", text);
    case CURLE_GOT_NOTHING:
      return ProbeResult::Failure("empty_reply", text);
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
      return ProbeResult::Failure("connection_reset", text);
    default:
      return ProbeResult::Failure("error", text);
  }
}

std::optional<double> CertExpiry(CURL* h) {
  curl_certinfo* info = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_CERTINFO, &info) != CURLE_OK || info == nullptr) {
    return std::nullopt;
  }
  std::optional<double> earliest;
  for (int i = 0; i < info->num_of_certs; ++i) {
    for (curl_slist* s = info->certinfo[i]; s != nullptr; s = s->next) {
      const char* prefix = "Expire date:";
      if (std::strncmp(s->data, prefix, std::strlen(prefix)) != 0) continue;
      std::tm tm{};
      // OpenSSL's ASN1_TIME_print form: "Nov 21 23:29:00 2027 GMT"
      if (strptime(s->data + std::strlen(prefix), " %b %d %H:%M:%S %Y", &tm) == nullptr) continue;
      double t = static_cast<double>(timegm(&tm));
      if (!earliest || t < *earliest) earliest = t;
    }
  }
  return earliest;
}

long MillisUntil(MonoTime deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                  std::chrono::steady_clock::now())
                .count();
  return ms < 1 ? 1 : static_cast<long>(ms);
}

}  // namespace failover
