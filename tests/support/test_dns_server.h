// A small authoritative DNS server on 127.0.0.1 for the dns prober's tests: UDP and TCP on
// the same free port, answers from a table the test changes while it runs, and on demand
// an error rcode, a truncated UDP answer, or silence. One thread, poll(2).
//
//   TestDnsServer dns;
//   dns.SetRecords("www.example.test", "A", {"127.0.0.2"}, 30);
//   dns.address();                           // "127.0.0.1:<port>"
//   dns.SetBehaviour(TestDnsServer::Behaviour::kRcode, 3);   // NXDOMAIN for everything
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace failover::testing {

class TestDnsServer {
 public:
  enum class Behaviour {
    kAnswer,    // from the table; NXDOMAIN for names not in it, empty NOERROR for other types
    kRcode,     // every answer carries the rcode given to SetBehaviour, no records
    kTruncate,  // UDP answers have TC set and no records; TCP answers normally
    kSilent,    // reads queries, never answers
  };

  TestDnsServer();
  ~TestDnsServer();
  TestDnsServer(const TestDnsServer&) = delete;
  TestDnsServer& operator=(const TestDnsServer&) = delete;

  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:<port>"

  // Replaces the records of (name, type); type is A, AAAA, CNAME or TXT. Values are
  // addresses, a name, or one TXT string each. An empty list removes them.
  void SetRecords(const std::string& name, const std::string& type,
                  const std::vector<std::string>& values, std::uint32_t ttl = 30);
  void SetBehaviour(Behaviour b, int rcode = 0);

  int UdpQueries() const;
  int TcpQueries() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// A UDP socket on 127.0.0.1 (a free port) that receives and never answers: a nameserver
// that hangs, or does not (yet) serve a change.
class SilentUdp {
 public:
  SilentUdp();
  ~SilentUdp();
  SilentUdp(const SilentUdp&) = delete;
  SilentUdp& operator=(const SilentUdp&) = delete;
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace failover::testing
