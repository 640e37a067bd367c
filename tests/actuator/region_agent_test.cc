// The region agent against real etcd (a private 3-member cluster where quorum matters, the
// stack's member otherwise) and the real MariaDB primary of scripts/stack: the holder
// keeps its database writable while it renews and fences it, locally, when it cannot
// (read_only, app sessions killed, fence_steps run); a non-holder keeps its database
// read-only; a holder whose database is down releases the lease.
#include "actuator/coordination/region_agent.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <thread>

#include "actuator/config.h"
#include "actuator/coordination/writer_lease.h"
#include "actuator/steps/writer_lease.h"
#include "common/http_client.h"
#include "common/mysql_conn.h"
#include "common/pg_conn.h"
#include "tests/actuator/step_test_util.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/stack.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_http_server.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::Stack;

std::string Yaml(const std::vector<std::string>& endpoints) {
  std::string out = "[";
  for (size_t i = 0; i < endpoints.size(); ++i) out += (i ? ", " : "") + endpoints[i];
  return out + "]";
}

// A TCP relay on 127.0.0.1 in front of the MariaDB primary that can hold back the next
// connection (accepted, not yet relayed) until the test lets it go: the agent's database
// check is then known to be in flight, and the test can change the world in between.
class HoldingRelay {
 public:
  explicit HoldingRelay(int upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "relay: cannot listen";
    }
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~HoldingRelay() {
    stop_ = true;
    Let();
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    for (auto& t : pipes_) t.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void HoldNext() {
    std::lock_guard<std::mutex> l(mu_);
    hold_next_ = true;
    held_ = false;
  }
  bool Holding() {
    std::lock_guard<std::mutex> l(mu_);
    return held_;
  }
  void Let() {
    std::lock_guard<std::mutex> l(mu_);
    hold_next_ = false;
    held_ = false;
    cv_.notify_all();
  }

 private:
  void Accept() {
    while (!stop_) {
      int c = ::accept(listen_fd_, nullptr, nullptr);
      if (c < 0) return;
      pipes_.emplace_back([this, c] { Relay(c); });
    }
  }
  void Relay(int c) {
    {
      std::unique_lock<std::mutex> l(mu_);
      if (hold_next_) {
        hold_next_ = false;
        held_ = true;
        cv_.wait(l, [&] { return !held_ || stop_.load(); });
      }
    }
    int u = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    if (!stop_ && ::connect(u, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
      pollfd fds[2] = {{c, POLLIN, 0}, {u, POLLIN, 0}};
      char buf[16384];
      while (!stop_ && ::poll(fds, 2, 200) >= 0) {
        bool done = false;
        for (int i = 0; i < 2; ++i) {
          if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
          ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
          if (n <= 0 || ::write(fds[1 - i].fd, buf, static_cast<size_t>(n)) != n) done = true;
        }
        if (done) break;
      }
    }
    ::close(u);
    ::close(c);
  }

  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_next_ = false;
  bool held_ = false;
  std::thread acceptor_;
  std::vector<std::thread> pipes_;
};

// An etcd endpoint, a client of it and the writer lease there, acquired for `holder`.
struct HeldLease {
  HeldLease(HttpClient& http, const std::string& etcd_endpoint, const std::string& prefix,
            const std::string& holder)
      : endpoint(etcd_endpoint),
        admin(http, {endpoint}),
        lease(admin, prefix),
        held(lease.TryAcquire(holder, 30)) {}
  std::string endpoint;
  EtcdClient admin;
  WriterLease lease;
  Result<WriterLeaseState> held;
};

class RegionAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = &Stack::Get({"mariadb", "etcd"});
    prefix_ = "/test-" +
              std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/";
    RegisterBuiltinSteps(steps_);
    auto j = OpenSqliteJournal(dir_.path() + "/journal.db");
    ASSERT_TRUE(j) << j.error().message;
    journal_ = std::move(*j);
  }
  void TearDown() override {
    agent_.reset();
    if (stack_ != nullptr) SetReadOnly(false);  // the other cases want a writable primary
  }

