#include "tests/support/etcd_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include "common/http_client.h"
#include "tests/support/test_http_server.h"
#include "tests/support/wait.h"

namespace failover::testing {

EtcdCluster::EtcdCluster(int members) {
  std::string initial;
  for (int i = 0; i < members; ++i) {
    client_ports_.push_back(ClosedPort());
    peer_ports_.push_back(ClosedPort());
    initial += (i ? "," : "") + std::string("m") + std::to_string(i) +
               "=http://127.0.0.1:" + std::to_string(peer_ports_[i]);
  }
  for (int i = 0; i < members; ++i) {
    std::string dir = dir_.path() + "/m" + std::to_string(i);
    mkdir(dir.c_str(), 0700);
    std::string client = "http://127.0.0.1:" + std::to_string(client_ports_[i]);
    std::string peer = "http://127.0.0.1:" + std::to_string(peer_ports_[i]);
    members_.push_back(std::make_unique<Subprocess>(
        // setpriv execs etcd with SIGKILL as its parent-death signal: a test process that
        // dies leaves no member behind.
        std::vector<std::string>{"/usr/bin/setpriv",
                                 "--pdeathsig",
                                 "KILL",
                                 "/usr/bin/etcd",
                                 "--name",
                                 "m" + std::to_string(i),
                                 "--data-dir",
                                 dir + "/data",
                                 "--listen-client-urls",
                                 client,
                                 "--advertise-client-urls",
                                 client,
                                 "--listen-peer-urls",
                                 peer,
                                 "--initial-advertise-peer-urls",
                                 peer,
                                 "--initial-cluster",
                                 initial,
                                 "--initial-cluster-state",
                                 "new",
                                 "--initial-cluster-token",
                                 "failover-test",
                                 "--heartbeat-interval",
                                 "50",
                                 "--election-timeout",
                                 "500",
                                 "--logger",
                                 "zap",
                                 "--log-outputs",
                                 "stderr"},
        dir));
  }
  CurlHttpClient http;
  ok_ = WaitFor(
      [&] {
        for (int i = 0; i < members; ++i) {
          HttpRequest req;
          req.url = endpoint(i) + "/health";
          req.timeout = std::chrono::seconds(1);
          auto r = http.Send(req);
          if (!r || r->status != 200 || r->body.find("\"true\"") == std::string::npos) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(30));
  EXPECT_TRUE(ok_) << "etcd cluster did not become healthy; member 0 said:\n"
                   << (members_.empty() ? "" : members_[0]->Stderr().substr(0, 4000));
}

EtcdCluster::~EtcdCluster() {
  for (auto& m : members_) m->Signal(SIGCONT);  // a stopped member dies on SIGKILL too
  members_.clear();
}

std::string EtcdCluster::endpoint(int member) const {
  return "http://127.0.0.1:" + std::to_string(client_ports_[member]);
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < client_ports_.size(); ++i) out.push_back(endpoint(static_cast<int>(i)));
  return out;
}

void EtcdCluster::Pause(int member) { members_[member]->Signal(SIGSTOP); }
void EtcdCluster::Resume(int member) { members_[member]->Signal(SIGCONT); }

}  // namespace failover::testing
