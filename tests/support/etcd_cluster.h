// A private etcd cluster on loopback (etcd 3.4, the Debian package scripts/setup installs),
// for tests that need quorum behaviour the one-member etcd of scripts/stack cannot show:
// a member cut off from the others (SIGSTOP on the others) keeps answering HTTP but can
// neither serve a linearizable read nor refresh a lease.
//
//   EtcdCluster etcd(3);
//   etcd.endpoint(0);       // "http://127.0.0.1:<port>"
//   etcd.Pause(1); etcd.Pause(2);   // member 0 is now a minority of one
//   etcd.Resume(1); etcd.Resume(2);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace failover::testing {

class EtcdCluster {
 public:
  // Starts `members` members and waits (bounded) until each answers /health; a failure
  // to start fails the current test (ok() is then false).
  explicit EtcdCluster(int members = 3);
  ~EtcdCluster();  // kills every member
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  bool ok() const { return ok_; }
  std::string endpoint(int member) const;
  std::vector<std::string> endpoints() const;
  void Pause(int member);   // SIGSTOP: the member stops answering anyone
  void Resume(int member);  // SIGCONT

 private:
  TempDir dir_;
  std::vector<int> client_ports_, peer_ports_;
  std::vector<std::unique_ptr<Subprocess>> members_;
  bool ok_ = false;
};

}  // namespace failover::testing