  // An actuator.yml with the stack's MariaDB primary as us-east-db (or `db_address`) and
  // a region agent for `region`.
  std::shared_ptr<const RegionAgentConfig> Load(const std::string& region,
                                                const std::vector<std::string>& endpoints,
                                                const std::string& db_address = "",
                                                const std::string& db_yaml = "",
                                                const std::string& timing = "") {
    std::string yaml =
        "databases:\n"
        "  us-east-db: " +
        (!db_yaml.empty()
             ? db_yaml
             : "{mysql: {address: \"" +
                   (db_address.empty() ? stack_->Env("MARIADB_PRIMARY_ADDR") : db_address) +
                   "\", user: failover, password_file: \"" +
                   stack_->Env("MARIADB_FAILOVER_PASSWORD_FILE") + "\"}}") +
        "\n"
        "region_agent:\n"
        "  region: " +
        region +
        "\n"
        "  etcd: {endpoints: " +
        Yaml(endpoints) + ", prefix: " + prefix_ +
        "}\n"
        "  database: us-east-db\n" +
        (timing.empty() ? std::string("  ttl: 3s\n"
                                      "  renew_every: 500ms\n"
                                      "  fence_after: 1500ms\n"
                                      "  fence_timeout: 1s\n")
                        : timing) +
        "  fence_steps:\n"
        "    - http: {url: \"" +
        hooks_.url("/status/200") +
        "\", method: POST, timeout: 2s}\n"
        "  unfence_steps:\n"
        "    - http: {url: \"" +
        hooks_.url("/status/204") + "\", method: POST, timeout: 2s}\n";
    auto node = YamlNode::LoadString(yaml, "actuator.yml");
    EXPECT_TRUE(node) << node.error().message;
    ConfigDeps deps;
    deps.steps = &steps_;
    deps.provider_ctx.http = &http_;
    auto cfg = LoadActuatorConfig(*node, deps);
    EXPECT_TRUE(cfg) << cfg.error().message;
    return cfg ? cfg->region_agent : nullptr;
  }

  void StartAgent(std::shared_ptr<const RegionAgentConfig> cfg) {
    ASSERT_TRUE(cfg);
    agent_ = std::make_unique<RegionAgent>(cfg, http_, *journal_, SystemClock::Get(), registry_);
    agent_->Start();
  }

  int Sql(const std::string& sql, std::string* out = nullptr) {
    return stack_->Shell(
        "mariadb --no-defaults -N -uroot -h127.0.0.1 -P\"${MARIADB_PRIMARY_ADDR#*:}\" -e \"" + sql +
            "\" 2>&1",
        out);
  }
  void SetReadOnly(bool on) {
    ASSERT_EQ(Sql(std::string("SET GLOBAL read_only=") + (on ? "ON" : "OFF")), 0);
  }
  bool ReadOnly() {
    std::string out;
    return Sql("SELECT @@global.read_only", &out) == 0 && out.find('1') != std::string::npos;
  }
  // What the shop's application does: insert an order as the app user.
  bool AppInsert(std::string* out = nullptr) {
    std::string text;
    int rc = stack_->Shell(
        "mariadb --no-defaults -h127.0.0.1 -P\"${MARIADB_PRIMARY_ADDR#*:}\" -uapp "
        "-p\"$(cat \"$MARIADB_APP_PASSWORD_FILE\")\" shop -e "
        "\"INSERT INTO orders (note) VALUES ('region-agent-test')\" 2>&1",
        &text);
    if (out) *out = text;
    return rc == 0;
  }
  MysqlTarget AppTarget() {
    auto node = YamlNode::LoadString("{address: \"" + stack_->Env("MARIADB_PRIMARY_ADDR") +
                                         "\", user: app, password_file: \"" +
                                         stack_->Env("MARIADB_APP_PASSWORD_FILE") + "\"}",
                                     "test");
    return *MysqlTargetFromYaml(*node);
  }
  std::vector<ExecutionRecord> AgentRecords(const std::string& action) {
    ExecutionQuery q;
    q.runbook = "region_agent";
    std::vector<ExecutionRecord> out;
    for (auto& e : *journal_->List(q)) {
      if (e.labels["action"] == action) out.push_back(e);
    }
    return out;
  }
  // Waits until the journal holds `count` records of the agent's `action` (at least one
  // when 0), the first of them succeeded.
  bool WaitForRecords(const std::string& action, size_t count = 0) {
    return testing::WaitFor([&] {
      auto r = AgentRecords(action);
      return (count == 0 ? !r.empty() : r.size() == count) && r[0].state == ExecState::kSucceeded;
    });
  }
  // The stack's etcd member, with the writer lease taken for `holder` (30 s TTL).
  std::unique_ptr<HeldLease> HoldLease(const std::string& holder) {
    return std::make_unique<HeldLease>(http_, stack_->Env("ETCD_ENDPOINTS"), prefix_, holder);
  }
  // A writer_lease step of a failover runbook (writer_lease: section on the same etcd).
  std::unique_ptr<Step> LeaseStep(const std::string& yaml) {
    lease_config_.endpoints = {stack_->Env("ETCD_ENDPOINTS")};
    lease_config_.prefix = prefix_;
    lease_config_.ttl = seconds(5);
    fctx_.writer_lease = &lease_config_;
    auto node = YamlNode::LoadString(yaml, "actuator.yml");
    EXPECT_TRUE(node);
    auto step = NewWriterLeaseStep(*node, fctx_);
    EXPECT_TRUE(step) << step.error().message;
    return step ? std::move(*step) : nullptr;
  }
  StepOutcome RunStep(Step& step) {
    TemplateVars vars;
    vars.execution_id = "exec-1";
    return testing::RunStep(step, SystemClock::Get(), &vars, &http_);
  }
  std::string Metrics() { return prometheus::TextSerializer().Serialize(registry_.Collect()); }

