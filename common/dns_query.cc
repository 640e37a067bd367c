#include "common/dns_query.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <mutex>
#include <random>

namespace failover {
namespace {

struct TypeInfo {
  const char* name;
  int code;
};
constexpr TypeInfo kTypes[] = {
    {"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"TXT", 16}, {"AAAA", 28},
};

int TypeCode(std::string type) {
  std::transform(type.begin(), type.end(), type.begin(), ::toupper);
  for (const auto& t : kTypes) {
    if (type == t.name) return t.code;
  }
  return -1;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

void InitAres() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

// Reads names (with compression) out of a whole message.
struct Message {
  const unsigned char* buf;
  int len;

  // The name at `p` as "a.b.c." (lower case); advances `p` past its encoding.
  Result<std::string> Name(const unsigned char*& p) const {
    char* out = nullptr;
    long enclen = 0;
    if (p < buf || p >= buf + len || ares_expand_name(p, buf, len, &out, &enclen) != ARES_SUCCESS) {
      return Error::Invalid("malformed DNS response (bad name)");
    }
    std::string name = Lower(out);
    ares_free_string(out);
    p += enclen;
    if (name.empty() || name.back() != '.') name += '.';
    return name;
  }
  bool Has(const unsigned char* p, int n) const { return p >= buf && p + n <= buf + len; }
};

unsigned U16(const unsigned char* p) { return (unsigned{p[0]} << 8) | p[1]; }
uint32_t U32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Presentation format of one RR's data; nullopt-like error for malformed data.
Result<std::string> FormatRdata(const Message& m, int type, const unsigned char* rdata, int rdlen) {
  char text[INET6_ADDRSTRLEN] = {0};
  switch (type) {
    case 1:
      if (rdlen != 4) return Error::Invalid("malformed DNS response (A of length != 4)");
      inet_ntop(AF_INET, rdata, text, sizeof text);
      return std::string(text);
    case 28:
      if (rdlen != 16) return Error::Invalid("malformed DNS response (AAAA of length != 16)");
      inet_ntop(AF_INET6, rdata, text, sizeof text);
      return std::string(text);
    case 2:
    case 5: {
      const unsigned char* p = rdata;
      return m.Name(p);
    }
    case 6: {
      const unsigned char* p = rdata;
      auto mname = m.Name(p);
      if (!mname) return mname.error();
      auto rname = m.Name(p);
      if (!rname) return rname.error();
      if (p + 20 > rdata + rdlen) return Error::Invalid("malformed DNS response (short SOA)");
      std::string out = *mname + " " + *rname;
      for (int i = 0; i < 5; ++i) out += " " + std::to_string(U32(p + 4 * i));
      return out;
    }
    case 16: {
      std::vector<std::string> strings;
      int i = 0;
      while (i < rdlen) {
        int n = rdata[i];
        if (i + 1 + n > rdlen) return Error::Invalid("malformed DNS response (bad TXT)");
        strings.emplace_back(reinterpret_cast<const char*>(rdata + i + 1), n);
        i += 1 + n;
      }
      return QuoteTxt(strings);
    }
  }
  return Error::Invalid("unsupported record type");
}

Result<DnsAnswer> ParseResponse(const unsigned char* abuf, int alen, int qtype) {
  Message m{abuf, alen};
  if (alen < 12) return Error::Invalid("malformed DNS response (short header)");
  DnsAnswer answer;
  answer.authoritative = (abuf[2] & 0x04) != 0;
  answer.rcode = DnsRcodeName(abuf[3] & 0x0f);
  unsigned qdcount = U16(abuf + 4);
  unsigned ancount = U16(abuf + 6);
  const unsigned char* p = abuf + 12;
  for (unsigned i = 0; i < qdcount; ++i) {
    auto q = m.Name(p);
    if (!q) return q.error();
    if (!m.Has(p, 4)) return Error::Invalid("malformed DNS response (short question)");
    p += 4;
  }
  bool have_ttl = false;
  for (unsigned i = 0; i < ancount; ++i) {
    auto owner = m.Name(p);
    if (!owner) return owner.error();
    if (!m.Has(p, 10)) return Error::Invalid("malformed DNS response (short record)");
    int type = static_cast<int>(U16(p));
    unsigned klass = U16(p + 2);
    uint32_t ttl = U32(p + 4);
    int rdlen = static_cast<int>(U16(p + 8));
    p += 10;
    if (!m.Has(p, rdlen)) return Error::Invalid("malformed DNS response (short data)");
    if (type == qtype && klass == 1) {
      auto text = FormatRdata(m, type, p, rdlen);
      if (!text) return text.error();
      answer.records.push_back(std::move(*text));
      // RFC 2181: a TTL with the top bit set is treated as zero.
      int t = ttl > static_cast<uint32_t>(INT_MAX) ? 0 : static_cast<int>(ttl);
      answer.ttl = have_ttl ? std::min(answer.ttl, t) : t;
      have_ttl = true;
    }
    p += rdlen;
  }
  std::sort(answer.records.begin(), answer.records.end());
  return answer;
}

struct QueryState {
  bool done = false;
  int status = ARES_SUCCESS;
  std::vector<unsigned char> response;
};

void OnResponse(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* st = static_cast<QueryState*>(arg);
  st->done = true;
  st->status = status;
  if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) {
    st->response.assign(abuf, abuf + alen);
  }
}

// Owns an ares_channel.
class Channel {
 public:
  ~Channel() {
    if (ch_ != nullptr) ares_destroy(ch_);
  }
  ares_channel& get() { return ch_; }

 private:
  ares_channel ch_ = nullptr;
};

}  // namespace

std::string QuoteTxt(const std::vector<std::string>& strings) {
  std::string out;
  for (const std::string& s : strings) {
    if (!out.empty()) out += ' ';
    out += '"';
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c >= 0x20 && c <= 0x7e) {
        out += static_cast<char>(c);
      } else {
        char esc[5];
        std::snprintf(esc, sizeof esc, "\\%03u", static_cast<unsigned>(c));
        out += esc;
      }
    }
    out += '"';
  }
  return out;
}

