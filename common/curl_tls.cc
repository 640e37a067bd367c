#include "common/curl_tls.h"

namespace failover {
namespace {

struct UrlParts {
  std::string scheme, host, port;
};

Result<UrlParts> SplitUrl(const std::string& url) {
  CURLU* u = curl_url();
  UrlParts parts;
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, url.c_str(), 0);
  if (rc != CURLUE_OK) {
    std::string why = curl_url_strerror(rc);
    curl_url_cleanup(u);
    return Error::Invalid("invalid URL \"" + url + "\": " + why);
  }
  char* v = nullptr;
  if (curl_url_get(u, CURLUPART_SCHEME, &v, 0) == CURLUE_OK) parts.scheme = v;
  curl_free(v);
  v = nullptr;
  if (curl_url_get(u, CURLUPART_HOST, &v, 0) == CURLUE_OK) parts.host = v;
  curl_free(v);
  v = nullptr;
  if (curl_url_get(u, CURLUPART_PORT, &v, CURLU_DEFAULT_PORT) == CURLUE_OK) parts.port = v;
  curl_free(v);
  curl_url_cleanup(u);
  return parts;
}

}  // namespace

Status ValidateHttpUrl(const std::string& url) {
  auto parts = SplitUrl(url);
  if (!parts) return parts.error();
  if (parts->scheme != "http" && parts->scheme != "https") {
    return Error::Invalid("invalid URL \"" + url + "\": scheme must be http or https");
  }
  if (parts->host.empty()) return Error::Invalid("invalid URL \"" + url + "\": no host");
  return {};
}

Status PrepareUrlAndTls(const std::string& url, const TlsClientOptions& tls, CurlTlsState& state) {
  state.url = url;
  if (tls.server_name.empty()) return {};
  auto parts = SplitUrl(url);
  if (!parts) return parts.error();
  CURLU* u = curl_url();
  curl_url_set(u, CURLUPART_URL, url.c_str(), 0);
  curl_url_set(u, CURLUPART_HOST, tls.server_name.c_str(), 0);
  char* rewritten = nullptr;
  curl_url_get(u, CURLUPART_URL, &rewritten, 0);
  state.url = rewritten;
  curl_free(rewritten);
  curl_url_cleanup(u);
  std::string entry = tls.server_name + ":" + parts->port + ":" + parts->host + ":" + parts->port;
  state.connect_to = curl_slist_append(state.connect_to, entry.c_str());
  return {};
}

void SetUrlAndTlsOptions(CURL* h, const TlsClientOptions& tls, const CurlTlsState& state) {
  curl_easy_setopt(h, CURLOPT_URL, state.url.c_str());
  if (state.connect_to != nullptr) curl_easy_setopt(h, CURLOPT_CONNECT_TO, state.connect_to);
  if (!tls.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, tls.ca_file.c_str());
  if (!tls.cert_file.empty()) curl_easy_setopt(h, CURLOPT_SSLCERT, tls.cert_file.c_str());
  if (!tls.key_file.empty()) curl_easy_setopt(h, CURLOPT_SSLKEY, tls.key_file.c_str());
  if (tls.insecure_skip_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

Status ApplyUrlAndTls(CURL* h, const std::string& url, const TlsClientOptions& tls,
                      CurlTlsState& state) {
  if (auto s = PrepareUrlAndTls(url, tls, state); !s) return s;
  SetUrlAndTlsOptions(h, tls, state);
  return {};
}

}  // namespace failover