  Stack* stack_ = nullptr;
  std::string prefix_;
  StepRegistry steps_;
  CurlHttpClient http_;
  testing::TempDir dir_;
  testing::TestHttpServer hooks_;  // fence_steps / unfence_steps land here
  std::unique_ptr<Journal> journal_;
  prometheus::Registry registry_;
  std::unique_ptr<RegionAgent> agent_;
  WriterLeaseConfig lease_config_;
  StepFactoryContext fctx_;
};

// The writer region: it renews the lease (which outlives its TTL many times over), makes
// its read-only primary writable, and when its etcd member is cut off from the quorum it
// fences its own database within fence_after: read-only, the app's open session killed
// (its transaction cannot commit), fence_steps run, all journaled; back in the quorum with
// its lease still alive, it opens the region again.
TEST_F(RegionAgentTest, HolderRenewsAndFencesItselfWhenItsEtcdMemberLosesTheQuorum) {
  testing::EtcdCluster etcd(3);
  ASSERT_TRUE(etcd.ok());
  EtcdClient admin(http_, etcd.endpoints());
  WriterLease lease(admin, prefix_);
  auto mine = lease.TryAcquire("us-east", 3);
  ASSERT_TRUE(mine && mine->created) << (mine ? mine->Describe() : mine.error().message);
  SetReadOnly(true);  // as a restarted primary starts (docs/writer-lease.md)

  // The agent talks to member 0 only: the member in its own site.
  StartAgent(Load("us-east", {etcd.endpoint(0)}));
  ASSERT_TRUE(testing::WaitFor([&] { return AppInsert(); }, seconds(20)))
      << "the holder's agent did not make its primary writable";
  // The database is writable a moment before unfence_steps run and the record closes.
  EXPECT_TRUE(WaitForRecords("unfence", 1));
  EXPECT_EQ(hooks_.RequestCount("/status/204"), 1) << "unfence_steps run once";
  ASSERT_EQ(AgentRecords("unfence").size(), 1u);
  EXPECT_EQ(AgentRecords("unfence")[0].state, ExecState::kSucceeded);

  // Three TTLs later the lease is still this region's: the agent renews it.
  std::this_thread::sleep_for(seconds(9));
  auto st = lease.Read();
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->held && st->holder == "us-east" && st->lease == mine->lease) << st->Describe();
  std::string out;
  EXPECT_TRUE(AppInsert(&out)) << out;
  EXPECT_FALSE(ReadOnly());
  EXPECT_TRUE(agent_->held());
  EXPECT_THAT(Metrics(), HasSubstr("failover_actuator_writer_lease_held{region=\"us-east\"} 1"));

  // An application session in the middle of a transaction when the region is cut off.
  MysqlConn app;
  ASSERT_TRUE(app.Connect(AppTarget(), seconds(5)));
  ASSERT_TRUE(app.Query("BEGIN"));
  ASSERT_TRUE(app.Query("INSERT INTO shop.orders (note) VALUES ('in-flight')"));

  etcd.Pause(1);
  etcd.Pause(2);
  auto cut = std::chrono::steady_clock::now();
  ASSERT_TRUE(testing::WaitFor([&] { return ReadOnly(); }, seconds(10)))
      << "the cut-off holder did not fence its database";
  auto fenced_after = std::chrono::steady_clock::now() - cut;
  // fence_after 1.5 s + the fence itself; far below the 3 s TTL's expiry plus margin.
  EXPECT_LT(fenced_after, seconds(3)) << "fenced later than the lease could expire";
  EXPECT_FALSE(app.Query("COMMIT")) << "an open session kept writing after the fence";
  EXPECT_FALSE(AppInsert(&out));
  EXPECT_THAT(out, HasSubstr("read-only"));
  ASSERT_TRUE(testing::WaitFor([&] { return hooks_.RequestCount("/status/200") >= 1; }))
      << "fence_steps did not run";
  ASSERT_TRUE(WaitForRecords("fence"));
  auto fences = AgentRecords("fence");
  EXPECT_EQ(fences[0].labels["reason"], "etcd_unreachable");
  EXPECT_THAT(fences[0].message, HasSubstr("could not be renewed"));
  auto steps = journal_->Steps(fences[0].id);
  ASSERT_TRUE(steps);
  ASSERT_GE(steps->size(), 2u);
  EXPECT_EQ((*steps)[0].kind, "db_fence");
  EXPECT_GE((*steps)[0].details.value("terminated_sessions", 0), 1) << (*steps)[0].details.dump();
  EXPECT_EQ((*steps)[1].kind, "http");
  EXPECT_FALSE(agent_->held());
  EXPECT_THAT(Metrics(), HasSubstr("failover_actuator_region_fenced{reason=\"etcd_unreachable\","
                                   "region=\"us-east\"} 1"));
  EXPECT_THAT(Metrics(), HasSubstr("failover_actuator_writer_lease_held{region=\"us-east\"} 0"));

  // Back in the quorum. Without a leader etcd expired nothing, and a new leader extends
  // every lease: nobody else could have taken this one, so the agent renews it and opens
  // its region again (a short cut heals by itself).
  etcd.Resume(1);
  etcd.Resume(2);
  ASSERT_TRUE(testing::WaitFor([&] { return AppInsert(); }, seconds(15)))
      << "the region did not reopen after its member rejoined the quorum";
  st = lease.Read();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->lease, mine->lease) << st->Describe();
  // As on the first unfence, the database is writable a moment before unfence_steps run.
  EXPECT_TRUE(testing::WaitFor([&] { return hooks_.RequestCount("/status/204") >= 2; }))
      << "unfence_steps did not run again";
  EXPECT_TRUE(WaitForRecords("unfence", 2));
  EXPECT_EQ(hooks_.RequestCount("/status/204"), 2) << "unfence_steps run once per reopening";
}

