// failover_exporter as an operator runs it: flags, exit codes, endpoints, reloads.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <regex>

#include "common/http_client.h"
#include "common/http_server.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace failover {
namespace {

using testing::Binary;
using testing::Subprocess;
using testing::WaitFor;

const std::string kTestdata = std::string(FAILOVER_SOURCE_DIR) + "/tests/exporter/testdata";

Result<HttpResponse> Get(int port, const std::string& path, const std::string& method = "GET") {
  HttpRequest req;
  req.method = method;
  req.url = "http://127.0.0.1:" + std::to_string(port) + path;
  req.timeout = std::chrono::seconds(5);
  return CurlHttpClient().Send(req);
}

// One raw request on a new connection, "Connection: close"; returns everything the server
// sent until it closed (status line, headers and the body as sent, chunked or not).
std::string RawGet(int port, const std::string& path, const std::string& version) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req =
        "GET " + path + " HTTP/" + version + "\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[65536];
      for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

class ExporterProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions opts;
    opts.listen_address = "127.0.0.1:0";
    auto s = HttpServer::Start(opts, {{"GET", "/healthz", false, [](const HttpServerRequest&) {
                                         return HttpServerResponse::Text(200, "ok\n");
                                       }}});
    ASSERT_TRUE(s);
    target_ = std::move(*s);
  }

  std::string Config(const std::vector<std::string>& names) {
    std::string c =
        "defaults: {interval: 200ms, timeout: 150ms}\nregions: {us-east: {}}\nprobes:\n";
    for (const auto& n : names) {
      c += "  - name: " + n + "\n    region: us-east\n    http: {url: \"http://127.0.0.1:" +
           std::to_string(target_->port()) + "/healthz\"}\n";
    }
    return c;
  }

  // failover_exporter on `config` (written to exporter.yml), listening on 127.0.0.1:0;
  // `port` is 0 when it did not start listening.
  std::unique_ptr<Subprocess> StartExporter(const std::string& config, int* port) {
    std::string cfg = dir_.Write("exporter.yml", config);
    auto p = std::make_unique<Subprocess>(
        std::vector<std::string>{Binary("failover_exporter"), "--config.file=" + cfg,
                                 "--web.listen-address=127.0.0.1:0"},
        dir_.path());
    *port = testing::WaitForListeningPort(*p);
    return p;
  }

  testing::TempDir dir_;
  std::unique_ptr<HttpServer> target_;
};

