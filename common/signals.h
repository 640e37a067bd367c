// Signal handling shared by both daemons: SIGHUP reloads, SIGINT/SIGTERM stop.
#pragma once

#include <signal.h>

#include <functional>

namespace failover {

// Blocks SIGHUP, SIGINT and SIGTERM (to be taken by WaitForShutdown) and ignores SIGPIPE.
// Call before any thread starts, so every thread inherits the mask.
sigset_t BlockDaemonSignals();

// Waits for signals: SIGHUP calls `on_reload`; SIGINT or SIGTERM is logged and returns.
void WaitForShutdown(const sigset_t& signals, const std::function<void()>& on_reload);

}  // namespace failover
