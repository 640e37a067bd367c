// TLS settings on a libcurl handle, shared by the HTTP client and the exporter's probers.
#pragma once

#include <curl/curl.h>

#include <string>

#include "common/http_client.h"
#include "common/result.h"

namespace failover {

// Owns what libcurl keeps pointers to (the URL rewritten for server_name, the CONNECT_TO
// list); must outlive the transfer.
struct CurlTlsState {
  std::string url;
  curl_slist* connect_to = nullptr;
  CurlTlsState() = default;
  CurlTlsState(const CurlTlsState&) = delete;
  CurlTlsState& operator=(const CurlTlsState&) = delete;
  ~CurlTlsState() { curl_slist_free_all(connect_to); }
};

// Sets CURLOPT_URL and the TLS options. With server_name, the request goes to the URL's
// host and port but the certificate is verified against (and SNI names) server_name.
Status ApplyUrlAndTls(CURL* h, const std::string& url, const TlsClientOptions& tls,
                      CurlTlsState& state);

// The two halves of ApplyUrlAndTls, for handles configured again for every transfer:
// PrepareUrlAndTls computes `state` once; SetUrlAndTlsOptions applies it to a handle.
Status PrepareUrlAndTls(const std::string& url, const TlsClientOptions& tls, CurlTlsState& state);
void SetUrlAndTlsOptions(CURL* h, const TlsClientOptions& tls, const CurlTlsState& state);

// Validates an http(s) URL with libcurl's own parser; returns a reason on failure.
Status ValidateHttpUrl(const std::string& url);

}  // namespace failover
