// Loopback servers for probe tests.
//
// TestHttpServer: HTTP/1.1 (optionally HTTPS) on 127.0.0.1, a free port. One thread runs
// a non-blocking epoll loop that serves every connection, so fast paths keep up with
// thousands of requests per second and slow/hanging requests are merely parked (no
// thread each). Every response carries "Connection: close". Paths:
//   /healthz                 200 "ok\n"
//   /status/NNN              status NNN (200..599), body "status NNN\n" (none for 204, 304)
//   /body?text=...           200 with the percent-decoded text ('+' is a space)
//   /chunked?text=...        the same, sent in chunks of 3 bytes (Transfer-Encoding: chunked)
//   /until-close?text=...    the same without Content-Length: the body ends as the
//                            connection closes
//   /slow?ms=N               200 "ok\n" after N milliseconds
//   /endless                 200 with a body that never ends (no Content-Length; 'x' as
//                            fast as the client reads)
//   /hang, /hang/...         reads the request, never answers (the connection is kept
//                            until the client goes away or the server is destroyed)
//   /drop, /drop/...         reads the whole request, then closes the connection
//                            without answering (a server that dies mid-request)
//   /redirect?to=/x          302 with Location: /x (default /healthz); &status=NNN for
//                            another 3xx
//   /redirect-loop           302 with Location: /redirect-loop
//   /auth                    200 "authorized\n" when Authorization matches what the test set
//                            (SetBearerToken / SetBasicAuth), else 401
//   anything else            404
// Requests are counted per path (without the query) and the last one is kept whole.
//
// BlackholeListener: listens and never accepts: TCP connects succeed (the kernel
// completes them into the accept queue) but nothing ever answers.
//
// ClosedPort(): a loopback port nothing listens on, for "connection refused".
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace failover::testing {

class TlsCert;

struct RecordedRequest {
  std::string method;
  std::string target;  // as sent: path plus query
  std::string path;
  std::string query;
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::string body;
  std::string sni;           // TLS server name the client sent (HTTPS only)
  bool tls_resumed = false;  // the client resumed an earlier TLS session (HTTPS only)

  std::string Header(const std::string& lower_name) const;
};

class TestHttpServer {
 public:
  // Plain HTTP without `tls`, HTTPS with it (`tls` is read in the constructor only).
  explicit TestHttpServer(const TlsCert* tls = nullptr);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  std::string address() const;                     // "127.0.0.1:<port>"
  std::string url(const std::string& path) const;  // "http(s)://127.0.0.1:<port><path>"

  // HTTPS: connections accepted from now on present this certificate instead (same key
  // pair files as TlsCert writes). Session tickets issued before stay valid, as when a
  // server's certificate is renewed.
  void SetCertificate(const TlsCert& cert);

  // What /auth accepts (either or both); without either, /auth always answers 401.
  void SetBearerToken(const std::string& token);
  void SetBasicAuth(const std::string& user, const std::string& password);

  int RequestCount(const std::string& path) const;
  int TotalRequests() const;
  RecordedRequest LastRequest() const;
  // Connections accepted and not yet closed.
  int OpenConnections() const;
  // TCP connections accepted so far (including ones that never sent a request).
  int AcceptedConnections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  bool tls_ = false;
};

class BlackholeListener {
 public:
  BlackholeListener();
  ~BlackholeListener();
  BlackholeListener(const BlackholeListener&) = delete;
  BlackholeListener& operator=(const BlackholeListener&) = delete;

  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:<port>"
  // Connections the kernel completed and that wait in the accept queue (closed ones
  // included: nobody ever accepts them). Read from TCP_INFO of the listening socket.
  int PendingConnections() const;
  // The accept queue's capacity (the backlog after the kernel's somaxconn clamp).
  int Backlog() const;

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A loopback port that was free a moment ago: bound to 127.0.0.1:0, read, closed.
int ClosedPort();

}  // namespace failover::testing
