#include "exporter/probers/redis.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <tuple>
#include <vector>

#include "common/config_fields.h"
#include "common/host_port.h"
#include "common/secret.h"
#include "exporter/probers/curl_probe.h"
#include "exporter/probers/spec_prober.h"
#include "exporter/probers/stream_conn.h"

namespace failover {
namespace {

std::optional<double> Number(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  if (it == m.end() || it->second.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return v;
}

std::string InfoField(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? std::string() : it->second;
}

// "ip=127.0.0.1,port=6380,state=online,offset=42,lag=0" -> map.
std::map<std::string, std::string> ParseReplicaLine(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    size_t eq = item.find('=');
    if (eq != std::string::npos) out[item.substr(0, eq)] = item.substr(eq + 1);
    start = end + 1;
  }
  return out;
}

// One RESP reply: '+' simple string, '-' error, ':' integer, '$' bulk string (null: `nil`).
struct RespReply {
  char type = 0;
  std::string text;
  bool nil = false;
};

// Parses the reply at `pos` of `buf`; nullopt while it is incomplete (pos unchanged).
// Arrays are not expected (the probe sends AUTH and INFO only) and are a protocol error.
Result<std::optional<RespReply>> ParseReply(const std::string& buf, size_t& pos) {
  size_t eol = buf.find("\r\n", pos);
  if (eol == std::string::npos) {
    if (buf.size() - pos > 64 * 1024) return Error::Invalid("reply line longer than 64 KiB");
    return std::optional<RespReply>();
  }
  RespReply r;
  r.type = buf[pos];
  std::string line = buf.substr(pos + 1, eol - pos - 1);
  switch (r.type) {
    case '+':
    case '-':
    case ':':
      r.text = line;
      pos = eol + 2;
      return std::optional<RespReply>(std::move(r));
    case '$': {
      char* end = nullptr;
      long long n = std::strtoll(line.c_str(), &end, 10);
      if (line.empty() || *end != '\0' || n < -1 || n > 64ll * 1024 * 1024) {
        return Error::Invalid("malformed bulk length \"" + line.substr(0, 20) + "\"");
      }
      if (n == -1) {
        r.nil = true;
        pos = eol + 2;
        return std::optional<RespReply>(std::move(r));
      }
      size_t need = eol + 2 + static_cast<size_t>(n) + 2;
      if (buf.size() < need) return std::optional<RespReply>();
      r.text = buf.substr(eol + 2, static_cast<size_t>(n));
      pos = need;
      return std::optional<RespReply>(std::move(r));
    }
    default:
      return Error::Invalid("unexpected reply type '" + std::string(1, r.type) + "'");
  }
}

// A RESP command: an array of bulk strings.
std::string Command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// A redis probe's block as parsed (ParseRedisSpec); the keys read there are the keys a
// redis probe accepts.
struct RedisSpec {
  std::string address;  // host:port, as configured
  std::string host;
  int port = 0;
  std::string username;               // "": AUTH with the password only (the default user)
  std::optional<SecretRef> password;  // password*; none: no AUTH
  bool tls = false;                   // tls: true or a map
  TlsClientOptions tls_opts;          // tls: as a map
  std::shared_ptr<SSL_CTX> ssl_ctx;   // made at load from tls_opts, when tls
  Duration timeout{0};                // the probe's timeout
};

class RedisProber final : public Prober, public std::enable_shared_from_this<RedisProber> {
 public:
  explicit RedisProber(RedisSpec spec) : spec_(std::move(spec)) {}

  void Start(ProbeEnv& env, MonoTime deadline, ProbeDone done) override {
    DriveDbRun(env, deadline, spec_.timeout, std::make_shared<Run>(shared_from_this()),
               std::move(done));
  }

 private:
  // One run: (look up the host,) connect, (TLS handshake,) send [AUTH] INFO replication,
  // read the replies. Every step is non-blocking; the connection closes with the run.
  class Run final : public DbRunSteps {
   public:
    explicit Run(std::shared_ptr<RedisProber> p)
        : p_(std::move(p)), conn_(p_->spec_.address, p_->spec_.host, p_->spec_.port) {}