TEST_F(ExporterProcessTest, VersionAndHelp) {
  auto v = Subprocess::Run({Binary("failover_exporter"), "--version"}, dir_.path());
  EXPECT_EQ(v.status, 0);
  // As Prometheus' version package prints it: version (from git describe), branch,
  // revision, then build user, build date, compiler and platform.
  EXPECT_TRUE(std::regex_search(
      v.out, std::regex("^failover_exporter, version [0-9][^ ]* \\(branch: [^,]+, revision: "
                        "([0-9a-f]{12}|unknown)\\)\n"
                        "  build user: +[^\n]+\n"
                        "  build date: +[0-9]{8}-[0-9:]{8}\n"
                        "  compiler: +[^\n]+\n"
                        "  platform: +linux/[^\n]+\n$")))
      << v.out;
  auto h = Subprocess::Run({Binary("failover_exporter"), "--help"}, dir_.path());
  EXPECT_EQ(h.status, 0);
  for (const char* flag : {"--config.file", "--web.listen-address", "--config.check", "--log.level",
                           "--log.format", "--version"}) {
    EXPECT_NE(h.out.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(h.out.find("(default: :9807)"), std::string::npos);
  auto bad = Subprocess::Run({Binary("failover_exporter"), "--no-such-flag"}, dir_.path());
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("unknown flag --no-such-flag"), std::string::npos);
}

TEST_F(ExporterProcessTest, MaxInFlightFlagIsCheckedAndListed) {
  auto h = Subprocess::Run({Binary("failover_exporter"), "--help"}, dir_.path());
  EXPECT_NE(h.out.find("--probe.max-in-flight"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("(default: 2000)"), std::string::npos) << h.out;
  for (const char* value : {"0", "-1", "ten", "2000000"}) {
    auto bad = Subprocess::Run(
        {Binary("failover_exporter"), std::string("--probe.max-in-flight=") + value}, dir_.path());
    EXPECT_EQ(bad.status, 2) << value;
    EXPECT_NE(bad.err.find("flag --probe.max-in-flight: expected a number from 1 to 1000000, "
                           "not \"" +
                           std::string(value) + "\""),
              std::string::npos)
        << bad.err;
  }
}

TEST_F(ExporterProcessTest, ConfigCheck) {
  auto good = Subprocess::Run(
      {Binary("failover_exporter"), "--config.check", "--config.file=" + kTestdata + "/good.yml"},
      dir_.path());
  EXPECT_EQ(good.status, 0) << good.err;
  EXPECT_NE(good.out.find("OK, 5 probes in 2 regions"), std::string::npos) << good.out;
  std::string bad_path = kTestdata + "/bad/unknown_region.yml";
  auto bad = Subprocess::Run(
      {Binary("failover_exporter"), "--config.check", "--config.file=" + bad_path}, dir_.path());
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find(bad_path + ":5:13: probes[0].region: unknown region \"us-west\""),
            std::string::npos)
      << bad.err;
}

TEST_F(ExporterProcessTest, InvalidConfigAtStartExitsWithTheReason) {
  std::string cfg = dir_.Write("exporter.yml", "probes: [{name: a}]\n");
  Subprocess p(
      {Binary("failover_exporter"), "--config.file=" + cfg, "--web.listen-address=127.0.0.1:0"},
      dir_.path());
  EXPECT_EQ(p.Wait(), 1);
  EXPECT_NE(p.Stderr().find("a probe is a mapping with exactly one key, its kind"),
            std::string::npos)
      << p.Stderr();
}

// `/metrics?name[]=A&name[]=B`: only those families, the probes' and the exporter's own,
// so a Prometheus that keeps a few of them need not read and parse the rest.
TEST_F(ExporterProcessTest, MetricsKeepsOnlyTheFamiliesNamed) {
  int port = 0;
  auto p = StartExporter(Config({"web"}), &port);
  ASSERT_NE(port, 0) << p->Stderr();
  const std::string success =
      "failover_probe_success{probe=\"web\",region=\"us-east\",kind=\"http\"} 1\n";
  ASSERT_TRUE(WaitFor([&] {
    auto r = Get(port, "/metrics");
    return r && r->body.find(success) != std::string::npos;
  }));
  auto r = Get(port,
               "/metrics?name[]=failover_probe_success&name%5B%5D=failover_exporter_build_info"
               "&name[]=failover_probe_http_status_code");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find(success), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\nfailover_probe_http_status_code{probe=\"web\""), std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("\nfailover_exporter_build_info{"), std::string::npos) << r->body;
  std::vector<std::string> types;
  for (size_t at = r->body.find("# TYPE "); at != std::string::npos;
       at = r->body.find("# TYPE ", at + 1)) {
    types.push_back(r->body.substr(at + 7, r->body.find(' ', at + 7) - at - 7));
  }
  EXPECT_EQ(types,
            (std::vector<std::string>{"failover_probe_success", "failover_probe_http_status_code",
                                      "failover_exporter_build_info"}))
      << r->body;
  // A name that is no metric name is refused, naming it; nothing is served.
  auto bad = Get(port, "/metrics?name[]=failover_probe_success&name[]=up%7Bjob%3D%22x%22%7D");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(bad->body,
            "name[]: \"up{job=\"x\"}\" is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)\n");
}

