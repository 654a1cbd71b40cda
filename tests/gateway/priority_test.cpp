// The priority class of an OpenAI API request: the request's "priority" extension, the caller's
// role default, and an API key's "batch" scope, which no request can raise.
#include <gtest/gtest.h>

#include "gateway/generation_params.h"

namespace parley {
namespace {

Principal key_of(auth::Role role, auth::ScopeSet scopes) {
  Principal p;
  p.user_id = "u1";
  p.role = role;
  p.api_key_id = "k1";
  p.scopes = scopes;
  return p;
}

TEST(Priority, TheRequestChoosesElseItsRolesDefault) {
  const Principal user = key_of(auth::Role::kUser, {auth::Scope::kChat});
  const Principal admin = key_of(auth::Role::kAdmin, {auth::Scope::kChat});
  const RolePriorities interactive;
  EXPECT_EQ(priority_of(user, "", interactive), Priority::kInteractive);
  EXPECT_EQ(priority_of(user, "batch", interactive), Priority::kBatch);
  EXPECT_EQ(priority_of(user, "interactive", interactive), Priority::kInteractive);

  const RolePriorities users_batch{.user = Priority::kBatch, .admin = Priority::kInteractive};
  EXPECT_EQ(priority_of(user, "", users_batch), Priority::kBatch);
  EXPECT_EQ(priority_of(admin, "", users_batch), Priority::kInteractive);
  EXPECT_EQ(priority_of(user, "interactive", users_batch), Priority::kInteractive);  // a default, not a cap
}

TEST(Priority, ABatchKeyIsAlwaysBatch) {
  const Principal batch_key = key_of(auth::Role::kAdmin, {auth::Scope::kChat, auth::Scope::kBatch});
  for (const char* asked : {"", "interactive", "batch"}) {
    EXPECT_EQ(priority_of(batch_key, asked, RolePriorities{}), Priority::kBatch) << asked;
  }
}

}  // namespace
}  // namespace parley
