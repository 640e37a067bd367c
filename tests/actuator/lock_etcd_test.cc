// The etcd execution lock against a real etcd: one holder per scope, hand-over when the
// holder's lease expires, the holder stopping before its lease can expire when it cannot
// reach etcd, and journal writes fenced by the lock.
#include "actuator/lock_etcd.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "actuator/journal.h"
#include "common/http_client.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

// The network between one actuator and etcd: real HTTP until Cut(), then every request
// fails as a refused connection would (etcd itself keeps running for the others).
class PartitionableHttp final : public HttpClient {
 public:
  Result<HttpResponse> Send(const HttpRequest& r) override {
    if (cut_) return Error::Unavailable("connection refused (partitioned by the test)");
    return real_.Send(r);
  }
  void Cut(bool cut) { cut_ = cut; }

 private:
  CurlHttpClient real_;
  std::atomic<bool> cut_{false};
};

class EtcdLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = testing::Stack::Get({"etcd"}).Env("ETCD_ENDPOINTS");
    prefix_ = "/test-" +
              std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/";
  }
  EtcdLockOptions Options(const std::string& owner) { return {prefix_, seconds(2), owner}; }

  std::string endpoint_, prefix_;
};

TEST_F(EtcdLockTest, TwoManagersOneHolderPerScope) {
  CurlHttpClient http;
  EtcdClient c1(http, {endpoint_}), c2(http, {endpoint_});
  auto a = MakeEtcdLockManager(c1, Options("a"));
  auto b = MakeEtcdLockManager(c2, Options("b"));
  auto la = a->Acquire("default", [] { return false; });
  ASSERT_TRUE(la) << la.error().message;
  EXPECT_TRUE(*b->Held("default"));
  EXPECT_FALSE(*b->Held("other-scope"));
  // Another scope is independent.
  auto other = b->Acquire("other-scope", [] { return false; });
  ASSERT_TRUE(other);

  std::atomic<bool> b_has{false};
  std::thread t([&] {
    auto lb = b->Acquire("default", [] { return false; });
    EXPECT_TRUE(lb);
    b_has = true;
  });
  // The holder keeps its lease alive well past the TTL: b keeps waiting.
  std::this_thread::sleep_for(seconds(3));  // longer than the 2 s TTL, on purpose
  EXPECT_FALSE(b_has) << "two holders of one scope";
  EXPECT_FALSE((*la)->Lost());
  la->reset();  // release: the lease is revoked, b gets the lock at once
  EXPECT_TRUE(testing::WaitFor([&] { return b_has.load(); }, milliseconds(1500)));
  t.join();
}

TEST_F(EtcdLockTest, CancelledWaitGivesUp) {
  CurlHttpClient http;
  EtcdClient c(http, {endpoint_});
  auto a = MakeEtcdLockManager(c, Options("a"));
  auto b = MakeEtcdLockManager(c, Options("b"));
  auto la = a->Acquire("default", [] { return false; });
  ASSERT_TRUE(la);
  std::atomic<bool> cancel{false};
  std::thread t([&] {
    std::this_thread::sleep_for(milliseconds(300));
    cancel = true;
  });
  auto lb = b->Acquire("default", [&] { return cancel.load(); });
  t.join();
  EXPECT_FALSE(lb);
}

// The holder loses etcd: it must consider the lock lost before its lease can expire, the
// other process gets the lock once the lease has expired, and the stale holder's journal
// writes are refused even after its network comes back.
TEST_F(EtcdLockTest, PartitionedHolderStopsFirstThenLeaseExpiryHandsOverAndFencesItsWrites) {
  PartitionableHttp net_a;
  CurlHttpClient net_b;
  EtcdClient ca(net_a, {endpoint_}), cb(net_b, {endpoint_});
  auto a = MakeEtcdLockManager(ca, Options("a"));
  auto b = MakeEtcdLockManager(cb, Options("b"));
  auto ja = OpenEtcdJournal(net_a, {endpoint_}, prefix_);
  auto jb = OpenEtcdJournal(net_b, {endpoint_}, prefix_);
  ASSERT_TRUE(ja && jb);
  ExecutionRecord e;
  e.id = "e1";
  e.dedup_key = "k1";
  e.state = ExecState::kRunning;
  ASSERT_TRUE((*ja)->Insert(e));

  auto la = a->Acquire("default", [] { return false; });
  ASSERT_TRUE(la);
  (*ja)->Fence("e1", (*la)->fence_key(), (*la)->epoch());
  e.next_step = 1;
  ASSERT_TRUE((*ja)->Update(e)) << "the holder writes while it holds the lock";
  ASSERT_TRUE((*ja)->PutStep({"e1", "main", 0, "wait", "ok", 1, {}, "", {}, 0, 0}));

  net_a.Cut(true);
  auto cut_at = SteadyClock::now();
  std::atomic<bool> b_has{false};
  SteadyClock::time_point b_at{};
  std::unique_ptr<ExecutionLock> lb;
  std::thread t([&] {
    auto r = b->Acquire("default", [] { return false; });
    ASSERT_TRUE(r);
    lb = std::move(*r);
    b_at = SteadyClock::now();
    b_has = true;
  });
  ASSERT_TRUE(testing::WaitFor([&] { return (*la)->Lost(); }, seconds(5)));
  auto a_stopped = SteadyClock::now();
  EXPECT_FALSE(b_has) << "the other process got the lock before the holder knew it lost it";
  EXPECT_LT(a_stopped - cut_at, seconds(2)) << "the holder must stop within its lease TTL";
  EXPECT_NE((*la)->LostReason().find("could not be refreshed"), std::string::npos)
      << (*la)->LostReason();
  ASSERT_TRUE(testing::WaitFor([&] { return b_has.load(); }, seconds(10)));
  t.join();
  EXPECT_GT(b_at, a_stopped);

  // The network comes back: the stale holder's writes are refused, the new holder's made.
  net_a.Cut(false);
  e.next_step = 5;
  auto stale = (*ja)->Update(e);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(IsLostLock(stale.error())) << stale.error().message;
  EXPECT_FALSE((*ja)->PutStep({"e1", "main", 1, "http", "ok", 1, {}, "", {}, 0, 0}));
  EXPECT_FALSE((*ja)->AddEvent({"e1", 0, "step", "stale"}));
  EXPECT_EQ((*jb)->Get("e1").value()->next_step, 1);
  EXPECT_EQ((*jb)->Steps("e1")->size(), 1u);
  (*jb)->Fence("e1", lb->fence_key(), lb->epoch());
  e.next_step = 2;
  EXPECT_TRUE((*jb)->Update(e));
  EXPECT_EQ((*jb)->Get("e1").value()->next_step, 2);
  la->reset();
}

}  // namespace
}  // namespace failover
