#include "common/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "common/curl_tls.h"

namespace failover {
namespace {

struct Collect {
  HttpResponse* resp;
  size_t limit;
  bool overflow = false;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<Collect*>(user);
  size_t len = size * n;
  if (c->resp->body.size() + len > c->limit) {
    c->overflow = true;
    return 0;  // aborts the transfer
  }
  c->resp->body.append(data, len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<Collect*>(user);
  size_t len = size * n;
  std::string line(data, len);
  if (line.rfind("HTTP/", 0) == 0) {
    c->resp->headers.clear();  // a new response (after a redirect or 100-continue)
    return len;
  }
  size_t colon = line.find(':');
  if (colon == std::string::npos) return len;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  size_t b = line.find_first_not_of(" \t", colon + 1);
  size_t e = line.find_last_not_of(" \t\r\n");
  c->resp->headers[name] = (b == std::string::npos || e < b) ? "" : line.substr(b, e - b + 1);
  return len;
}

}  // namespace

std::string HttpResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_ALL); });
}

Result<HttpResponse> CurlHttpClient::Send(const HttpRequest& req) {
  InitCurl();
  CURL* h = curl_easy_init();
  if (h == nullptr) return Error::Internal("curl_easy_init failed");
  HttpResponse resp;
  Collect collect{&resp, req.max_response_bytes};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers) {
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  }
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(
                       std::chrono::duration_cast<std::chrono::milliseconds>(req.timeout).count()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &collect);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &collect);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (!req.body.empty() || (req.method != "GET" && req.method != "HEAD")) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  CurlTlsState tls_state;
  if (auto st = ApplyUrlAndTls(h, req.url, req.tls, tls_state); !st) {
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return st.error();
  }
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  if (collect.overflow) {
    return Error::Invalid(req.method + " " + req.url + ": response larger than " +
                          std::to_string(req.max_response_bytes) + " bytes");
  }
  if (rc != CURLE_OK) {
    Error e;
    e.code = rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kTimeout : ErrorCode::kUnavailable;
    e.retryable = rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_CONNECT ||
                  rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
                  rc == CURLE_COULDNT_RESOLVE_HOST;
    e.message = req.method + " " + req.url + ": " +
                (errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc));
    return e;
  }
  resp.status = static_cast<int>(status);
  return resp;
}

}  // namespace failover
