#include "exporter/ares_driver.h"

#include <arpa/inet.h>
#include <sys/epoll.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <utility>

#include "common/dns_query.h"

namespace failover {

struct AresDriver::Query {
  AresDriver* driver = nullptr;
  std::uint64_t id = 0;
  ares_channel channel = nullptr;
  Done done;
  std::optional<Reply> reply;
  bool deadline_passed = false;
  EventLoop::TimerId ares_timer = 0;
  EventLoop::TimerId deadline_timer = 0;
  std::set<int> fds;
};

namespace {

void InitAresLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

}  // namespace

AresDriver::AresDriver(EventLoop& loop) : loop_(loop) { InitAresLibrary(); }

AresDriver::~AresDriver() {
  for (auto& [id, q] : queries_) {
    if (q->ares_timer != 0) loop_.CancelTimer(q->ares_timer);
    if (q->deadline_timer != 0) loop_.CancelTimer(q->deadline_timer);
    // Runs OnAnswer with ARES_EDESTRUCTION and closes the sockets (OnSockState unwatches
    // them); `done` is dropped unrun.
    if (q->channel != nullptr) ares_destroy(q->channel);
  }
}

void AresDriver::OnSockState(void* data, ares_socket_t fd, int readable, int writable) {
  auto* q = static_cast<Query*>(data);
  AresDriver* d = q->driver;
  if (!readable && !writable) {
    d->loop_.Unwatch(fd);
    q->fds.erase(fd);
    return;
  }
  uint32_t events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
  std::uint64_t id = q->id;
  d->loop_.Watch(fd, events, [d, id, fd](uint32_t ev) { d->OnFd(id, fd, ev); });
  q->fds.insert(fd);
}

void AresDriver::OnAnswer(void* arg, int status, int, unsigned char* abuf, int alen) {
  auto* q = static_cast<Query*>(arg);
  if (q->reply) return;
  Reply r;
  r.status = status;
  if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) r.packet.assign(abuf, abuf + alen);
  if (q->deadline_passed && status != ARES_SUCCESS) r.status = ARES_ETIMEOUT;
  q->reply = std::move(r);
}

void AresDriver::Send(const Request& request, Done done) {
  std::uint64_t id = next_id_++;
  auto owned = std::make_unique<Query>();
  Query* q = owned.get();
  q->driver = this;
  q->id = id;
  q->done = std::move(done);
  queries_.emplace(id, std::move(owned));

  auto now = std::chrono::steady_clock::now();
  auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(request.deadline - now);
  int budget_ms = static_cast<int>(std::clamp<long long>(left_ms.count(), 1, 3'600'000));

  ares_options opts{};
  int optmask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_DOMAINS |
                ARES_OPT_LOOKUPS | ARES_OPT_SERVERS | ARES_OPT_SOCK_STATE_CB;
  // NOCHECKRESP: SERVFAIL/REFUSED answers come back as answers (not as "try the next
  // server"); IGNTC: a truncated UDP answer is returned, not silently retried over TCP.
  opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES |
               (request.tcp ? ARES_FLAG_USEVC : ARES_FLAG_IGNTC);
  // UDP: one retransmission (c-ares doubles the timeout for the second try, so the two
  // tries fill the budget); TCP: one try.
  opts.tries = request.tcp ? 1 : 2;
  opts.timeout = request.tcp ? budget_ms : std::max(1, budget_ms / 3);
  SetAresDirectOptions(opts);
  opts.sock_state_cb = &AresDriver::OnSockState;
  opts.sock_state_cb_data = q;

  int rc = ares_init_options(&q->channel, &opts, optmask);
  if (rc != ARES_SUCCESS) {
    q->channel = nullptr;
    q->reply = Reply{rc, {}};
  } else {
    ares_addr_port_node node{};
    node.next = nullptr;
    if (inet_pton(AF_INET, request.server.c_str(), &node.addr.addr4) == 1) {
      node.family = AF_INET;
    } else if (inet_pton(AF_INET6, request.server.c_str(), &node.addr.addr6) == 1) {
      node.family = AF_INET6;
    } else {
      node.family = AF_UNSPEC;
    }
    node.udp_port = request.port;
    node.tcp_port = request.port;
    rc = node.family == AF_UNSPEC ? ARES_EBADSTR : ares_set_servers_ports(q->channel, &node);
    if (rc != ARES_SUCCESS) {
      q->reply = Reply{rc, {}};
    } else {
      ares_send(q->channel, request.query.data(), static_cast<int>(request.query.size()),
                &AresDriver::OnAnswer, q);
    }
  }
  if (q->reply) {
    // Failed at once: deliver from the loop, not from inside Send.
    q->ares_timer = loop_.AddTimer(now, [this, id] {
      auto it = queries_.find(id);
      if (it != queries_.end()) it->second->ares_timer = 0;
      Settle(id);
    });
    return;
  }
  q->deadline_timer = loop_.AddTimer(request.deadline, [this, id] { OnDeadline(id); });
  Settle(id);
}

void AresDriver::OnFd(std::uint64_t id, int fd, uint32_t events) {
  auto it = queries_.find(id);
  if (it == queries_.end()) return;
  Query* q = it->second.get();
  ares_socket_t r = (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? fd : ARES_SOCKET_BAD;
  ares_socket_t w = (events & EPOLLOUT) ? fd : ARES_SOCKET_BAD;
  ares_process_fd(q->channel, r, w);
  Settle(id);
}

void AresDriver::OnTimer(std::uint64_t id) {
  auto it = queries_.find(id);
  if (it == queries_.end()) return;
  Query* q = it->second.get();
  q->ares_timer = 0;
  ares_process_fd(q->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // retransmissions, timeouts
  Settle(id);
}

void AresDriver::OnDeadline(std::uint64_t id) {
  auto it = queries_.find(id);
  if (it == queries_.end()) return;
  Query* q = it->second.get();
  q->deadline_timer = 0;
  if (!q->reply) {
    q->deadline_passed = true;
    ares_cancel(q->channel);  // OnAnswer(ARES_ECANCELLED) -> reported as ARES_ETIMEOUT
    if (!q->reply) q->reply = Reply{ARES_ETIMEOUT, {}};
  }
  Settle(id);
}

void AresDriver::Settle(std::uint64_t id) {
  auto it = queries_.find(id);
  if (it == queries_.end()) return;
  Query* q = it->second.get();
  if (!q->reply) {
    if (q->ares_timer != 0) loop_.CancelTimer(q->ares_timer);
    q->ares_timer = 0;
    timeval tv{};
    if (timeval* t = ares_timeout(q->channel, nullptr, &tv)) {
      auto when = std::chrono::steady_clock::now() + std::chrono::seconds(t->tv_sec) +
                  std::chrono::microseconds(t->tv_usec);
      q->ares_timer = loop_.AddTimer(when, [this, id] { OnTimer(id); });
    }
    return;
  }
  if (q->ares_timer != 0) loop_.CancelTimer(q->ares_timer);
  if (q->deadline_timer != 0) loop_.CancelTimer(q->deadline_timer);
  q->ares_timer = q->deadline_timer = 0;
  if (q->channel != nullptr) {
    ares_destroy(q->channel);  // closes the sockets; OnSockState unwatches them
    q->channel = nullptr;
  }
  for (int fd : q->fds) loop_.Unwatch(fd);  // normally empty by now
  Done done = std::move(q->done);
  Reply reply = std::move(*q->reply);
  queries_.erase(it);
  done(std::move(reply));
}

}  // namespace failover
