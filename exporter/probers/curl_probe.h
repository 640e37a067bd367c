// What the probers that run one libcurl transfer on the exporter's multi loop share (tcp
// of a host name or with TLS, cloudwatch; the http probe has its own client,
// exporter/probers/http_exchange.h): libcurl's outcome as failure reasons, phase timings
// and the TLS certificate expiry. kTlsExpiryMetric is every TLS probe's.
#pragma once

#include <curl/curl.h>

#include <optional>
#include <string>

#include "common/config_fields.h"  // ParseTlsClientOptions, the probes' tls: block
#include "common/http_client.h"
#include "common/result.h"
#include "common/yaml.h"
#include "exporter/prober.h"

namespace failover {

extern const MetricDesc kTlsExpiryMetric;

// Options every probe handle gets: no signals, no proxy from the environment, a fresh
// connection (a dead listener must not hide behind a reused one), no connection reuse.
void SetCommonCurlOptions(CURL* h);

// Maps a failed transfer to (reason, detail). `errbuf` is CURLOPT_ERRORBUFFER's text.
ProbeResult CurlFailure(CURL* h, CURLcode rc, const char* errbuf, Duration timeout);

// The earliest notAfter of the peer's certificate chain (needs CURLOPT_CERTINFO).
std::optional<double> CertExpiry(CURL* h);

// Milliseconds left until `deadline`, at least 1.
long MillisUntil(MonoTime deadline);

}  // namespace failover