// A region that does not hold the lease keeps its database read-only, always: made
// writable by hand, it is fenced again at the next tick.
TEST_F(RegionAgentTest, NonHolderKeepsItsDatabaseReadOnly) {
  auto l = HoldLease("us-east");
  ASSERT_TRUE(l->held && l->held->created);

  std::string out;
  ASSERT_TRUE(AppInsert(&out)) << out;  // writable before
  StartAgent(Load("eu-west", {l->endpoint}));
  ASSERT_TRUE(testing::WaitFor([&] { return ReadOnly(); }, seconds(10)))
      << "the non-holder's database stayed writable";
  EXPECT_FALSE(AppInsert(&out));
  EXPECT_THAT(out, HasSubstr("read-only"));
  EXPECT_THAT(agent_->reason(), HasSubstr("held by us-east"));
  ASSERT_TRUE(testing::WaitFor([&] { return hooks_.RequestCount("/status/200") == 1; }));

  SetReadOnly(false);  // an operator (or a stray script) makes it writable
  ASSERT_TRUE(testing::WaitFor([&] { return ReadOnly(); }, seconds(10)))
      << "the non-holder's database was left writable";
  EXPECT_FALSE(AppInsert(&out));
  ASSERT_TRUE(WaitForRecords("fence", 2));
  auto fences = AgentRecords("fence");
  EXPECT_EQ(fences[0].labels["reason"], "other_holder");
  EXPECT_THAT(fences[0].message, HasSubstr("found writable"));
  // fence_steps ran once for the fence, not again for the re-check.
  EXPECT_EQ(hooks_.RequestCount("/status/200"), 1);
  EXPECT_EQ(hooks_.RequestCount("/status/204"), 0);
  auto st = l->lease.Read();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->holder, "us-east") << "the agent must not touch another region's lease";
}

