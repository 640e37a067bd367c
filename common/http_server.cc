#include "common/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>

#include "common/log.h"

namespace failover {
namespace {

std::once_flag g_init_once;
std::string g_tls_compat_error;  // why the civetweb TLS shims could not be loaded

// See common/tls_compat/ssl_shim.c: load the shims whose SONAMEs answer civetweb's
// dlopen("libssl.so") and dlopen("libcrypto.so"), from <binary dir>/../lib/failover/.
void LoadTlsCompat() {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    g_tls_compat_error = "cannot find the running binary";
    return;
  }
  std::string dir(exe, static_cast<size_t>(n));
  dir = dir.substr(0, dir.rfind('/')) + "/../lib/failover/";
  for (const char* name : {"libfailover_civetweb_crypto.so", "libfailover_civetweb_ssl.so"}) {
    std::string path = dir + name;
    if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
      const char* why = dlerror();
      g_tls_compat_error = "cannot load " + path + " (install it with the binaries): " +
                           (why != nullptr ? why : "unknown error");
      return;
    }
  }
}

const char* StatusText(int status) {
  const char* t = mg_get_response_code_text(nullptr, status);
  return t != nullptr ? t : "";
}

int LogMessage(const mg_connection*, const char* message) {
  log::Debug("http server", {{"detail", message}});
  return 1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) {
        out += s[i];
        continue;
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string OpensslError() {
  char buf[256] = {0};
  unsigned long e = ERR_get_error();
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return e != 0 ? buf : "unknown error";
}

int OpensslVersion(TlsVersion v) {
  switch (v) {
    case TlsVersion::kTls10:
      return TLS1_VERSION;
    case TlsVersion::kTls11:
      return TLS1_1_VERSION;
    case TlsVersion::kTls12:
      return TLS1_2_VERSION;
    case TlsVersion::kTls13:
      return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

// Certificates that are asked for but not verified (RequestClientCert,
// RequireAnyClientCert) are accepted whatever their chain.
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

}  // namespace

void ApplyWebOptions(const WebOptions& web, HttpServerOptions* options) {
  options->web_config_file = web.config_file;
  if (web.max_connections > 0) options->num_threads = web.max_connections;
  options->request_timeout_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(web.request_timeout).count());
  options->max_header_bytes = web.max_header_bytes;
}

std::string HttpServerRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::string HttpServerRequest::QueryParam(const std::string& name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    size_t eq = part.find('=');
    if (PercentDecode(part.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return "";
}

HttpServerResponse HttpServerResponse::Text(int status, std::string body) {
  HttpServerResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpServerResponse HttpServerResponse::Json(int status, std::string body) {
  HttpServerResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpServerResponse HttpServerResponse::Html(std::string body) {
  HttpServerResponse r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Result<std::pair<std::string, int>> ParseListenAddress(const std::string& address) {
  auto bad = [&](const std::string& why) {
    return Error::Invalid("invalid listen address \"" + address + "\": " + why +
                          " (expected host:port or :port)");
  };
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  std::string host = address.substr(0, colon);
  std::string port_s = address.substr(colon + 1);
  if (!host.empty() && host.front() == '[') return bad("IPv6 listeners are not supported");
  if (host.find(':') != std::string::npos) return bad("IPv6 listeners are not supported");
  if (port_s.empty() || port_s.size() > 5 ||
      port_s.find_first_not_of("0123456789") != std::string::npos) {
    return bad("port must be a number");
  }
  int port = std::stoi(port_s);
  if (port > 65535) return bad("port out of range");
  return std::make_pair(host, port);
}

HttpServer::~HttpServer() {
  if (ctx_ == nullptr) return;
  // civetweb's listener polls with a 2 s quantum before it notices the stop flag; poke it
  // with connections until mg_stop returns so shutdown takes milliseconds, not seconds.
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    mg_stop(ctx_);
    stopped = true;
  });
  std::string host = bound_.substr(0, bound_.rfind(':'));
  if (host == "0.0.0.0") host = "127.0.0.1";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  while (!stopped) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      close(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stopper.join();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      std::vector<Route> routes) {
  std::call_once(g_init_once, [] {
    LoadTlsCompat();
    mg_init_library(MG_FEATURES_TLS);
  });
  auto hp = ParseListenAddress(options.listen_address);
  if (!hp) return hp.error();
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->options_ = options;
  server->routes_ = std::move(routes);
  auto web = std::make_shared<WebConfig>();
  if (!options.web_config_file.empty()) {
    auto loaded = LoadWebConfigFile(options.web_config_file);
    if (!loaded) return loaded.error();
    *web = std::move(*loaded);
  }
  server->web_.auth = std::make_shared<BasicAuthVerifier>(web->basic_auth_users);
  server->web_.config = std::move(web);
  bool tls = server->web_.config->tls.has_value();
  if (tls && !g_tls_compat_error.empty()) {
    return Error::Unavailable("tls_server_config: TLS unavailable: " + g_tls_compat_error);
  }
  if (tls && mg_check_feature(MG_FEATURES_TLS) == 0) {
    return Error::Unavailable("tls_server_config: this civetweb build cannot serve TLS");
  }
  std::string ports = (hp->first.empty() ? std::to_string(hp->second)
                                         : hp->first + ":" + std::to_string(hp->second)) +
                      (tls ? "s" : "");
  std::string threads = std::to_string(options.num_threads);
  std::string timeout = std::to_string(options.request_timeout_ms);
  std::string max_request = std::to_string(options.max_header_bytes);
  const char* opts[] = {"listening_ports", ports.c_str(), "num_threads", threads.c_str(),
                        // Accepted connections waiting for a worker; when full, further
                        // ones wait in the kernel's listen backlog. That backlog is as long
                        // as the kernel allows (net.core.somaxconn): with 128, 200 clients
                        // at once overflowed it, and a connection it drops is a SYN resent
                        // after 1 s, then 3 s, 7 s (a webhook p99 of 8 s in bench/).
                        "connection_queue", threads.c_str(), "listen_backlog", "4096",
                        "request_timeout_ms", timeout.c_str(), "max_request_size",
                        max_request.c_str(), "enable_keep_alive", options.keep_alive ? "yes" : "no",
                        nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof callbacks);
  callbacks.log_message = LogMessage;
  if (tls) callbacks.init_ssl = &HttpServer::InitSsl;
  char errbuf[256] = {0};
  mg_init_data init;
  std::memset(&init, 0, sizeof init);
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = opts;
  mg_error_data err;
  std::memset(&err, 0, sizeof err);
  err.text = errbuf;
  err.text_buffer_size = sizeof errbuf;
  server->ctx_ = mg_start2(&init, &err);
  if (server->ctx_ == nullptr) {
    if (!server->tls_error_.empty()) {
      return Error::Invalid(options.web_config_file + ": " + server->tls_error_);
    }
    return Error::Unavailable("cannot listen on " + options.listen_address + ": " +
                              (errbuf[0] != '\0' ? errbuf : "unknown error"));
  }
  mg_server_port sp[4];
  int n = mg_get_server_ports(server->ctx_, 4, sp);
  server->port_ = n > 0 ? sp[0].port : hp->second;
  server->bound_ = (hp->first.empty() ? std::string("0.0.0.0") : hp->first) + ":" +
                   std::to_string(server->port_);
  mg_set_request_handler(server->ctx_, "/", &HttpServer::Dispatch, server.get());
  return server;
}

HttpServer::WebState HttpServer::web() const {
  std::lock_guard<std::mutex> lock(web_mu_);
  return web_;
}

bool HttpServer::tls() const { return web().config->tls.has_value(); }

bool HttpServer::basic_auth_enabled() const { return web().auth->enabled(); }

Status HttpServer::ReloadWebConfig() {
  if (options_.web_config_file.empty()) return {};
  auto loaded = LoadWebConfigFile(options_.web_config_file);
  if (!loaded) return loaded.error();
  WebState cur = web();
  const auto& old_tls = cur.config->tls;
  const auto& new_tls = loaded->tls;
  if (old_tls.has_value() != new_tls.has_value() ||
      (old_tls && !old_tls->SameListenerSettings(*new_tls))) {
    return Error::Invalid(options_.web_config_file +
                          ": tls_server_config: turning TLS on or off, client_auth_type, "
                          "client_ca_file, min_version and max_version change only at a restart");
  }
  if (new_tls) {
    // The handshakes will read these files: refuse a reload that points at unusable ones.
    SSL_CTX* probe = SSL_CTX_new(TLS_server_method());
    std::string why;
    if (probe == nullptr) {
      why = "cannot create a TLS context";
    } else if (SSL_CTX_use_certificate_chain_file(probe, new_tls->cert_file.c_str()) != 1) {
      why = "cert_file \"" + new_tls->cert_file + "\" cannot be loaded";
    } else if (SSL_CTX_use_PrivateKey_file(probe, new_tls->key_file.c_str(), SSL_FILETYPE_PEM) !=
               1) {
      why = "key_file \"" + new_tls->key_file + "\" cannot be loaded";
    } else if (SSL_CTX_check_private_key(probe) != 1) {
      why = "key_file \"" + new_tls->key_file + "\" does not match cert_file";
    }
    SSL_CTX_free(probe);
    if (!why.empty()) {
      return Error::Invalid(options_.web_config_file + ": tls_server_config: " + why + ": " +
                            OpensslError());
    }
  }
  WebState next;
  // Same users and hashes: keep the verifier and its cache of verified credentials.
  next.auth = loaded->basic_auth_users == cur.config->basic_auth_users
                  ? cur.auth
                  : std::make_shared<BasicAuthVerifier>(loaded->basic_auth_users);
  next.config = std::make_shared<const WebConfig>(std::move(*loaded));
  std::lock_guard<std::mutex> lock(web_mu_);
  web_ = std::move(next);
  return {};
}

int HttpServer::InitSsl(void* ssl_ctx, void* self) {
  auto* server = static_cast<HttpServer*>(self);
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  const TlsServerConfig& tls = *server->web().config->tls;
  auto fail = [&](const std::string& what) {
    server->tls_error_ = "tls_server_config: " + what + ": " + OpensslError();
    return -1;
  };
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(ctx, OpensslVersion(tls.min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, OpensslVersion(tls.max_version)) != 1) {
    return fail("min_version/max_version");
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
    return fail("cert_file \"" + tls.cert_file + "\" cannot be loaded");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("key_file \"" + tls.key_file + "\" cannot be loaded");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail("key_file \"" + tls.key_file + "\" does not match cert_file");
  }
  int mode = SSL_VERIFY_NONE;
  bool verify = false;
  switch (tls.client_auth) {
    case ClientAuthType::kNoClientCert:
      break;
    case ClientAuthType::kRequestClientCert:
      mode = SSL_VERIFY_PEER;
      break;
    case ClientAuthType::kRequireAnyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      break;
    case ClientAuthType::kVerifyClientCertIfGiven:
      mode = SSL_VERIFY_PEER;
      verify = true;
      break;
    case ClientAuthType::kRequireAndVerifyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      verify = true;
      break;
  }
  if (verify) {
    if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
      return fail("client_ca_file \"" + tls.client_ca_file + "\" cannot be loaded");
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, mode, nullptr);
    SSL_CTX_set_verify_depth(ctx, 9);
  } else {
    SSL_CTX_set_verify(ctx, mode, mode == SSL_VERIFY_NONE ? nullptr : AcceptAnyCertificate);
  }
  // The certificate and key are read again at every handshake (from the paths of the
  // current web config), so a renewed certificate is served without a restart.
  SSL_CTX_set_cert_cb(ctx, &HttpServer::CertCallback, server);
  return 1;  // civetweb needs no ssl_certificate of its own
}

int HttpServer::CertCallback(ssl_st* ssl, void* self) {
  auto* server = static_cast<HttpServer*>(self);
  auto cfg = server->web().config;
  const TlsServerConfig& tls = *cfg->tls;
  if (SSL_use_certificate_chain_file(ssl, tls.cert_file.c_str()) != 1 ||
      SSL_use_PrivateKey_file(ssl, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_check_private_key(ssl) != 1) {
    log::Error("TLS handshake refused: cannot load the certificate",
               {{"cert_file", tls.cert_file}, {"key_file", tls.key_file}, {"err", OpensslError()}});
    return 0;
  }
  return 1;
}

int HttpServer::Dispatch(mg_connection* conn, void* self) {
  auto* server = static_cast<HttpServer*>(self);
  HttpServerResponse resp;
  WebState web = server->web();
  const mg_request_info* ri = mg_get_request_info(conn);
  const char* authorization = mg_get_header(conn, "Authorization");
  if (web.auth->enabled() &&
      !web.auth->CheckHeader(authorization != nullptr ? authorization : "")) {
    // basic_auth_users guard every route of the listener, before any handler runs.
    resp = HttpServerResponse::Text(401, "Unauthorized\n");
    resp.headers.emplace_back("WWW-Authenticate", "Basic realm=\"failover\"");
    log::Debug("basic auth refused", {{"remote", ri->remote_addr}});
  } else {
    try {
      resp = server->Handle(conn);
    } catch (const std::exception& e) {
      log::Error("http handler failed", {{"err", e.what()}});
      resp = HttpServerResponse::Text(500, "internal error\n");
    }
  }
  for (const auto& h : web.config->headers) resp.headers.push_back(h);
  bool chunked = false;
  if (resp.stream) {
    if (ri->http_version != nullptr && std::string_view(ri->http_version) == "1.1") {
      chunked = true;
    } else {
      while (resp.stream(resp.body)) {
      }
      resp.stream = nullptr;
    }
  }
  std::string head = "HTTP/1.1 " + std::to_string(resp.status) + " " + StatusText(resp.status) +
                     "\r\nContent-Type: " + resp.content_type +
                     (chunked ? std::string("\r\nTransfer-Encoding: chunked")
                              : "\r\nContent-Length: " + std::to_string(resp.body.size())) +
                     "\r\nCache-Control: no-store\r\n";
  for (const auto& [k, v] : resp.headers) head += k + ": " + v + "\r\n";
  // Say so when civetweb will close the connection after this answer (keep-alive off, as
  // for the actuator's webhook; or the client asked): an HTTP/1.1 client otherwise sends
  // its next request on a socket that is being closed, and that request is lost.
  const char* conn_header = mg_get_header(conn, "Connection");
  bool client_closes = conn_header != nullptr && strcasecmp(conn_header, "close") == 0;
  bool http10 = ri->http_version != nullptr && std::string_view(ri->http_version) == "1.0";
  if (!server->options_.keep_alive || client_closes || http10) head += "Connection: close\r\n";
  head += "\r\n";
  mg_write(conn, head.data(), head.size());
  if (chunked) {
    std::string part;
    bool more = true;
    while (more) {
      part.clear();
      more = resp.stream(part);
      if (!part.empty() &&
          mg_send_chunk(conn, part.data(), static_cast<unsigned>(part.size())) < 0) {
        return resp.status;  // the client went away
      }
    }
    mg_send_chunk(conn, "", 0);
  } else if (!resp.body.empty()) {
    mg_write(conn, resp.body.data(), resp.body.size());
  }
  return resp.status;
}

HttpServerResponse HttpServer::Handle(mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  HttpServerRequest req;
  req.method = ri->request_method != nullptr ? ri->request_method : "";
  req.path = ri->local_uri != nullptr ? ri->local_uri : "/";
  req.query = ri->query_string != nullptr ? ri->query_string : "";
  req.remote_addr = ri->remote_addr;
  for (int i = 0; i < ri->num_headers; ++i) {
    std::string name = ri->http_headers[i].name;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers[name] = ri->http_headers[i].value;
  }

  const Route* match = nullptr;
  std::string allow;
  for (const Route& r : routes_) {
    bool path_ok = r.prefix ? req.path.rfind(r.path, 0) == 0 : req.path == r.path;
    if (!path_ok) continue;
    if (r.method == req.method || (r.method == "GET" && req.method == "HEAD")) {
      match = &r;
      break;
    }
    if (!allow.empty()) allow += ", ";
    allow += r.method;
  }
  if (match == nullptr) {
    if (!allow.empty()) {
      auto r = HttpServerResponse::Text(
          405, "method " + req.method + " not allowed; use " + allow + "\n");
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    return HttpServerResponse::Text(404, "not found: " + req.path + "\n");
  }

  if (ri->content_length > 0 &&
      static_cast<unsigned long long>(ri->content_length) > options_.max_body_bytes) {
    return HttpServerResponse::Text(413, "request body of " + std::to_string(ri->content_length) +
                                             " bytes exceeds the limit of " +
                                             std::to_string(options_.max_body_bytes) + " bytes\n");
  }
  char buf[8192];
  for (;;) {
    int n = mg_read(conn, buf, sizeof buf);
    if (n <= 0) break;
    req.body.append(buf, static_cast<size_t>(n));
    if (req.body.size() > options_.max_body_bytes) {
      return HttpServerResponse::Text(413, "request body exceeds the limit of " +
                                               std::to_string(options_.max_body_bytes) +
                                               " bytes\n");
    }
  }
  HttpServerResponse resp = match->handler(req);
  if (req.method == "HEAD") {
    resp.body.clear();
    resp.stream = nullptr;
  }
  return resp;
}

}  // namespace failover
