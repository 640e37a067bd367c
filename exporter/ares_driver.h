// Runs c-ares DNS queries on the EventLoop: c-ares reports the sockets it wants watched
// (sock-state callback -> EventLoop::Watch), its retransmission timers become loop
// timers, and every query has a hard deadline. No thread per query.
//
// Each query gets its own channel with exactly one server, so a query's deadline can
// cancel it without touching any other, and a nameserver that never answers costs one
// socket until the deadline.
#pragma once

#include <ares.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "exporter/event_loop.h"

namespace failover {

class AresDriver {
 public:
  struct Request {
    std::string server;  // an IPv4 or IPv6 literal
    int port = 53;
    bool tcp = false;  // false: UDP, and a truncated answer is returned as it is (TC set)
    // A complete query message (ares_create_query); c-ares sets a fresh id per send.
    std::vector<unsigned char> query;
    MonoTime deadline;
  };

  struct Reply {
    // ARES_SUCCESS when `packet` holds the server's response (whatever its rcode);
    // ARES_ETIMEOUT when no answer came by the deadline; otherwise the c-ares error
    // (ARES_ECONNREFUSED, ...).
    int status = ARES_SUCCESS;
    std::vector<unsigned char> packet;
  };
  using Done = std::function<void(Reply)>;

  explicit AresDriver(EventLoop& loop);
  // Abandons the queries in flight: their sockets are closed, their callbacks dropped.
  ~AresDriver();
  AresDriver(const AresDriver&) = delete;
  AresDriver& operator=(const AresDriver&) = delete;

  // Loop thread. `done` runs on the loop thread, exactly once, by the deadline, and never
  // from inside Send.
  void Send(const Request& request, Done done);
  size_t active() const { return queries_.size(); }

 private:
  struct Query;
  static void OnSockState(void* data, ares_socket_t fd, int readable, int writable);
  static void OnAnswer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  void OnFd(std::uint64_t id, int fd, uint32_t events);
  void OnTimer(std::uint64_t id);
  void OnDeadline(std::uint64_t id);
  // Delivers the reply if there is one, else re-arms the c-ares timer.
  void Settle(std::uint64_t id);

  EventLoop& loop_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::unique_ptr<Query>> queries_;
};

}  // namespace failover
