// A raw TCP connection to a server on 127.0.0.1, for what libcurl will not do: trickle a
// request byte by byte, send oversized headers, stop after the headers, sit idle.
#pragma once

#include <string>

namespace failover::testing {

class RawConn {
 public:
  explicit RawConn(int port);
  ~RawConn();
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;
  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  // True when all of `data` was sent.
  bool Send(const std::string& data);
  // True when the server closed (or reset) the connection within `wait_ms` of quiet;
  // whatever it answered before is kept in answer().
  bool ClosedByServer(int wait_ms);
  const std::string& answer() const { return answer_; }
  // Reads until the answer's head is complete or the server closes (bounded, 10 s) and
  // returns what it read.
  std::string Answer();

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string answer_;
};

}  // namespace failover::testing
