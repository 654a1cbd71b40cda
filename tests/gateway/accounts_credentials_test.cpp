// What an account may be called and what its password may be, over HTTP: weak passwords are
// refused wherever a password is set (400 weak_password, with the reason, never the password),
// e-mail addresses are normalized (log-in in any case or width finds the account), and a
// look-alike of an existing address is refused exactly like a duplicate (409).
#include "accounts_fixture.h"

namespace parley {
namespace {

using testing::AccountsTest;
using testing::Reply;
using testing::Session;

std::string credentials(std::string_view email, std::string_view password) {
  return R"({"email":")" + std::string(email) + R"(","password":")" + std::string(password) + R"("})";
}

void expect_weak_password(const Reply& r, std::string_view password) {
  EXPECT_EQ(r.status, 400) << r.body;
  ASSERT_TRUE(r.json.is_object()) << r.body;
  EXPECT_EQ(r.json.at("error").at("param"), "password") << r.body;
  EXPECT_EQ(r.error_code(), "weak_password") << r.body;
  const std::string message(r.json.at("error").at("message").as_string());
  EXPECT_NE(message.find("too easy to guess"), std::string::npos) << message;
  if (password != "password") {  // the one password that is a word of every message
    EXPECT_EQ(r.body.find(password), std::string::npos) << "echoes the password: " << r.body;
  }
}

TEST_F(AccountsTest, SignupRefusesWeakPasswordsAndSaysWhy) {
  start();
  for (const std::string_view pw : {"password", "12345678", "P@ssw0rd", "carol@example.com", "carol-2024"}) {
    expect_weak_password(call("POST", "/api/auth/signup", credentials("carol@example.com", pw)), pw);
  }
  const Reply named =
      call("POST", "/api/auth/signup",
           R"({"email":"c@example.com","password":"Wonderland-Liddell","display_name":"Alice Liddell"})");
  expect_weak_password(named, "Wonderland-Liddell");
  Result<std::int64_t> n = db().count_users();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  // A long passphrase is fine.
  EXPECT_EQ(
      call("POST", "/api/auth/signup", credentials("carol@example.com", "quiet harbour under a violet moon")).status,
      201);
}

TEST_F(AccountsTest, SignupRefusesALookAlikeAddressLikeADuplicate) {
  start();
  const Reply first = call("POST", "/api/auth/signup", credentials("Alice@Example.com", "correct horse battery"));
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(first.json.at("user").at("email"), "alice@example.com") << "stored in its normalized form";
  const Reply dup = call("POST", "/api/auth/signup", credentials("ALICE@example.com", "correct horse battery"));
  ASSERT_EQ(dup.status, 409) << dup.body;
  for (const std::string_view look_alike : {
           "\u0430lice@example.com",  // Cyrillic a
           "ａｌｉｃｅ@example.com",  // fullwidth letters
           "alice@ex\u0430mple.com",  // Cyrillic a in the domain
           "a1ice@example.com",       // digit one for l
       }) {
    const Reply r = call("POST", "/api/auth/signup", credentials(look_alike, "correct horse battery"));
    EXPECT_EQ(r.status, 409) << look_alike << ": " << r.body;
    EXPECT_EQ(r.body, dup.body) << "a look-alike learns no more than a duplicate";
  }
  EXPECT_EQ(call("POST", "/api/auth/signup", credentials("alicia@example.com", "correct horse battery")).status, 201);
}

TEST_F(AccountsTest, LoginFindsTheNormalizedAddressButNeverALookAlike) {
  start();
  const Session signed_up = signup("Alice@Example.com");
  for (const std::string_view typed : {"alice@example.com", "ALICE@EXAMPLE.COM", "ａｌｉｃｅ@example.com"}) {
    const Session s = login(std::string(typed));
    EXPECT_EQ(s.user_id, signed_up.user_id) << typed;
  }
  const Reply unknown = call("POST", "/api/auth/login", credentials("nobody@example.com", "correct horse battery"));
  const Reply look_alike =
      call("POST", "/api/auth/login", credentials("\u0430lice@example.com", "correct horse battery"));
  EXPECT_EQ(look_alike.status, 401);
  EXPECT_EQ(look_alike.body, unknown.body) << "a look-alike is an unknown address";
}

TEST_F(AccountsTest, LoginRateLimitCoversEverySpellingOfAnAccount) {
  config_.auth.login_per_minute_account = 2;
  start();
  signup("a@example.com");
  // Every spelling that would log in to the account draws from its one bucket.
  EXPECT_EQ(call("POST", "/api/auth/login", credentials("A@EXAMPLE.COM", "wrong password")).status, 401);
  EXPECT_EQ(call("POST", "/api/auth/login", credentials("ａ@example.com", "wrong password")).status, 401);
  EXPECT_EQ(call("POST", "/api/auth/login", credentials("a\u200B@example.com", "correct horse battery")).status, 429);
}

TEST_F(AccountsTest, AdminCreateAndResetApplyThePasswordPolicy) {
  start();
  const Session admin = signup("admin@example.com");
  expect_weak_password(as(admin, "POST", "/api/admin/users", credentials("dave@example.com", "12345678")), "12345678");
  expect_weak_password(as(admin, "POST", "/api/admin/users", credentials("dave@example.com", "dave@example.com")),
                       "dave@example.com");
  const Reply created =
      as(admin, "POST", "/api/admin/users", credentials("Dave@Example.com", "tangerine-orbit-velvet-cascade"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json.at("email"), "dave@example.com");
  const std::string path = "/api/admin/users/" + std::string(created.json.at("id").as_string()) + "/password";
  expect_weak_password(as(admin, "POST", path, R"({"password":"password1"})"), "password1");
  expect_weak_password(as(admin, "POST", path, R"({"password":"dave-example"})"), "dave-example");
  EXPECT_EQ(as(admin, "POST", path, R"({"password":"quiet harbour under a violet moon"})").status, 200);
  login("DAVE@example.com", "quiet harbour under a violet moon");
  // A look-alike of an existing address is a duplicate for admins too.
  EXPECT_EQ(as(admin, "POST", "/api/admin/users", credentials("d\u0430ve@example.com", "correct horse battery")).status,
            409);
}

}  // namespace
}  // namespace parley