// The failover's order is: writer_lease acquires the lease for eu-west, then db_promote
// makes eu-west's database writable. eu-west's agent may have read the key (us-east) just
// before the acquire and check its database just after the promotion: it must not fence a
// database promoted under its own region's lease (read-only again, the new primary's
// sessions killed). The relay holds the agent's database check after such a read while the
// lease moves and the database is promoted. make_writable: false, so nothing but the
// promotion opens it: a wrong fence would leave the new primary read-only.
TEST_F(RegionAgentTest, NonHolderDoesNotFenceADatabasePromotedUnderItsLease) {
  auto l = HoldLease("us-east");
  ASSERT_TRUE(l->held && l->held->created);
  SetReadOnly(true);
  std::string primary = stack_->Env("MARIADB_PRIMARY_ADDR");
  HoldingRelay relay(std::stoi(primary.substr(primary.rfind(':') + 1)));
  StartAgent(Load("eu-west", {l->endpoint}, relay.address(), "",
                  "  ttl: 3s\n  renew_every: 500ms\n  fence_after: 1500ms\n  fence_timeout: 1s\n"
                  "  make_writable: false\n"));
  ASSERT_TRUE(WaitForRecords("fence", 1)) << "the non-holder did not settle fenced";

  // A tick that read "us-east" is checking its database: the failover happens now.
  relay.HoldNext();
  ASSERT_TRUE(testing::WaitFor([&] { return relay.Holding(); }, seconds(10)));
  ASSERT_TRUE(l->lease.Release(l->held->lease));
  auto taken = l->lease.TryAcquire("eu-west", 30);
  ASSERT_TRUE(taken && taken->created);
  SetReadOnly(false);  // db_promote
  relay.Let();

  ASSERT_TRUE(testing::WaitFor([&] { return agent_->held(); }, seconds(10)))
      << "eu-west's agent never saw its region hold the lease";
  // Several ticks later the promoted database still takes writes.
  auto until = std::chrono::steady_clock::now() + seconds(2);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_FALSE(ReadOnly()) << "eu-west's agent fenced the database promoted under its lease";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string out;
  EXPECT_TRUE(AppInsert(&out)) << out;
  for (const auto& f : AgentRecords("fence")) {
    EXPECT_THAT(f.message, ::testing::Not(HasSubstr("found writable"))) << f.message;
  }
  ASSERT_TRUE(l->lease.Release(taken->lease));
}

// The holder whose database is down (connection refused) stops renewing and revokes the
// lease after fence_after, long before the lease's own 30 s TTL: a failover can take it.
TEST_F(RegionAgentTest, HolderWithADeadDatabaseReleasesTheLease) {
  auto l = HoldLease("us-east");
  ASSERT_TRUE(l->held && l->held->created);
  StartAgent(Load("us-east", {l->endpoint}, "127.0.0.1:" + std::to_string(testing::ClosedPort())));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto s = l->lease.Read();
        return s && !s->held;
      },
      seconds(15)))
      << "the holder kept the lease of a dead database alive";
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(15));
  ASSERT_TRUE(WaitForRecords("release"));
  auto rel = AgentRecords("release")[0];
  EXPECT_THAT(rel.message, HasSubstr("unreachable"));
  // The region is fenced as far as it can be: fence_steps ran.
  EXPECT_TRUE(testing::WaitFor([&] { return hooks_.RequestCount("/status/200") >= 1; }));
  // A failover can now take the lease at once.
  auto taken = l->lease.TryAcquire("eu-west", 5);
  ASSERT_TRUE(taken);
  EXPECT_TRUE(taken->created) << taken->Describe();
}

