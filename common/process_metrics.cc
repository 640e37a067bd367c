#include "common/process_metrics.h"

#include <dirent.h>
#include <prometheus/metric_family.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace failover {
namespace {

prometheus::MetricFamily Gauge(const std::string& name, const std::string& help, double v,
                               prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily f{name, help, type, {}};
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
  f.metric.push_back(m);
  return f;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close = content.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream fields(content.substr(close + 2));
  std::vector<std::string> f;
  std::string tok;
  while (fields >> tok) f.push_back(tok);
  // Fields after the command name start at field 3 (state) => index 0.
  if (f.size() < 22) return out;
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double utime = std::stod(f[11]) / ticks;
  double stime = std::stod(f[12]) / ticks;
  double starttime = std::stod(f[19]) / ticks;
  double vsize = std::stod(f[20]);
  double rss = std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE));
  double boot = 0;
  std::ifstream st("/proc/stat");
  std::string line;
  while (std::getline(st, line)) {
    if (line.rfind("btime ", 0) == 0) boot = std::stod(line.substr(6));
  }
  int fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++fds;
    closedir(d);
    fds -= 2;
  }
  out.push_back(Gauge("process_cpu_seconds_total",
                      "Total user and system CPU time spent in seconds.", utime + stime,
                      prometheus::MetricType::Counter));
  out.push_back(Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", rss));
  out.push_back(Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", vsize));
  out.push_back(Gauge("process_open_fds", "Number of open file descriptors.", fds));
  // The soft limits, as client_golang reads them from /proc/self/limits: "unlimited" is
  // RLIM_INFINITY (2^64-1, written 1.8446744073709552e+19).
  rlimit nofile{}, as{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    out.push_back(Gauge("process_max_fds", "Maximum number of open file descriptors.",
                        static_cast<double>(nofile.rlim_cur)));
  }
  if (getrlimit(RLIMIT_AS, &as) == 0) {
    out.push_back(Gauge("process_virtual_memory_max_bytes",
                        "Maximum amount of virtual memory available in bytes.",
                        static_cast<double>(as.rlim_cur)));
  }
  out.push_back(Gauge("process_start_time_seconds",
                      "Start time of the process since unix epoch in seconds.", boot + starttime));
  return out;
}

}  // namespace failover