    Outcome Step(bool, bool) override {
      const RedisSpec& s = p_->spec_;
      if (auto o = conn_.Connect()) return std::move(*o);
      if (!queued_) {
        queued_ = true;
        if (s.password) {
          auto pw = s.password->Resolve();
          if (!pw) return ProbeResult::Failure("error", s.address + ": " + pw.error().message);
          std::vector<std::string> auth = {"AUTH"};
          if (!s.username.empty()) auth.push_back(s.username);
          auth.push_back(*pw);
          std::string cmd = Command(auth);
          conn_.Queue(cmd);
          std::fill(cmd.begin(), cmd.end(), '\0');
          std::fill(pw->begin(), pw->end(), '\0');
          expected_ = 2;
        }
        conn_.Queue(Command({"INFO", "replication"}));
      }
      if (s.tls) {
        if (auto o = conn_.Handshake(s.ssl_ctx.get(), s.tls_opts)) return std::move(*o);
      }
      if (auto o = conn_.Flush()) return std::move(*o);
      while (true) {
        if (auto r = TakeReplies()) return std::move(*r);
        if (auto o = conn_.ReadMore()) return std::move(*o);
      }
    }

    void Abandon() override { conn_.Close(); }

   private:
    // The run's result once every reply is in; nullopt while some are missing.
    std::optional<ProbeResult> TakeReplies() {
      const std::string& addr = p_->spec_.address;
      while (replies_.size() < expected_) {
        auto r = ParseReply(conn_.in(), pos_);
        if (!r) {
          return ProbeResult::Failure("error", addr + ": not a Redis answer: " + r.error().message);
        }
        if (!r->has_value()) return std::nullopt;
        replies_.push_back(std::move(**r));
      }
      for (size_t i = 0; i < replies_.size(); ++i) {
        const RespReply& r = replies_[i];
        bool is_auth = expected_ == 2 && i == 0;
        if (r.type == '-') {
          // WRONGPASS (AUTH refused), NOAUTH (a password is required), NOPERM (the ACL
          // user may not run INFO).
          bool auth = is_auth || r.text.rfind("NOAUTH", 0) == 0 || r.text.rfind("NOPERM", 0) == 0;
          return ProbeResult::Failure(
              auth ? "auth_failed" : "query_failed",
              addr + ": " + (is_auth ? "AUTH: " : "INFO replication: ") + ErrorLabelValue(r.text));
        }
      }
      const RespReply& info = replies_.back();
      if (info.type != '$' || info.nil) {
        return ProbeResult::Failure("error", addr + ": INFO replication: unexpected answer");
      }
      ProbeResult result = RedisProbeResult(ParseRedisInfo(info.text));
      if (!result.success) result.detail = addr + ": " + result.detail;
      return result;
    }

    std::shared_ptr<RedisProber> p_;
    StreamConn conn_;
    bool queued_ = false;
    size_t pos_ = 0;
    size_t expected_ = 1;
    std::vector<RespReply> replies_;
  };

