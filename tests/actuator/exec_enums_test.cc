#include "actuator/exec_enums.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace failover {
namespace {

// The wire strings are a contract (journal columns and JSON, API, console, metric labels,
// logs, a runbook's `mode:`): journals written by older versions hold exactly these.
TEST(ExecEnumsTest, WireStringsAreTheContract) {
  const std::vector<std::pair<ExecMode, std::string>> modes = {
      {ExecMode::kAuto, "auto"}, {ExecMode::kApprove, "approve"}, {ExecMode::kDryRun, "dry-run"}};
  for (const auto& [m, s] : modes) {
    EXPECT_EQ(ToString(m), s);
    auto p = ParseExecMode(s);
    ASSERT_TRUE(p) << s;
    EXPECT_EQ(*p, m);
  }
  const std::vector<std::pair<ExecState, std::string>> states = {
      {ExecState::kQueued, "queued"},
      {ExecState::kPendingApproval, "pending_approval"},
      {ExecState::kRunning, "running"},
      {ExecState::kSucceeded, "succeeded"},
      {ExecState::kFailed, "failed"},
      {ExecState::kRefused, "refused"},
      {ExecState::kSuppressed, "suppressed"},
      {ExecState::kDryRun, "dry_run"},
      {ExecState::kHeld, "held"},
      {ExecState::kRejected, "rejected"},
      {ExecState::kCancelled, "cancelled"}};
  ASSERT_EQ(AllExecStates().size(), states.size());
  for (size_t i = 0; i < states.size(); ++i) {
    const auto& [st, s] = states[i];
    EXPECT_EQ(AllExecStates()[i], st);
    EXPECT_EQ(ToString(st), s);
    auto p = ParseExecState(s);
    ASSERT_TRUE(p) << s;
    EXPECT_EQ(*p, st);
  }
  const std::vector<std::pair<ExecTrigger, std::string>> triggers = {
      {ExecTrigger::kWebhook, "webhook"},
      {ExecTrigger::kApi, "api"},
      {ExecTrigger::kRegionAgent, "region_agent"}};
  for (const auto& [t, s] : triggers) {
    EXPECT_EQ(ToString(t), s);
    auto p = ParseExecTrigger(s);
    ASSERT_TRUE(p) << s;
    EXPECT_EQ(*p, t);
  }
  const std::vector<std::pair<ExecPhase, std::string>> phases = {
      {ExecPhase::kMain, "main"}, {ExecPhase::kOnFailure, "on_failure"}};
  for (const auto& [ph, s] : phases) {
    EXPECT_EQ(ToString(ph), s);
    auto p = ParseExecPhase(s);
    ASSERT_TRUE(p) << s;
    EXPECT_EQ(*p, ph);
  }
  std::ostringstream out;
  out << ExecMode::kDryRun << " " << ExecState::kDryRun;
  EXPECT_EQ(out.str(), "dry-run dry_run");
}

// Mode "dry-run" and state "dry_run" are different words: neither parses as the other,
// and an unknown string is an error naming what it is and the known values.
TEST(ExecEnumsTest, UnknownStringsAreClearErrors) {
  auto mode = ParseExecMode("dry_run");
  ASSERT_FALSE(mode);
  EXPECT_EQ(mode.error().message,
            "unknown execution mode \"dry_run\" (known: auto, approve, dry-run)");
  auto state = ParseExecState("dry-run");
  ASSERT_FALSE(state);
  EXPECT_NE(state.error().message.find("unknown execution state \"dry-run\""), std::string::npos)
      << state.error().message;
  EXPECT_NE(state.error().message.find("dry_run"), std::string::npos);
  EXPECT_FALSE(ParseExecState(""));
  EXPECT_FALSE(ParseExecState("Succeeded"));
  EXPECT_FALSE(ParseExecTrigger("alertmanager"));
  EXPECT_FALSE(ParseExecPhase("on-failure"));
}

TEST(ExecEnumsTest, TerminalStates) {
  for (ExecState s : AllExecStates()) {
    bool waiting =
        s == ExecState::kQueued || s == ExecState::kPendingApproval || s == ExecState::kRunning;
    EXPECT_EQ(IsTerminalState(s), !waiting) << s;
  }
}

}  // namespace
}  // namespace failover
