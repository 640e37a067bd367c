// Several listeners for one server (common/http_server.cc): --web.listen-address given
// more than once, and sockets passed by systemd (--web.systemd-socket).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "common/http_client.h"
#include "common/http_server.h"
#include "common/web_config.h"

namespace failover {
namespace {

std::vector<HttpServer::Route> Routes() {
  return {{"GET", "/who", false,
           [](const HttpServerRequest&) { return HttpServerResponse::Text(200, "me\n"); }}};
}

Result<HttpResponse> Get(const std::string& address, const std::string& path) {
  CurlHttpClient client;
  HttpRequest req;
  req.method = "GET";
  req.url = "http://" + address + path;
  return client.Send(req);
}

TEST(HttpServerListenersTest, EveryListenAddressIsServed) {
  HttpServerOptions opts;
  opts.listen_address = "127.0.0.1:0";
  opts.more_listen_addresses = {"127.0.0.2:0", "127.0.0.3:0"};
  auto s = HttpServer::Start(opts, Routes());
  ASSERT_TRUE(s) << s.error().message;
  const auto& bound = (*s)->bound_addresses();
  ASSERT_EQ(bound.size(), 3u);
  EXPECT_EQ(bound[0], (*s)->bound_address());
  for (const std::string& address : bound) {
    auto r = Get(address, "/who");
    ASSERT_TRUE(r) << address << ": " << r.error().message;
    EXPECT_EQ(r->status, 200) << address;
    EXPECT_EQ(r->body, "me\n");
  }
}

TEST(HttpServerListenersTest, OneBadAddressStartsNothing) {
  HttpServerOptions opts;
  opts.listen_address = "127.0.0.1:0";
  opts.more_listen_addresses = {"127.0.0.1:notaport"};
  auto s = HttpServer::Start(opts, Routes());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("127.0.0.1:notaport"), std::string::npos) << s.error().message;
}

TEST(HttpServerListenersTest, ServesASocketItWasGiven) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  HttpServerOptions opts;
  opts.listen_address = "127.0.0.1:1";  // not used: the given socket is served instead
  opts.listen_fds = {fd};
  auto s = HttpServer::Start(opts, Routes());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ((*s)->port(), ntohs(addr.sin_port));
  auto r = Get("127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), "/who");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "me\n");
}

TEST(HttpServerListenersTest, SystemdSocketFlagNeedsSocketsFromSystemd) {
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  auto none = SystemdListenFds();
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("LISTEN_FDS"), std::string::npos) << none.error().message;
  setenv("LISTEN_PID", std::to_string(getpid() + 1).c_str(), 1);
  setenv("LISTEN_FDS", "1", 1);
  auto other = SystemdListenFds();
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("another process"), std::string::npos)
      << other.error().message;
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
}

}  // namespace
}  // namespace failover