Result<std::pair<std::string, int>> ParseDnsServer(const std::string& server) {
  std::string host = server;
  int port = 53;
  auto bad = [&](const std::string& why) {
    return Error::Invalid("invalid nameserver \"" + server + "\": " + why);
  };
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string::npos) return bad("missing ']'");
    std::string rest = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected \":port\" after ']'");
      rest.erase(0, 1);
      if (rest.empty() || rest.find_first_not_of("0123456789") != std::string::npos ||
          rest.size() > 5) {
        return bad("port must be a number");
      }
      port = std::stoi(rest);
    }
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    size_t colon = host.find(':');
    std::string p = host.substr(colon + 1);
    host.resize(colon);
    if (p.empty() || p.find_first_not_of("0123456789") != std::string::npos || p.size() > 5) {
      return bad("port must be a number");
    }
    port = std::stoi(p);
  }
  if (port < 1 || port > 65535) return bad("port out of range");
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1) {
    return bad("expected an IP address (host:port, [v6]:port)");
  }
  return std::make_pair(host, port);
}

Result<DnsAnswer> ParseDnsAnswer(const unsigned char* packet, size_t len, int qtype) {
  if (len > static_cast<size_t>(INT_MAX))
    return Error::Invalid("malformed DNS response (too long)");
  return ParseResponse(packet, static_cast<int>(len), qtype);
}