// failover_actuator as an agent only (no runbooks): the process runs the agent, exports its
// metrics and shows its journal records in the API; SIGTERM stops it cleanly.
TEST_F(RegionAgentTest, ActuatorProcessRunsTheAgent) {
  auto l = HoldLease("us-east");
  ASSERT_TRUE(l->held && l->held->created);
  std::string config = dir_.Write(
      "agent.yml",
      "journal: " + dir_.path() + "/agent.db\n" + "databases:\n  eu-west-db: {mysql: {address: \"" +
          stack_->Env("MARIADB_PRIMARY_ADDR") + "\", user: failover, password_file: \"" +
          stack_->Env("MARIADB_FAILOVER_PASSWORD_FILE") + "\"}}\n" +
          "region_agent: {region: eu-west, etcd: {endpoints: [\"" + l->endpoint +
          "\"], prefix: " + prefix_ +
          "}, database: eu-west-db, ttl: 3s, renew_every: 500ms, fence_after: 1500ms, "
          "fence_timeout: 1s}\n");
  testing::Subprocess p({testing::Binary("failover_actuator"), "--config.file=" + config,
                         "--web.listen-address=127.0.0.1:0"},
                        dir_.path());
  int port = testing::WaitForListeningPort(p);
  ASSERT_NE(port, 0) << p.Stderr();
  ASSERT_TRUE(testing::WaitFor([&] { return ReadOnly(); }, seconds(10))) << p.Stderr();
  auto get = [&](const std::string& path) {
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(port) + path;
    auto r = http_.Send(req);
    return r ? r->body : std::string();
  };
  EXPECT_TRUE(testing::WaitFor([&] {
    return get("/metrics")
               .find(
                   "failover_actuator_region_fenced{reason=\"other_holder\","
                   "region=\"eu-west\"} 1") != std::string::npos;
  })) << get("/metrics");
  std::string api = get("/api/v1/executions");
  EXPECT_THAT(api, HasSubstr("\"runbook\":\"region_agent\""));
  EXPECT_THAT(api, HasSubstr("\"action\":\"fence\""));
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), std::optional<int>(0)) << p.Stderr();
  EXPECT_THAT(p.Stderr(), HasSubstr("fencing this region"));
}