// libcurl, libpq and libmariadb (and the GnuTLS, Kerberos and LDAP they pull in, ~4 MiB)
// are mapped only once a probe needs them (common/lazy_library.h).
TEST_F(ExporterProcessTest, MapsClientLibrariesOnlyWhenAProbeNeedsThem) {
  int port = 0;
  auto p = StartExporter(Config({"web"}), &port);
  ASSERT_NE(port, 0) << p->Stderr();
  auto metric = [&](const std::string& needle) {
    auto r = Get(port, "/metrics");
    return r && r->body.find(needle) != std::string::npos;
  };
  auto mapped = [&](const std::string& soname) {
    std::ifstream maps("/proc/" + std::to_string(p->pid()) + "/maps");
    std::string all((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
    return all.find("/" + soname) != std::string::npos;
  };
  ASSERT_TRUE(WaitFor([&] {
    return metric("failover_probe_success{probe=\"web\",region=\"us-east\",kind=\"http\"} 1");
  }));
  for (const char* lib : {"libcurl.so.4", "libpq.so.5", "libmariadb.so.3", "libgnutls.so.30"}) {
    EXPECT_FALSE(mapped(lib)) << lib << " mapped with only http probes";
  }
  // Nothing listens on port 1 of loopback: each probe fails, after calling its library.
  dir_.Write("exporter.yml",
             Config({"web"}) +
                 "  - name: pg\n    region: us-east\n"
                 "    postgres: {conninfo: \"host=127.0.0.1 port=1 user=probe dbname=probe\"}\n"
                 "  - name: my\n    region: us-east\n"
                 "    mysql: {address: \"127.0.0.1:1\", user: probe}\n"
                 "  - name: named\n    region: us-east\n    tcp: {address: \"localhost:1\"}\n");
  p->Signal(SIGHUP);
  for (const char* probe : {"pg", "my", "named"}) {
    EXPECT_TRUE(WaitFor([&] {
      return metric("failover_probe_failure_info{probe=\"" + std::string(probe) + "\"");
    })) << probe;
  }
  EXPECT_TRUE(mapped("libpq.so.5"));
  EXPECT_TRUE(mapped("libmariadb.so.3"));
  EXPECT_TRUE(mapped("libcurl.so.4"));
  EXPECT_TRUE(p->Running()) << p->Stderr();
}

TEST_F(ExporterProcessTest, ServesMetricsAndReloads) {
  std::string cfg = dir_.Write("exporter.yml", Config({"keep", "drop"}));
  Subprocess p(
      {Binary("failover_exporter"), "--config.file=" + cfg, "--web.listen-address=127.0.0.1:0"},
      dir_.path());
  int port = testing::WaitForListeningPort(p);
  ASSERT_NE(port, 0) << p.Stderr();

  EXPECT_EQ(Get(port, "/-/healthy")->status, 200);
  EXPECT_EQ(Get(port, "/-/ready")->status, 200);
  auto metric = [&](const std::string& needle) {
    auto r = Get(port, "/metrics");
    return r && r->body.find(needle) != std::string::npos;
  };
  ASSERT_TRUE(WaitFor([&] {
    return metric("failover_probe_success{probe=\"keep\",region=\"us-east\",kind=\"http\"} 1") &&
           metric("failover_probe_success{probe=\"drop\",region=\"us-east\",kind=\"http\"} 1");
  }));
  EXPECT_TRUE(metric("failover_exporter_config_last_reload_successful 1"));
  // build_info carries what --version prints; the process limits as client_golang has them.
  auto page = Get(port, "/metrics");
  ASSERT_TRUE(page);
  EXPECT_TRUE(std::regex_search(
      page->body,
      std::regex("\nfailover_exporter_build_info\\{branch=\"[^\"]+\",builddate=\"[0-9]{8}-[0-9:]{8}"
                 "\",compiler=\"[^\"]+\",platform=\"linux/[^\"]+\",revision=\"[^\"]+\",version=\"["
                 "0-9][^\"]*\"\\} 1\n")))
      << page->body;
  EXPECT_TRUE(std::regex_search(page->body, std::regex("\nprocess_max_fds [0-9]+\n")));
  EXPECT_TRUE(
      std::regex_search(page->body, std::regex("\nprocess_virtual_memory_max_bytes [-0-9.e+]+\n")));
  auto landing = Get(port, "/");
  EXPECT_NE(landing->body.find("<td>keep</td>"), std::string::npos);
  EXPECT_EQ(Get(port, "/-/reload")->status, 405);  // GET is not a reload

  // Reload through the API: "drop" disappears, "keep" keeps counting from where it was.
  dir_.Write("exporter.yml", Config({"keep"}));
  auto r = Get(port, "/-/reload", "POST");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_FALSE(metric("probe=\"drop\""));
  EXPECT_TRUE(metric("failover_probe_success{probe=\"keep\""));
  // PUT reloads too (Prometheus accepts both).
  dir_.Write("exporter.yml", Config({"keep", "drop"}));
  auto put = Get(port, "/-/reload", "PUT");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 200) << put->body;
  EXPECT_TRUE(metric("probe=\"drop\""));
  dir_.Write("exporter.yml", Config({"keep"}));
  ASSERT_EQ(Get(port, "/-/reload", "POST")->status, 200);

  // An invalid file is refused with the reason; the running probes go on.
  dir_.Write("exporter.yml", "probes: [{name: x, tcp: {address: nope}}]\n");
  auto bad = Get(port, "/-/reload", "POST");
  EXPECT_EQ(bad->status, 500);
  EXPECT_NE(bad->body.find("exporter.yml:1:"), std::string::npos) << bad->body;
  EXPECT_NE(bad->body.find("probes[0].tcp.address"), std::string::npos) << bad->body;
  EXPECT_TRUE(metric("failover_exporter_config_last_reload_successful 0"));
  auto runs = [&] {
    auto m = Get(port, "/metrics");
    std::smatch sm;
    std::regex re("failover_probe_runs_total\\{probe=\"keep\",[^}]*result=\"success\"\\} ([0-9]+)");
    return std::regex_search(m->body, sm, re) ? std::stoi(sm[1]) : -1;
  };
  int before = runs();
  EXPECT_TRUE(WaitFor([&] { return runs() > before; })) << "probing stopped after a bad reload";

  // SIGHUP with a valid file: accepted, a new probe appears.
  dir_.Write("exporter.yml", Config({"keep", "added"}));
  p.Signal(SIGHUP);
  EXPECT_TRUE(WaitFor([&] {
    return metric("failover_exporter_config_last_reload_successful 1") &&
           metric("failover_probe_success{probe=\"added\"");
  }));
  EXPECT_GE(runs(), before) << "an unchanged probe lost its history on reload";

  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 0);
  EXPECT_NE(p.Stderr().find("msg=\"config reload failed; keeping the running config\""),
            std::string::npos);
}

