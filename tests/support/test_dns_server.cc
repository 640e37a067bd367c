#include "tests/support/test_dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace failover::testing {
namespace {

int TypeCode(const std::string& type) {
  if (type == "A") return 1;
  if (type == "CNAME") return 5;
  if (type == "TXT") return 16;
  if (type == "AAAA") return 28;
  throw std::invalid_argument("TestDnsServer: unsupported type " + type);
}

std::string Key(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

void Put16(std::string& out, unsigned v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}

void Put32(std::string& out, std::uint32_t v) {
  Put16(out, v >> 16);
  Put16(out, v & 0xffff);
}

std::string EncodeName(const std::string& name) {
  std::string out;
  std::string n = Key(name);
  size_t start = 0;
  while (start < n.size()) {
    size_t dot = n.find('.', start);
    if (dot == std::string::npos) dot = n.size();
    out += static_cast<char>(dot - start);
    out += n.substr(start, dot - start);
    start = dot + 1;
  }
  out += '\0';
  return out;
}

struct RecordSet {
  std::vector<std::string> rdata;  // wire format
  std::uint32_t ttl = 30;
};

}  // namespace

struct TestDnsServer::Impl {
  int udp = -1;
  int tcp = -1;
  int wake[2] = {-1, -1};
  std::thread thread;
  mutable std::mutex mu;
  std::map<std::pair<std::string, int>, RecordSet> records;
  Behaviour behaviour = Behaviour::kAnswer;
  int rcode = 0;
  std::atomic<int> udp_queries{0};
  std::atomic<int> tcp_queries{0};
  std::map<int, std::string> clients;  // fd -> bytes received so far (thread only)

  // The response to `query`, or "" for none.
  std::string Answer(const std::string& query, bool over_udp) {
    if (query.size() < 12) return "";
    size_t p = 12;
    std::string qname;
    while (p < query.size()) {
      auto len = static_cast<unsigned char>(query[p]);
      if (len == 0 || len > 63) break;
      if (!qname.empty()) qname += '.';
      qname += query.substr(p + 1, len);
      p += 1 + len;
    }
    if (p >= query.size() || query[p] != '\0' || p + 5 > query.size()) return "";
    size_t qend = p + 5;
    int qtype =
        (static_cast<unsigned char>(query[p + 1]) << 8) | static_cast<unsigned char>(query[p + 2]);
    std::lock_guard<std::mutex> lock(mu);
    if (behaviour == Behaviour::kSilent) return "";
    int code = 0;
    bool tc = false;
    const RecordSet* set = nullptr;
    if (behaviour == Behaviour::kRcode) {
      code = rcode;
    } else if (behaviour == Behaviour::kTruncate && over_udp) {
      tc = true;
    } else {
      auto it = records.find({Key(qname), qtype});
      if (it != records.end()) {
        set = &it->second;
      } else {
        bool name_exists = false;
        for (const auto& [k, v] : records) name_exists = name_exists || k.first == Key(qname);
        code = name_exists ? 0 : 3;
      }
    }
    std::string out;
    out += query.substr(0, 2);  // id
    unsigned flags = 0x8000 | 0x0400 | (query[2] & 0x01) << 8 | (tc ? 0x0200 : 0) | code;
    Put16(out, flags);
    Put16(out, 1);
    Put16(out, set ? static_cast<unsigned>(set->rdata.size()) : 0);
    Put16(out, 0);
    Put16(out, 0);
    out += query.substr(12, qend - 12);
    if (set) {
      for (const std::string& rd : set->rdata) {
        Put16(out, 0xc00c);  // the question's name
        Put16(out, static_cast<unsigned>(qtype));
        Put16(out, 1);
        Put32(out, set->ttl);
        Put16(out, static_cast<unsigned>(rd.size()));
        out += rd;
      }
    }
    return out;
  }