// PostgreSQL: the same invariant with default_transaction_read_only. A region that does not
// hold the lease is read-only; once the lease is acquired for it, its agent makes the
// primary writable again.
TEST_F(RegionAgentTest, PostgresPrimaryFollowsTheLease) {
  auto& stack = Stack::Get({"postgres", "etcd"});
  std::string addr = stack.Env("PG_PRIMARY_ADDR");
  std::string port = addr.substr(addr.rfind(':') + 1);
  std::string endpoint = stack.Env("ETCD_ENDPOINTS");
  EtcdClient admin(http_, {endpoint});
  WriterLease lease(admin, prefix_);
  auto other = lease.TryAcquire("eu-west", 30);
  ASSERT_TRUE(other && other->created);
  auto node = YamlNode::LoadString(
      "{conninfo: \"host=127.0.0.1 port=" + port + " user=postgres dbname=shop\"}", "test");
  PgTarget target = *PgTargetFromYaml(*node);
  auto deadline = [] { return SystemClock::Get().Now() + seconds(10); };
  auto insert = [&]() -> std::string {
    PgConn c;
    if (!c.Connect(target, "app", deadline(), seconds(10))) return "cannot connect";
    auto r = c.Exec("INSERT INTO orders (note) VALUES ('region-agent-pg')", deadline());
    return r ? "" : r.error().detail;
  };
  ASSERT_EQ(insert(), "");

  StartAgent(Load("us-east", {endpoint}, "",
                  "{postgres: {conninfo: \"host=127.0.0.1 port=" + port +
                      " user=failover dbname=postgres\", password_file: \"" +
                      stack.Env("PG_FAILOVER_PASSWORD_FILE") + "\"}}"));
  ASSERT_TRUE(testing::WaitFor([&] { return !insert().empty(); }, seconds(10)))
      << "the non-holder's PostgreSQL stayed writable";
  EXPECT_THAT(insert(), HasSubstr("read-only transaction"));

  // The lease moves to us-east (eu-west released it): us-east's primary takes writes again.
  ASSERT_TRUE(lease.Release(other->lease));
  auto mine = lease.TryAcquire("us-east", 3);
  ASSERT_TRUE(mine && mine->created);
  ASSERT_TRUE(testing::WaitFor([&] { return insert().empty(); }, seconds(10)))
      << "the holder's agent did not make PostgreSQL writable: " << insert();
  EXPECT_TRUE(agent_->held());
  agent_.reset();  // stopping: the agent leaves its database read-only
  EXPECT_THAT(insert(), HasSubstr("read-only transaction"));
  PgConn admin_conn;
  ASSERT_TRUE(admin_conn.Connect(target, "reset", deadline(), seconds(10)));
  ASSERT_TRUE(admin_conn.Exec("ALTER SYSTEM RESET default_transaction_read_only", deadline()));
  ASSERT_TRUE(admin_conn.Exec("SELECT pg_reload_conf()", deadline()));
  ASSERT_TRUE(testing::WaitFor([&] { return insert().empty(); }));
}

}  // namespace
}  // namespace failover

