// Roles and API key scopes: names, parsing, and which role may grant which scope.
#include "auth/roles.h"

#include <gtest/gtest.h>

namespace parley::auth {
namespace {

TEST(Roles, NamesRoundTrip) {
  for (const Role r : {Role::kUser, Role::kAdmin}) EXPECT_EQ(parse_role(role_name(r)).value(), r);
  EXPECT_EQ(role_name(Role::kUser), "user");
  EXPECT_EQ(role_name(Role::kAdmin), "admin");
  for (const std::string_view bad : {"", "Admin", "ADMIN", " user", "root", "users"}) {
    const auto r = parse_role(bad);
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(Scopes, ParseList) {
  EXPECT_EQ(parse_scope_list("chat").value(), ScopeSet{Scope::kChat});
  EXPECT_EQ(parse_scope_list("chat,models").value(), (ScopeSet{Scope::kChat, Scope::kModels}));
  EXPECT_EQ(parse_scope_list("models chat").value(), (ScopeSet{Scope::kChat, Scope::kModels}));
  EXPECT_EQ(parse_scope_list(" chat , admin ").value(), (ScopeSet{Scope::kChat, Scope::kAdmin}));
  EXPECT_EQ(parse_scope_list("chat,models,admin").value().to_string(), "chat,models,admin");
  EXPECT_EQ(parse_scope_list("admin,chat").value().to_string(), "chat,admin");  // canonical order
  EXPECT_EQ(parse_scope_list("chat,").value(), ScopeSet{Scope::kChat});         // stray separators are harmless
}

TEST(Scopes, ParseRejects) {
  for (const std::string_view bad :
       {"", " , ", "Chat", "chat,unknown", "chat;models", "chat\tmodels", "*", "chat,chat", "models models"}) {
    const auto r = parse_scope_list(bad);
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << '"' << bad << '"';
    EXPECT_EQ(r.status().detail("param"), "scopes");
  }
  EXPECT_NE(parse_scope_list("chat,chat").status().message().find("twice"), std::string_view::npos);
  EXPECT_NE(parse_scope_list("bogus").status().message().find("chat, models, admin"), std::string_view::npos);
}

TEST(Scopes, BatchIsAKeyScopeOfEveryRoleButNoSessions) {
  EXPECT_EQ(parse_scope_list("chat,batch").value(), (ScopeSet{Scope::kChat, Scope::kBatch}));
  EXPECT_EQ(parse_scope_list("batch,chat").value().to_string(), "chat,batch");
  for (const Role r : {Role::kUser, Role::kAdmin}) {
    EXPECT_FALSE(scopes_for_role(r).has(Scope::kBatch));  // what a session gets
    EXPECT_TRUE(key_scopes_for_role(r).has(Scope::kBatch));
    EXPECT_TRUE(key_scopes_for_role(r).contains(scopes_for_role(r)));
    EXPECT_TRUE(check_scopes_for_role(ScopeSet{Scope::kChat, Scope::kBatch}, r).ok());
  }
  EXPECT_FALSE(check_scopes_for_role(ScopeSet{Scope::kAdmin, Scope::kBatch}, Role::kUser).ok());
}

TEST(Scopes, SetOperations) {
  ScopeSet s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.to_string(), "");
  s.add(Scope::kModels);
  EXPECT_TRUE(s.has(Scope::kModels));
  EXPECT_FALSE(s.has(Scope::kChat));
  EXPECT_TRUE((ScopeSet{Scope::kChat, Scope::kModels}).contains(s));
  EXPECT_FALSE(s.contains(ScopeSet{Scope::kChat}));
  EXPECT_EQ(kDefaultKeyScopes, (ScopeSet{Scope::kChat, Scope::kModels}));
}

TEST(Scopes, RoleBounds) {
  EXPECT_TRUE(check_scopes_for_role(kDefaultKeyScopes, Role::kUser).ok());
  EXPECT_TRUE(check_scopes_for_role(ScopeSet{Scope::kAdmin}, Role::kAdmin).ok());
  const Status st = check_scopes_for_role(ScopeSet{Scope::kChat, Scope::kAdmin}, Role::kUser);
  EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(st.message().find("'admin'"), std::string_view::npos);
  EXPECT_TRUE(scopes_for_role(Role::kAdmin).contains(scopes_for_role(Role::kUser)));
}

}  // namespace
}  // namespace parley::auth