// /metrics goes out in parts (chunked) to HTTP/1.1 clients, so a page of megabytes is
// never held whole; HTTP/1.0 clients, which cannot take chunks, get it whole.
TEST_F(ExporterProcessTest, MetricsChunkedForHttp11WholeForHttp10) {
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) names.push_back("p" + std::to_string(1000 + i));
  std::string cfg = dir_.Write("exporter.yml", Config(names));
  Subprocess p(
      {Binary("failover_exporter"), "--config.file=" + cfg, "--web.listen-address=127.0.0.1:0"},
      dir_.path());
  int port = testing::WaitForListeningPort(p);
  ASSERT_NE(port, 0) << p.Stderr();
  const std::string last =
      "failover_probe_success{probe=\"p1099\",region=\"us-east\",kind=\"http\"} 1";
  // Until every probe has run: ~2 KiB of series each, a page of several 64 KiB parts.
  ASSERT_TRUE(WaitFor([&] {
    auto r = Get(port, "/metrics");  // libcurl decodes the chunks
    return r && r->status == 200 &&
           r->body.find("kind=\"http\",result=\"success\"} 0\n") == std::string::npos &&
           r->body.find(last + "\n") != std::string::npos;
  }));

  std::string chunked = RawGet(port, "/metrics", "1.1");
  size_t head_end = chunked.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << chunked.substr(0, 500);
  std::string head = chunked.substr(0, head_end);
  EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos) << head;
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
  // Decode: the page is more than one part, and it ends with the last chunk.
  std::string body;
  int parts = 0;
  for (size_t pos = head_end + 4;;) {
    size_t eol = chunked.find("\r\n", pos);
    ASSERT_NE(eol, std::string::npos);
    size_t len = std::stoul(chunked.substr(pos, eol - pos), nullptr, 16);
    if (len == 0) break;
    body += chunked.substr(eol + 2, len);
    ++parts;
    pos = eol + 2 + len + 2;
  }
  EXPECT_GT(parts, 1);
  EXPECT_NE(body.find(last + "\n"), std::string::npos);
  EXPECT_NE(body.find("\nfailover_exporter_build_info{"), std::string::npos);

  std::string whole = RawGet(port, "/metrics", "1.0");
  head_end = whole.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  std::smatch m;
  std::string head10 = whole.substr(0, head_end);
  ASSERT_TRUE(std::regex_search(head10, m, std::regex("Content-Length: ([0-9]+)"))) << head10;
  EXPECT_EQ(std::stoul(m[1]), whole.size() - head_end - 4);
  EXPECT_NE(whole.find(last + "\n"), std::string::npos);
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 0);
}

