#include "common/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
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

}  // namespace

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
  std::call_once(g_init_once, [] { mg_init_library(0); });
  auto hp = ParseListenAddress(options.listen_address);
  if (!hp) return hp.error();
  std::string ports =
      hp->first.empty() ? std::to_string(hp->second) : hp->first + ":" + std::to_string(hp->second);
  std::string threads = std::to_string(options.num_threads);
  std::string timeout = std::to_string(options.request_timeout_ms);
  const char* opts[] = {
      "listening_ports", ports.c_str(),       "num_threads", threads.c_str(), "request_timeout_ms",
      timeout.c_str(),   "enable_keep_alive", "yes",         nullptr};
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->options_ = options;
  server->routes_ = std::move(routes);
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof callbacks);
  callbacks.log_message = LogMessage;
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

int HttpServer::Dispatch(mg_connection* conn, void* self) {
  auto* server = static_cast<HttpServer*>(self);
  HttpServerResponse resp;
  try {
    resp = server->Handle(conn);
  } catch (const std::exception& e) {
    log::Error("http handler failed", {{"err", e.what()}});
    resp = HttpServerResponse::Text(500, "internal error\n");
  }
  const mg_request_info* ri = mg_get_request_info(conn);
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