  void Run() {
    while (true) {
      std::vector<pollfd> fds = {{wake[0], POLLIN, 0}, {udp, POLLIN, 0}, {tcp, POLLIN, 0}};
      for (const auto& [fd, buf] : clients) fds.push_back({fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents) return;
      if (fds[1].revents & POLLIN) {
        char buf[4096];
        sockaddr_in from{};
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(udp, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fromlen);
        if (n > 0) {
          ++udp_queries;
          std::string reply = Answer(std::string(buf, static_cast<size_t>(n)), true);
          if (!reply.empty()) {
            sendto(udp, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), fromlen);
          }
        }
      }
      if (fds[2].revents & POLLIN) {
        int c = accept4(tcp, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) clients[c] = "";
      }
      for (size_t i = 3; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        int fd = fds[i].fd;
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) {
          close(fd);
          clients.erase(fd);
          continue;
        }
        std::string& pending = clients[fd];
        pending.append(buf, static_cast<size_t>(n));
        while (pending.size() >= 2) {
          size_t len = (static_cast<unsigned char>(pending[0]) << 8) |
                       static_cast<unsigned char>(pending[1]);
          if (pending.size() < 2 + len) break;
          ++tcp_queries;
          std::string reply = Answer(pending.substr(2, len), false);
          pending.erase(0, 2 + len);
          if (reply.empty()) continue;
          std::string framed;
          Put16(framed, static_cast<unsigned>(reply.size()));
          framed += reply;
          ssize_t w = write(fd, framed.data(), framed.size());
          (void)w;
        }
      }
    }
  }
};

TestDnsServer::TestDnsServer() : impl_(std::make_unique<Impl>()) {
  for (int attempt = 0; attempt < 50 && port_ == 0; ++attempt) {
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(u, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(u);
      continue;
    }
    socklen_t len = sizeof addr;
    getsockname(u, reinterpret_cast<sockaddr*>(&addr), &len);
    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(t, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(t, 64) != 0) {
      close(u);
      close(t);
      continue;
    }
    impl_->udp = u;
    impl_->tcp = t;
    port_ = ntohs(addr.sin_port);
  }
  if (port_ == 0) throw std::runtime_error("TestDnsServer: no free UDP+TCP port");
  if (pipe2(impl_->wake, O_CLOEXEC) != 0) throw std::runtime_error("TestDnsServer: pipe");
  impl_->thread = std::thread([this] { impl_->Run(); });
}

TestDnsServer::~TestDnsServer() {
  char c = 'x';
  ssize_t w = write(impl_->wake[1], &c, 1);
  (void)w;
  impl_->thread.join();
  for (const auto& [fd, buf] : impl_->clients) close(fd);
  close(impl_->udp);
  close(impl_->tcp);
  close(impl_->wake[0]);
  close(impl_->wake[1]);
}

std::string TestDnsServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

void TestDnsServer::SetRecords(const std::string& name, const std::string& type,
                               const std::vector<std::string>& values, std::uint32_t ttl) {
  int code = TypeCode(type);
  RecordSet set;
  set.ttl = ttl;
  for (const std::string& v : values) {
    std::string rd;
    if (code == 1 || code == 28) {
      unsigned char buf[16];
      if (inet_pton(code == 1 ? AF_INET : AF_INET6, v.c_str(), buf) != 1) {
        throw std::invalid_argument("TestDnsServer: bad address " + v);
      }
      rd.assign(reinterpret_cast<char*>(buf), code == 1 ? 4 : 16);
    } else if (code == 5) {
      rd = EncodeName(v);
    } else {
      for (size_t i = 0; i < v.size() || i == 0; i += 255) {
        std::string chunk = v.substr(i, 255);
        rd += static_cast<char>(chunk.size());
        rd += chunk;
        if (v.empty()) break;
      }
    }
    set.rdata.push_back(rd);
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (values.empty()) {
    impl_->records.erase({Key(name), code});
  } else {
    impl_->records[{Key(name), code}] = set;
  }
}

void TestDnsServer::SetBehaviour(Behaviour b, int rcode) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->behaviour = b;
  impl_->rcode = rcode;
}

int TestDnsServer::UdpQueries() const { return impl_->udp_queries; }
int TestDnsServer::TcpQueries() const { return impl_->tcp_queries; }

SilentUdp::SilentUdp() {
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;  // port() 0
  socklen_t len = sizeof addr;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

SilentUdp::~SilentUdp() { close(fd_); }

}  // namespace failover::testing
