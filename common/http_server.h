// HTTP server glue over civetweb: routes registered up front, a request read whole
// (bounded by max_body_bytes), handlers return a response value. Used by both daemons for
// the landing page, /metrics, /-/healthy, /-/ready, /-/reload and their APIs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/web_config.h"

struct mg_context;
struct mg_connection;
struct ssl_st;

namespace failover {

struct HttpServerRequest {
  std::string method;
  std::string path;                            // without the query string
  std::string query;                           // raw, without '?'
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string remote_addr;

  std::string Header(const std::string& lower_name) const;
  // Value of a query parameter (percent-decoded), or "" when absent.
  std::string QueryParam(const std::string& name) const;
};

struct HttpServerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Optional, instead of `body`: called until it returns false, each call appending the
  // next part of the body to its (emptied) argument. Sent with chunked transfer encoding,
  // part by part, so a large answer is never held in memory whole (an HTTP/1.0 client
  // gets it whole, with Content-Length).
  std::function<bool(std::string&)> stream;

  static HttpServerResponse Text(int status, std::string body);
  static HttpServerResponse Json(int status, std::string body);
  static HttpServerResponse Html(std::string body);
};

using HttpHandler = std::function<HttpServerResponse(const HttpServerRequest&)>;

struct HttpServerOptions {
  // Prometheus notation: ":9807" (all interfaces), "127.0.0.1:9807", "127.0.0.1:0"
  // (a free port; read it back with port()).
  std::string listen_address = ":9807";
  // Connections served at once (one civetweb worker thread each); as many more wait in
  // the accept queue, further ones in the kernel's listen backlog.
  int num_threads = 8;
  size_t max_body_bytes = 1 << 20;
  // Time a client has to send a whole request (request line, headers, body): a client
  // trickling bytes (slowloris) is disconnected after it.
  int request_timeout_ms = 10000;
  // Largest request line plus headers; a larger request is refused (civetweb answers
  // 413 and closes) before any handler runs.
  size_t max_header_bytes = 16 << 10;
  // --web.config.file (exporter-toolkit format): TLS, basic auth, headers. "" = none.
  std::string web_config_file;
  // Keep-alive pins a worker thread to a client for as long as it keeps sending; servers
  // that must stay fair to many clients (the actuator's webhook) turn it off.
  bool keep_alive = true;
};

class HttpServer {
 public:
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes: exact path, or a prefix when `path` ends with '/' and prefix is true.
  // Requests to a known path with another method get 405 with an Allow header.
  struct Route {
    std::string method;
    std::string path;
    bool prefix = false;
    HttpHandler handler;
  };

  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   std::vector<Route> routes);
  int port() const { return port_; }
  const std::string& bound_address() const { return bound_; }
  bool tls() const;
  // True when basic_auth_users protect every route of this listener.
  bool basic_auth_enabled() const;

  // Reads the web config file again (SIGHUP, /-/reload): basic_auth_users, headers and
  // the certificate/key paths apply at once; a change that needs a new listener (TLS on
  // or off, client_auth_type, client_ca_file, TLS versions) is refused with an error and
  // the running web config kept, as is an invalid file. No file configured: nothing.
  Status ReloadWebConfig();

 private:
  HttpServer() = default;
  static int Dispatch(mg_connection* conn, void* self);
  static int InitSsl(void* ssl_ctx, void* self);
  static int CertCallback(ssl_st* ssl, void* self);
  HttpServerResponse Handle(mg_connection* conn);
  struct WebState {
    std::shared_ptr<const WebConfig> config;
    std::shared_ptr<BasicAuthVerifier> auth;
  };
  WebState web() const;

  HttpServerOptions options_;
  mutable std::mutex web_mu_;
  WebState web_;
  std::string tls_error_;  // why init_ssl failed, for Start's error
  std::vector<Route> routes_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
  std::string bound_;
};

// Copies the --web.* flag values into server options (max_connections 0 keeps
// options->num_threads).
void ApplyWebOptions(const WebOptions& web, HttpServerOptions* options);

// "host:port" split for listen addresses; ":9807" gives host "".
Result<std::pair<std::string, int>> ParseListenAddress(const std::string& address);

}  // namespace failover