Result<DnsAnswer> QueryDns(const std::string& server, const std::string& name,
                           const std::string& type, Duration timeout, bool tcp) {
  InitAres();
  int qtype = TypeCode(type);
  if (qtype < 0) return Error::Invalid("unsupported DNS record type \"" + type + "\"");
  if (name.empty()) return Error::Invalid("empty DNS name");
  auto addr = ParseDnsServer(server);
  if (!addr) return addr.error();
  const std::string what = name + " " + type + " @" + server;

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  const auto timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();

  ares_options opts{};
  int optmask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_DOMAINS |
                ARES_OPT_LOOKUPS | ARES_OPT_SERVERS;
  // NOCHECKRESP: hand back SERVFAIL/REFUSED answers instead of treating them as a server
  // failure; NORECURSE: we ask authoritative servers; no search list, no hosts file.
  opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NORECURSE | ARES_FLAG_NOSEARCH |
               ARES_FLAG_NOALIASES | (tcp ? ARES_FLAG_USEVC : 0);
  opts.timeout = static_cast<int>(std::clamp<long long>(timeout_ms / 2, 50, 5000));
  opts.tries = 2;
  SetAresDirectOptions(opts);

  Channel channel;
  int rc = ares_init_options(&channel.get(), &opts, optmask);
  if (rc != ARES_SUCCESS) {
    return Error::Internal(std::string("c-ares initialisation failed: ") + ares_strerror(rc));
  }
  ares_addr_port_node node{};
  node.next = nullptr;
  if (inet_pton(AF_INET, addr->first.c_str(), &node.addr.addr4) == 1) {
    node.family = AF_INET;
  } else {
    node.family = AF_INET6;
    inet_pton(AF_INET6, addr->first.c_str(), &node.addr.addr6);
  }
  node.udp_port = addr->second;
  node.tcp_port = addr->second;
  rc = ares_set_servers_ports(channel.get(), &node);
  if (rc != ARES_SUCCESS) {
    return Error::Internal(std::string("c-ares: setting the server failed: ") + ares_strerror(rc));
  }

  unsigned char* qbuf = nullptr;
  int qlen = 0;
  // A random query ID: c-ares keeps the one in the packet, and a fixed ID would make an
  // off-path forged answer easy to land.
  thread_local std::mt19937 rng{std::random_device{}()};
  auto id = static_cast<unsigned short>(rng() & 0xffff);
  rc = ares_create_query(name.c_str(), 1 /* IN */, qtype, id, /*rd=*/0, &qbuf, &qlen, 0);
  if (rc != ARES_SUCCESS) {
    return Error::Invalid("cannot build a DNS query for \"" + name + "\": " + ares_strerror(rc));
  }
  QueryState state;
  ares_send(channel.get(), qbuf, qlen, OnResponse, &state);
  ares_free_string(qbuf);

  while (!state.done) {
    auto now = Clock::now();
    if (now >= deadline) break;
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    int mask = ares_getsock(channel.get(), socks, ARES_GETSOCK_MAXNUM);
    pollfd pfds[ARES_GETSOCK_MAXNUM];
    int n = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(mask, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(mask, i)) events |= POLLOUT;
      if (events == 0) continue;
      pfds[n].fd = socks[i];
      pfds[n].events = events;
      pfds[n].revents = 0;
      ++n;
    }
    auto remaining_us =
        std::chrono::duration_cast<std::chrono::microseconds>(deadline - now).count();
    timeval maxtv{static_cast<time_t>(remaining_us / 1000000),
                  static_cast<suseconds_t>(remaining_us % 1000000)};
    timeval tv{};
    timeval* t = ares_timeout(channel.get(), &maxtv, &tv);
    int wait_ms = static_cast<int>(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
    int ready = poll(pfds, static_cast<nfds_t>(n), wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Error::Internal(std::string("poll: ") + std::strerror(errno));
    }
    if (ready == 0) {
      ares_process_fd(channel.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
      continue;
    }
    for (int i = 0; i < n && !state.done; ++i) {
      if (pfds[i].revents == 0) continue;
      ares_socket_t r =
          (pfds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0 ? pfds[i].fd : ARES_SOCKET_BAD;
      ares_socket_t w = (pfds[i].revents & POLLOUT) != 0 ? pfds[i].fd : ARES_SOCKET_BAD;
      ares_process_fd(channel.get(), r, w);
    }
  }
  if (!state.done) {
    ares_cancel(channel.get());  // runs the callback with ARES_ECANCELLED
    Error e{ErrorCode::kTimeout,
            "DNS query " + what + ": no answer within " + FormatDuration(timeout), true};
    return e;
  }
  if (state.status == ARES_ETIMEOUT) {
    return Error{ErrorCode::kTimeout,
                 "DNS query " + what + ": no answer within " + FormatDuration(timeout), true};
  }
  if (state.status != ARES_SUCCESS) {
    return Error{ErrorCode::kUnavailable, "DNS query " + what + ": " + ares_strerror(state.status),
                 true};
  }
  auto answer =
      ParseResponse(state.response.data(), static_cast<int>(state.response.size()), qtype);
  if (!answer) {
    return Error{ErrorCode::kUnavailable, "DNS query " + what + ": " + answer.error().message,
                 true};
  }
  return answer;
}

std::string DnsRcodeName(int rcode) {
  static const char* const kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                       "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                       "NXRRSET", "NOTAUTH", "NOTZONE"};
  if (rcode >= 0 && rcode < static_cast<int>(std::size(kNames))) return kNames[rcode];
  return "RCODE" + std::to_string(rcode);
}

void SetAresDirectOptions(ares_options& opts) {
  static char lookups[] = "b";  // ares_init_options copies it
  opts.domains = nullptr;
  opts.ndomains = 0;
  opts.lookups = lookups;
  opts.servers = nullptr;
  opts.nservers = 0;
}

}  // namespace failover
