// StepOutcome::FromError (actuator/steps/step.h): the one mapping from a client's Error to
// what the engine does next.
#include <gtest/gtest.h>

#include "actuator/steps/step.h"

namespace failover {
namespace {

TEST(StepOutcomeTest, FromErrorRetriesWhatMaySucceedLaterAndFailsTheRest) {
  StepOutcome unavailable = StepOutcome::FromError(
      Error::Unavailable("cloudflare: HTTP 503 from https://api.cloudflare.com/"));
  EXPECT_EQ(unavailable.status, StepStatus::kRetryable);
  EXPECT_EQ(unavailable.message, "cloudflare: HTTP 503 from https://api.cloudflare.com/");

  StepOutcome timeout = StepOutcome::FromError({ErrorCode::kTimeout, "no answer in 10s", true});
  EXPECT_EQ(timeout.status, StepStatus::kRetryable);

  StepOutcome denied = StepOutcome::FromError(
      {ErrorCode::kPermissionDenied, "HTTP 403: authentication failed", false});
  EXPECT_EQ(denied.status, StepStatus::kFailed);
  EXPECT_EQ(denied.message, "HTTP 403: authentication failed");

  StepOutcome invalid = StepOutcome::FromError(Error::Invalid("record name is not in the zone"));
  EXPECT_EQ(invalid.status, StepStatus::kFailed);
  EXPECT_EQ(invalid.details, StepOutcome::Fail("x").details) << "no details of its own";
}

}  // namespace
}  // namespace failover
