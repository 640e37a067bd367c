#include "actuator/db/program.h"

#include <cstring>

#include "common/subprocess.h"

extern char** environ;

namespace failover {

ProgramResult RunProgram(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env, MonoTime deadline,
                         size_t limit) {
  ProgramResult r;
  if (argv.empty()) {
    r.error = "empty command";
    return r;
  }
  SubprocessSpec spec;
  spec.argv = argv;
  spec.search_path = true;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos && env.count(kv.substr(0, eq)) > 0) continue;
    spec.env.push_back(std::move(kv));
  }
  for (const auto& [k, v] : env) spec.env.push_back(k + "=" + v);
  spec.output_limit = limit;
  spec.keep_tail = false;
  spec.stderr_tail = 2048;
  spec.deadline = deadline;

  SubprocessResult run = RunSubprocess(spec);
  if (!run.started) {
    r.error = run.error;
    return r;
  }
  r.started = true;
  r.timed_out = run.timed_out;
  r.truncated = run.output_truncated();
  r.out = std::move(run.output);
  r.err = std::move(run.err);
  r.exit_code = run.exited ? run.exit_code : 128 + run.signal;
  return r;
}

}  // namespace failover
