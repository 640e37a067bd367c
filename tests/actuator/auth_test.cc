// The webhook's and API's own credentials (actuator/auth.cc): basic auth parsed by
// common/basic_auth, the scheme in any case.
#include "actuator/auth.h"

#include <gtest/gtest.h>

#include "tests/support/basic_auth.h"

namespace failover {
namespace {

TEST(CheckAuthTest, BasicAuth) {
  AuthConfig auth;
  auth.basic_auth = BasicAuthConfig{"alertmanager", SecretRef::Inline("s3cret")};
  EXPECT_EQ(CheckAuth(auth, testing::BasicAuthorization("alertmanager:s3cret")), AuthResult::kOk);
  // RFC 7617: the scheme is case-insensitive, as the listeners' basic_auth_users take it.
  EXPECT_EQ(CheckAuth(auth, testing::BasicAuthorization("alertmanager:s3cret", "basic")),
            AuthResult::kOk);
  EXPECT_EQ(CheckAuth(auth, testing::BasicAuthorization("alertmanager:wrong")), AuthResult::kWrong);
  EXPECT_EQ(CheckAuth(auth, testing::BasicAuthorization("other:s3cret")), AuthResult::kWrong);
  EXPECT_EQ(CheckAuth(auth, testing::BasicAuthorization("no-colon")), AuthResult::kWrong);
  EXPECT_EQ(CheckAuth(auth, "Bearer s3cret"), AuthResult::kWrong);
  EXPECT_EQ(CheckAuth(auth, ""), AuthResult::kMissing);
}

TEST(CheckAuthTest, UnreadablePasswordIsAnError) {
  AuthConfig auth;
  auth.basic_auth = BasicAuthConfig{"am", SecretRef::File("/nonexistent/failover-pw")};
  EXPECT_EQ(CheckAuth(auth, testing::BasicAuthorization("am:x")), AuthResult::kError);
}

TEST(CheckAuthTest, NothingConfiguredLetsEveryoneIn) {
  EXPECT_EQ(CheckAuth(AuthConfig{}, ""), AuthResult::kOk);
}

}  // namespace
}  // namespace failover
