// exec: runs a program with argv only (no shell), a clean environment and a timeout.
//   exec: {argv: ["/usr/local/bin/notify-ops", "{{labels.region}}"], env: {KEY: value},
//          timeout: 30s}
// argv[0] is a literal absolute path, checked at load (exists, executable). Each other
// element is a template rendered into exactly one argument, whatever it contains. The
// environment is PATH, HOME, LANG (from the actuator) plus `env` (templates); nothing else
// is inherited, and no file descriptor but stdin (/dev/null), stdout and stderr. Output
// (stdout and stderr together) is captured; the last 4 KiB go into the outcome's details.
// The program runs in its own session; at the deadline the whole process group is killed
// (SIGKILL) and the outcome is retryable. Exit 0 is ok, anything else failed.
#pragma once

#include <memory>

#include "actuator/steps/step.h"

namespace failover {

Result<std::unique_ptr<Step>> NewExecStep(const YamlNode& body, const StepFactoryContext& ctx);

}  // namespace failover