TEST_F(ExporterProcessTest, JsonLogs) {
  std::string cfg = dir_.Write("exporter.yml", Config({"a"}));
  Subprocess p({Binary("failover_exporter"), "--config.file=" + cfg,
                "--web.listen-address=127.0.0.1:0", "--log.format=json"},
               dir_.path());
  ASSERT_TRUE(WaitFor([&] {
    return p.Stderr().find("\"msg\":\"listening\"") != std::string::npos;
  })) << p.Stderr();
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 0);
  EXPECT_EQ(p.Stderr().find("level=info"), std::string::npos);
}

// --web.listen-address given twice: both addresses answer /metrics (the last one used to
// win silently); --log.format=json writes the probe count as a number.
TEST_F(ExporterProcessTest, EveryListenAddressServesAndJsonLogsHaveNumbers) {
  std::string cfg = dir_.Write("exporter.yml", Config({"keep"}));
  Subprocess p({Binary("failover_exporter"), "--config.file=" + cfg, "--log.format=json",
                "--web.listen-address=127.0.0.1:0", "--web.listen-address=127.0.0.2:0"},
               dir_.path());
  static const std::regex re("\"msg\":\"listening\",\"address\":\"(127\\.0\\.0\\.[12]):([0-9]+)\"");
  std::vector<std::string> addresses;
  ASSERT_TRUE(WaitFor([&] {
    addresses.clear();
    std::string err = p.Stderr();
    for (std::sregex_iterator it(err.begin(), err.end(), re), end; it != end; ++it) {
      addresses.push_back((*it)[1].str() + ":" + (*it)[2].str());
    }
    return addresses.size() == 2 || !p.Running();
  })) << p.Stderr();
  ASSERT_EQ(addresses.size(), 2u) << p.Stderr();
  EXPECT_EQ(addresses[0].rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(addresses[1].rfind("127.0.0.2:", 0), 0u);
  for (const std::string& address : addresses) {
    HttpRequest req;
    req.method = "GET";
    req.url = "http://" + address + "/metrics";
    req.timeout = std::chrono::seconds(5);
    auto r = CurlHttpClient().Send(req);
    ASSERT_TRUE(r) << address << ": " << r.error().message;
    EXPECT_EQ(r->status, 200) << address;
    EXPECT_NE(r->body.find("failover_exporter_build_info{"), std::string::npos) << address;
  }
  EXPECT_NE(p.Stderr().find("\"msg\":\"loaded config\",\"file\":\"" + cfg + "\",\"probes\":1}"),
            std::string::npos)
      << p.Stderr();
}

// --web.systemd-socket: the exporter serves the socket it inherits as descriptor 3 with
// LISTEN_PID/LISTEN_FDS (what systemd does for a .socket unit) and binds nothing itself;
// without those variables it refuses to start, saying why.
TEST_F(ExporterProcessTest, SystemdSocketIsServed) {
  std::string cfg = dir_.Write("exporter.yml", Config({"keep"}));
  int sock = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(sock, 16), 0);
  socklen_t len = sizeof addr;
  getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  std::string binary = Binary("failover_exporter");
  std::string log = dir_.path() + "/socket.log";
  std::string config_flag = "--config.file=" + cfg;
  // Everything is prepared before fork (only async-signal-safe calls after it); the shell
  // sets LISTEN_PID to its own pid, which the exporter keeps through exec.
  const char* script = "LISTEN_PID=$$ exec \"$0\" \"$@\"";
  const char* env[] = {"LISTEN_FDS=1", nullptr};
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(sock, 3);
    if (sock != 3) close(sock);
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 2);
    execle("/bin/sh", "sh", "-c", script, binary.c_str(), config_flag.c_str(),
           "--web.systemd-socket", "--web.listen-address=127.0.0.1:1", static_cast<char*>(nullptr),
           env);
    _exit(127);
  }
  close(sock);
  bool served = WaitFor([&] {
    auto r = Get(port, "/metrics");
    return r && r->status == 200 &&
           r->body.find("failover_exporter_build_info{") != std::string::npos;
  });
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(log);
  std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(served) << err;
  EXPECT_NE(err.find("msg=listening address=127.0.0.1:" + std::to_string(port)), std::string::npos)
      << err;

  auto refused =
      Subprocess::Run({binary, "--config.file=" + cfg, "--web.systemd-socket"}, dir_.path());
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("--web.systemd-socket: systemd passed no sockets"), std::string::npos)
      << refused.err;
}

}  // namespace
}  // namespace failover