  RedisSpec spec_;
};

}  // namespace

std::map<std::string, std::string> ParseRedisInfo(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    out[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return out;
}

ProbeResult RedisProbeResult(const std::map<std::string, std::string>& info) {
  std::string role = InfoField(info, "role");
  if (role != "master" && role != "slave") {
    return ProbeResult::Failure("error",
                                "INFO replication has no role (\"" + ErrorLabelValue(role) + "\")");
  }
  ProbeResult result;
  result.success = true;
  bool primary = role == "master";
  bool read_only = !primary && InfoField(info, "slave_read_only") == "1";
  AddRoleSamples(result.samples, primary, read_only);
  if (!primary) {
    // The link to the primary: up, or not (down, connecting, or a full resync loading).
    // Only an up link with no sync in progress gives a lag; otherwise there is none to
    // report, never a 0.
    bool up = InfoField(info, "master_link_status") == "up";
    bool syncing = InfoField(info, "master_sync_in_progress") == "1";
    bool running = up && !syncing;
    result.samples.push_back({&kReplicationRunningMetric, {{"thread", "link"}}, running ? 1. : 0.});
    if (running) {
      if (auto io = Number(info, "master_last_io_seconds_ago"); io && *io >= 0) {
        result.samples.push_back({&kReplicationLagSecondsMetric, {}, *io});
      }
      auto read = Number(info, "slave_read_repl_offset");
      auto applied = Number(info, "slave_repl_offset");
      if (read && applied) {
        result.samples.push_back(
            {&kReplicationLagBytesMetric, {}, std::max(0.0, *read - *applied)});
      }
    } else {
      std::string why =
          up ? "full synchronisation in progress"
             : "master_link_status " + ErrorLabelValue(InfoField(info, "master_link_status"));
      result.samples.push_back(
          {&kReplicationLastErrorMetric, {{"thread", "link"}, {"error", why}}, 1});
    }
  }
  // Replicas attached to this server (the primary's view; a replica may have its own): bytes
  // behind the offset this server has, and seconds since each one's last acknowledgement.
  auto own = Number(info, "master_repl_offset");
  for (int i = 0;; ++i) {
    auto it = info.find("slave" + std::to_string(i));
    if (it == info.end()) break;
    auto r = ParseReplicaLine(it->second);
    std::string name = InfoField(r, "ip") + ":" + InfoField(r, "port");
    if (InfoField(r, "state") != "online") continue;  // still syncing: no lag to report
    SampleLabels labels = SampleLabels::Pairs{{"replica", name}};
    if (auto off = Number(r, "offset"); off && own) {
      result.samples.push_back({&kReplicationLagBytesMetric, labels, std::max(0.0, *own - *off)});
    }
    if (auto lag = Number(r, "lag"); lag && *lag >= 0) {
      result.samples.push_back({&kReplicationLagSecondsMetric, labels, *lag});
    }
  }
  return result;
}

namespace {

Result<RedisSpec> ParseRedisSpec(const YamlNode& node, const ProberContext& ctx) {
  RedisSpec spec;
  spec.timeout = ctx.timeout;
  auto addr = RequireField<std::string>(node, "address");
  if (!addr) return addr.error();
  auto hp = SplitHostPort(addr->value);
  if (!hp) return addr->node.Fail(hp.error().message);
  spec.address = addr->value;
  std::tie(spec.host, spec.port) = *hp;
  auto pw = SecretRef::FromYaml(node, "password");
  if (!pw) return pw.error();
  spec.password = *pw;
  auto user = GetField<std::string>(node, "username");
  if (!user) return user.error();
  if (const auto& u = *user) {
    if (u->value.empty()) return u->node.Fail("username is empty");
    if (!spec.password)
      return u->node.Fail("username needs a password (password_file, password_env)");
    spec.username = u->value;
  }
  if (auto t = node.Get("tls")) {
    if (t->IsMap()) {
      auto o = ParseTlsClientOptions(*t);
      if (!o) return o.error();
      spec.tls_opts = std::move(*o);
      spec.tls = true;
    } else {
      auto b = t->AsBool();
      if (!b)
        return t->Fail(
            "tls is true, false or a map (ca_file, cert_file, key_file, "
            "server_name, insecure_skip_verify)");
      spec.tls = *b;
    }
    if (spec.tls) {
      auto c = NewClientSslCtx(*t, spec.tls_opts);
      if (!c) return c.error();
      spec.ssl_ctx = std::move(*c);
    }
  }
  if (auto s = node.RejectUnreadKeys(); !s) return s.error();
  return spec;
}

}  // namespace

Result<std::shared_ptr<Prober>> NewRedisProber(const YamlNode& node, const ProberContext& ctx) {
  return ProberFromSpec<RedisProber>(ParseRedisSpec(node, ctx));
}

}  // namespace failover
