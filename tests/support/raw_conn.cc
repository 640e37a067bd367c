#include "tests/support/raw_conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>

#include "tests/support/wait.h"

namespace failover::testing {

RawConn::RawConn(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

RawConn::~RawConn() { close(fd_); }

bool RawConn::Send(const std::string& data) {
  return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
}

bool RawConn::ClosedByServer(int wait_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, wait_ms) <= 0) return false;
  char buf[4096];
  ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
  if (n > 0) {
    answer_.append(buf, static_cast<size_t>(n));
    return ClosedByServer(wait_ms);
  }
  return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

std::string RawConn::Answer() {
  std::string answer;
  WaitFor(
      [&] {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) return false;
        char buf[4096];
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        if (n > 0) answer.append(buf, static_cast<size_t>(n));
        return n <= 0 || answer.find("\r\n\r\n") != std::string::npos;
      },
      std::chrono::seconds(10));
  return answer;
}

}  // namespace failover::testing
