// The HTTP/1.1 server of both daemons (the landing page, /metrics, /-/healthy, /-/ready,
// /-/reload and their APIs): routes registered up front, handlers return a response value.
// One event thread accepts connections, does TLS handshakes and reads each request whole
// (request line, headers, body) under one deadline; a slow client costs a socket, never a
// thread. A complete request goes to a fixed pool of worker threads, which run the route's
// checks and handler and write the answer. See docs/security.md.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/web_config.h"

struct ssl_st;
struct ssl_ctx_st;

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
  // Every value of a repeated query parameter (`name[]=a&name[]=b`), in order.
  std::vector<std::string> QueryParams(const std::string& name) const;
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

// The answer to one request of an async route: call it once, from any thread (later calls
// are ignored). Dropped without a call, it answers 500.
using HttpResponder = std::function<void(HttpServerResponse)>;
using HttpAsyncHandler = std::function<void(const HttpServerRequest&, HttpResponder)>;

struct HttpServerOptions {
  // Prometheus notation: ":9807" (all interfaces), "127.0.0.1:9807", "127.0.0.1:0"
  // (a free port; read it back with port()).
  std::string listen_address = ":9807";
  // More addresses served by the same server (--web.listen-address given several times).
  std::vector<std::string> more_listen_addresses;
  // Listening sockets to serve instead of the addresses (--web.systemd-socket); the
  // server closes them when it stops.
  std::vector<int> listen_fds;
  // Worker threads: requests handled (handler run, answer written) at once. Requests
  // still being received cost no thread; complete ones wait in a queue for a worker.
  int num_threads = 8;
  size_t max_body_bytes = 1 << 20;
  // Time a client has to send a whole request (request line, headers, body): a client
  // trickling bytes (slowloris) is disconnected after it.
  int request_timeout_ms = 10000;
  // Largest request line plus headers; a larger request is refused (431, connection
  // closed) before any handler runs.
  size_t max_header_bytes = 16 << 10;
  // --web.config.file (exporter-toolkit format): TLS, basic auth, headers. "" = none.
  std::string web_config_file;
  // Off: every answer closes its connection (`Connection: close`), as the actuator's
  // webhook wants (each Alertmanager notification on a connection of its own).
  bool keep_alive = true;
};

class HttpServer {
 public:
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes: exact path, or a prefix when `path` ends with '/' and prefix is true.
  // Requests to a known path with another method get 405 with an Allow header.
  // A state-changing request (POST, PUT, PATCH, DELETE) whose Origin (or, without one,
  // Referer) names another site than the request's Host is refused 403 on every route.
  struct Route {
    std::string method;
    std::string path;
    bool prefix = false;
    HttpHandler handler;
    // Optional: runs on the request line and headers (the body is empty), before any of
    // the body is read. A response refuses the request: it is sent and the connection
    // closed without reading the body (e.g. 401 for missing credentials).
    std::function<std::optional<HttpServerResponse>(const HttpServerRequest&)> authorize = {};
    // Optional: told the status of every answer the server writes itself for this route
    // instead of running the handler (authorize's refusal, 400, 403, 413, 415).
    std::function<void(int status)> on_reject = {};
    // A JSON endpoint: a non-empty body with another Content-Type than application/json
    // is refused 415.
    bool json_body = false;
    // Optional, instead of `handler`: starts the request and returns at once; the answer
    // is written when the responder is called. The request stays valid until then (not
    // after). The worker thread is free meanwhile, so requests that wait on something
    // shared (the actuator's group commit) do not hold the workers: any number of them
    // can wait together.
    HttpAsyncHandler async_handler = {};
  };

  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   std::vector<Route> routes);
  int port() const { return port_; }                           // of the first listener
  const std::string& bound_address() const { return bound_; }  // the first listener's
  const std::vector<std::string>& bound_addresses() const { return bound_all_; }
  bool tls() const;
  // True when basic_auth_users protect every route of this listener.
  bool basic_auth_enabled() const;

  // Reads the web config file again (SIGHUP, /-/reload): basic_auth_users, headers and
  // the certificate/key paths apply at once; a change that needs a new listener (TLS on
  // or off, client_auth_type, client_ca_file, TLS versions) is refused with an error and
  // the running web config kept, as is an invalid file. No file configured: nothing.
  Status ReloadWebConfig();

 private:
  struct Conn;
  struct Shared;
  struct PendingAnswer;
  HttpServer() = default;
  static int CertCallback(ssl_st* ssl, void* self);
  Status InitTls();
  struct WebState {
    std::shared_ptr<const WebConfig> config;
    std::shared_ptr<BasicAuthVerifier> auth;
  };
  WebState web() const;

  HttpServerOptions options_;
  mutable std::mutex web_mu_;
  WebState web_;
  std::vector<Route> routes_;
  ssl_ctx_st* ssl_ctx_ = nullptr;
  // The event loop and the workers (http_server.cc); shared with the responders of async
  // requests, which may outlive the server (their answers are then dropped).
  std::shared_ptr<Shared> shared_;
  int port_ = 0;
  std::string bound_;
  std::vector<std::string> bound_all_;
};

// Copies the --web.* flag values into server options (max_connections 0 keeps
// options->num_threads).
void ApplyWebOptions(const WebOptions& web, HttpServerOptions* options);

// "host:port" split for listen addresses; ":9807" gives host "".
Result<std::pair<std::string, int>> ParseListenAddress(const std::string& address);

}  // namespace failover