namespace failover {
namespace {

// Issue 16's common failure: us-east's web tier is down but its database and agent are
// healthy, so the agent keeps renewing. The failover's writer_lease step asks for a
// handover; the agent fences its region (read-only, sessions killed, fence_steps),
// verifies the database is read-only, journals it, and only then revokes its lease. The
// step takes the lease long before the old lease's 30 s TTL could run out.
TEST_F(RegionAgentTest, LiveHolderHandsTheLeaseOverOnRequest) {
  auto l = HoldLease("us-east");
  ASSERT_TRUE(l->held && l->held->created);
  SetReadOnly(true);
  StartAgent(Load("us-east", {l->endpoint}));
  ASSERT_TRUE(testing::WaitFor([&] { return agent_->held() && !ReadOnly(); }, seconds(10)))
      << "the holder did not open its region";
  std::string out;
  ASSERT_TRUE(AppInsert(&out)) << out;

  // Watch the key: the moment it names eu-west, try an order on us-east.
  std::atomic<bool> stop{false}, seen{false};
  bool insert_when_seen = true;
  std::string insert_out;
  std::thread watcher([&] {
    while (!stop) {
      auto st = l->lease.Read(std::nullopt, /*with_ttl=*/false);
      if (st && st->holder == "eu-west") {
        insert_when_seen = AppInsert(&insert_out);
        seen = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  auto step = LeaseStep("{acquire: eu-west, timeout: 20s}");
  ASSERT_TRUE(step);
  StepOutcome r = RunStep(*step);
  bool appeared = testing::WaitFor([&] { return seen.load(); }, seconds(5));
  stop = true;
  watcher.join();
  ASSERT_TRUE(appeared) << "the key never named eu-west: " << r.message;
  ASSERT_EQ(r.status, StepStatus::kOk) << r.message;
  EXPECT_THAT(r.message, HasSubstr("writer lease acquired for eu-west"));
  EXPECT_THAT(r.message, HasSubstr("after us-east released it on the handover request"));
  EXPECT_EQ(r.details["handover_requested"], true);
  EXPECT_FALSE(insert_when_seen) << "us-east took an order when eu-west's key appeared: "
                                 << insert_out;
  EXPECT_THAT(insert_out, HasSubstr("read-only"));
  EXPECT_FALSE(AppInsert(&out)) << "us-east stays read-only as a non-holder";
  auto st = l->lease.Read();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->holder, "eu-west");
  // The step withdrew its request.
  auto req = l->admin.Range(prefix_ + "handover", false);
  ASSERT_TRUE(req);
  EXPECT_TRUE(req->empty());

  // Journal: the fence (reason handover, database verified read-only) ended before the
  // release began.
  ASSERT_TRUE(WaitForRecords("release"));
  auto rel = AgentRecords("release")[0];
  EXPECT_EQ(rel.labels["reason"], "handover");
  EXPECT_THAT(rel.message, HasSubstr("handing the writer lease over to eu-west"));
  EXPECT_THAT(rel.message, HasSubstr("verified read-only"));
  const ExecutionRecord* fence = nullptr;
  auto fences = AgentRecords("fence");
  for (const auto& f : fences) {
    if (f.labels.at("reason") == "handover") fence = &f;
  }
  ASSERT_NE(fence, nullptr);
  EXPECT_EQ(fence->state, ExecState::kSucceeded) << fence->message;
  auto fsteps = journal_->Steps(fence->id);
  ASSERT_TRUE(fsteps);
  ASSERT_FALSE(fsteps->empty());
  EXPECT_EQ((*fsteps)[0].kind, "db_fence");
  EXPECT_EQ((*fsteps)[0].state, "ok");
  EXPECT_LE((*fsteps)[0].finished_at, rel.created_at);
  EXPECT_EQ(hooks_.RequestCount("/status/200"), 1) << "fence_steps ran for the handover";
}

// handover: false: only an expired or released lease moves; a live holder keeps it.
TEST_F(RegionAgentTest, NoHandoverWithoutTheRequest) {
  auto l = HoldLease("us-east");
  ASSERT_TRUE(l->held && l->held->created);
  StartAgent(Load("us-east", {l->endpoint}));
  ASSERT_TRUE(testing::WaitFor([&] { return agent_->held(); }, seconds(10)));
  auto step = LeaseStep("{acquire: eu-west, timeout: 3s, handover: false}");
  ASSERT_TRUE(step);
  EXPECT_EQ(step->Render(TemplateVars{}).value()["handover"], false);
  StepOutcome r = RunStep(*step);
  EXPECT_EQ(r.status, StepStatus::kFailed) << r.message;
  EXPECT_THAT(r.message, HasSubstr("held by us-east"));
  auto st = l->lease.Read();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->holder, "us-east");
  std::string out;
  EXPECT_TRUE(AppInsert(&out)) << out;
  EXPECT_TRUE(AgentRecords("release").empty());
}

// A holder that cannot verify its fence (its database port closed) keeps the lease on
// request: the acquire times out (and pages) instead of promoting beside a database that
// may still take writes. Its fence_after (20 s) is longer than the test, so the
// database_down release does not come into it.
TEST_F(RegionAgentTest, HolderThatCannotFenceDoesNotReleaseOnRequest) {
  auto l = HoldLease("us-east");
  ASSERT_TRUE(l->held && l->held->created);
  StartAgent(Load("us-east", {l->endpoint}, "127.0.0.1:" + std::to_string(testing::ClosedPort()),
                  "",
                  "  ttl: 30s\n  renew_every: 500ms\n  fence_after: 20s\n  fence_timeout: 1s\n"));
  ASSERT_TRUE(testing::WaitFor([&] { return agent_->held(); }, seconds(10)));
  auto step = LeaseStep("{acquire: eu-west, timeout: 4s}");
  ASSERT_TRUE(step);
  StepOutcome r = RunStep(*step);
  EXPECT_EQ(r.status, StepStatus::kFailed) << r.message;
  EXPECT_THAT(r.message, HasSubstr("did not hand it over on request"));
  auto st = l->lease.Read();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->holder, "us-east");
  EXPECT_TRUE(AgentRecords("release").empty()) << AgentRecords("release")[0].message;
  bool tried = false;
  for (const auto& f : AgentRecords("fence")) tried |= f.labels.at("reason") == "handover";
  EXPECT_TRUE(tried) << "the agent did not try to fence on the request";
  // The request is withdrawn with the step: the region is the writer again.
  auto req = l->admin.Range(prefix_ + "handover", false);
  ASSERT_TRUE(req);
  EXPECT_TRUE(req->empty());
}

}  // namespace
}  // namespace failover
