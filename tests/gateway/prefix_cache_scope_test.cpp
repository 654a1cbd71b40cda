// The prefix cache seen from the OpenAI API: one account cannot learn from cached_tokens what
// another sent (issue 11, finding 1), and only administrators may declare a prompt public.
#include <string>

#include "accounts_fixture.h"

namespace parley {
namespace {

using testing::AccountsTest;
using testing::Reply;
using testing::Session;

// A prompt of several KV blocks (the tiny model's vocabulary is bytes; blocks hold 16 tokens).
const std::string kSecret = "The launch code is 7-4-1-9-Z and the vault password is 'correct horse battery staple'.";

std::string chat_body(const std::string& content, const std::string& extra = "") {
  return R"({"model":"tiny","messages":[{"role":"user","content":")" + content +
         R"("}],"temperature":0,"max_tokens":1)" + extra + "}";
}

std::int64_t cached_tokens(const Reply& r) {
  EXPECT_EQ(r.status, 200) << r.body;
  if (r.status != 200) return -1;
  return r.json.at("usage").at("prompt_tokens_details").at("cached_tokens").as_int64();
}

class PrefixCacheScopeTest : public AccountsTest {
 protected:
  Reply chat_as(const std::string& key, const std::string& extra = "") {
    return with_key(key, "POST", "/v1/chat/completions", chat_body(kSecret, extra));
  }
  Reply complete_as(const std::string& key, const std::string& extra = "") {
    return with_key(key, "POST", "/v1/completions",
                    R"({"model":"tiny","prompt":")" + kSecret + R"(","temperature":0,"max_tokens":1)" + extra + "}");
  }
};

TEST_F(PrefixCacheScopeTest, AnotherAccountsIdenticalPromptIsNotACacheHit) {
  start();
  signup("admin@example.com");  // the first account is the admin
  const std::string a = create_key(signup("a@example.com")).second;
  const std::string b = create_key(signup("b@example.com")).second;

  EXPECT_EQ(cached_tokens(chat_as(a)), 0);
  EXPECT_GT(cached_tokens(chat_as(a)), 0);  // A's repeat reuses A's blocks
  EXPECT_EQ(cached_tokens(chat_as(b)), 0);  // B's right guess of A's prompt: no hit
  EXPECT_GT(cached_tokens(chat_as(b)), 0);  // B's own repeat does
  EXPECT_EQ(cached_tokens(complete_as(a)), 0);
  EXPECT_EQ(cached_tokens(complete_as(b)), 0);
  EXPECT_GT(cached_tokens(complete_as(b)), 0);
}

TEST_F(PrefixCacheScopeTest, OnlyAdministratorsMayDeclareAPromptShared) {
  start();
  const Session admin = signup("admin@example.com");
  const std::string a = create_key(signup("a@example.com")).second;
  const std::string b = create_key(signup("b@example.com")).second;
  const std::string admin_chat_key = create_key(admin).second;  // default scopes: no "admin"
  const std::string admin_key = create_key(admin, R"({"scopes":["chat","models","admin"]})").second;

  for (const std::string& key : {a, admin_chat_key}) {
    for (const Reply& r :
         {chat_as(key, R"(,"cache_scope":"shared")"), complete_as(key, R"(,"cache_scope":"shared")")}) {
      EXPECT_EQ(r.status, 403) << r.body;
      EXPECT_EQ(r.error_code(), "insufficient_scope");
      EXPECT_EQ(r.json.at("error").at("param"), "cache_scope");
    }
  }
  const Reply bad = chat_as(a, R"(,"cache_scope":"everyone")");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.json.at("error").at("param"), "cache_scope");
  EXPECT_EQ(cached_tokens(chat_as(a, R"(,"cache_scope":"private")")), 0);  // nothing was cached by the refusals

  // An admin key with the "admin" scope declares the prompt public: every account reuses it.
  EXPECT_EQ(cached_tokens(chat_as(admin_key, R"(,"cache_scope":"shared")")), 0);
  EXPECT_GT(cached_tokens(chat_as(b)), 0);
}

TEST_F(PrefixCacheScopeTest, LocalModeIsOneScopeAndMayShare) {
  mode_ = AuthMode::kNone;
  start();
  EXPECT_EQ(cached_tokens(call("POST", "/v1/chat/completions", chat_body(kSecret))), 0);
  EXPECT_GT(cached_tokens(call("POST", "/v1/chat/completions", chat_body(kSecret, R"(,"user":"other")"))), 0);
  EXPECT_EQ(call("POST", "/v1/chat/completions", chat_body(kSecret, R"(,"cache_scope":"shared")")).status, 200);
}

}  // namespace
}  // namespace parley
