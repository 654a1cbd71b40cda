// The account API end to end over HTTP: sign-up, log-in, sessions and CSRF, API keys, admin, and
// the security properties: tenant isolation (another user's resources are 404), disabled users
// and revoked or expired keys refused at once, input validation, no secrets in logs.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "accounts_fixture.h"

namespace parley {
namespace {

using testing::AccountsTest;
using testing::Reply;
using testing::Session;

TEST_F(AccountsTest, FirstSignupBecomesAdminTheNextAreUsers) {
  start();
  const Reply first =
      call("POST", "/api/auth/signup",
           R"({"email":"Alice@Example.com","password":"correct horse battery","display_name":"Alice"})");
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(first.json.at("user").at("role"), "admin");
  EXPECT_EQ(first.json.at("user").at("display_name"), "Alice");
  EXPECT_FALSE(first.json.at("user").as_object().contains("password_hash"));
  // The session cookie: HttpOnly (no script can read it), SameSite=Lax, host-only, not Secure on plain HTTP.
  const std::string cookie(first.header("Set-Cookie"));
  EXPECT_EQ(cookie.rfind("parley_session=", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Lax"), std::string::npos);
  EXPECT_NE(cookie.find("Path=/"), std::string::npos);
  EXPECT_EQ(cookie.find("Domain"), std::string::npos);

  const Session bob = signup("bob@example.com");
  const Reply me = as(bob, "GET", "/api/auth/me");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json.at("user").at("role"), "user");
  EXPECT_EQ(me.json.at("via"), "session");
  EXPECT_EQ(me.json.at("csrf_token").as_string(), bob.csrf);

  // One account per address, whatever its case.
  const Reply dup = call("POST", "/api/auth/signup", R"({"email":"ALICE@example.com","password":"another long one"})");
  EXPECT_EQ(dup.status, 409) << dup.body;
}

TEST_F(AccountsTest, SignupCanBeDisabled) {
  config_.auth.signup = false;
  start();
  const Reply r = call("POST", "/api/auth/signup", R"({"email":"a@example.com","password":"correct horse battery"})");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.error_code(), "signup_disabled");
  const Reply options = call("GET", "/api/auth/options");
  EXPECT_EQ(options.json.at("signup"), false);
  EXPECT_EQ(options.json.at("auth_mode"), "required");
  Result<std::int64_t> n = db().count_users();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
}

TEST_F(AccountsTest, LoginGivesAFreshSessionAndLogoutEndsIt) {
  start();
  const Session signed_up = signup("a@example.com");
  const Reply wrong = call("POST", "/api/auth/login", R"({"email":"a@example.com","password":"not the password"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.error_code(), "invalid_credentials");
  const Reply unknown =
      call("POST", "/api/auth/login", R"({"email":"nobody@example.com","password":"not the password"})");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.body, wrong.body) << "an unknown email must look like a wrong password";

  const Session s = login("A@EXAMPLE.COM");
  EXPECT_NE(s.cookie, signed_up.cookie) << "every log-in gets a new session token";
  EXPECT_NE(s.csrf, signed_up.csrf);
  EXPECT_EQ(as(s, "GET", "/api/auth/me").status, 200);

  // Log-out is a state change: it needs the CSRF token.
  EXPECT_EQ(as(s, "POST", "/api/auth/logout", "", false).status, 403);
  const Reply out = as(s, "POST", "/api/auth/logout");
  EXPECT_EQ(out.status, 204);
  EXPECT_NE(std::string(out.header("Set-Cookie")).find("Max-Age=0"), std::string::npos);
  const Reply after = as(s, "GET", "/api/auth/me");
  EXPECT_EQ(after.status, 401);
  EXPECT_EQ(after.error_code(), "not_authenticated");
  EXPECT_EQ(as(signed_up, "GET", "/api/auth/me").status, 200) << "other sessions live on";
}

TEST_F(AccountsTest, LoginAttemptsAreRateLimitedPerAccount) {
  config_.auth.login_per_minute_account = 2;
  start();
  signup("a@example.com");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(call("POST", "/api/auth/login", R"({"email":"a@example.com","password":"wrong password"})").status, 401);
  }
  const Reply limited =
      call("POST", "/api/auth/login", R"({"email":"a@example.com","password":"correct horse battery"})");
  EXPECT_EQ(limited.status, 429);
  EXPECT_GE(std::stoi(std::string(limited.header("Retry-After"))), 1);
  // Another account from the same address is not locked out by that.
  signup("b@example.com");
  EXPECT_EQ(call("POST", "/api/auth/login", R"({"email":"b@example.com","password":"correct horse battery"})").status,
            200);
}

TEST_F(AccountsTest, LoginAndSignupAttemptsAreRateLimitedPerAddress) {
  config_.auth.login_per_minute_ip = 3;
  start();
  signup("a@example.com");
  EXPECT_EQ(call("POST", "/api/auth/login", R"({"email":"b@example.com","password":"wrong password"})").status, 401);
  EXPECT_EQ(call("POST", "/api/auth/login", R"({"email":"c@example.com","password":"wrong password"})").status, 401);
  const Reply limited = call("POST", "/api/auth/login", R"({"email":"a@example.com","password":"correct horse battery"})");
  EXPECT_EQ(limited.status, 429) << "sign-up, then two log-ins with different emails, used the address's 3";
  EXPECT_GE(std::stoi(std::string(limited.header("Retry-After"))), 1);
  EXPECT_EQ(call("POST", "/api/auth/signup", R"({"email":"d@example.com","password":"correct horse battery"})").status, 429);
}

TEST_F(AccountsTest, SecureCookiesUseTheHostPrefix) {
  config_.auth.secure_cookies = true;  // behind a TLS-terminating proxy
  start();
  const Reply r = call("POST", "/api/auth/signup", R"({"email":"a@example.com","password":"correct horse battery"})");
  ASSERT_EQ(r.status, 201);
  const std::string cookie(r.header("Set-Cookie"));
  EXPECT_EQ(cookie.rfind("__Host-parley_session=", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("; Secure"), std::string::npos) << cookie;
  const Session s = session_of(r);
  EXPECT_EQ(as(s, "GET", "/api/auth/me").status, 200);
  Session plain = s;
  plain.cookie = "parley_session=" + s.cookie.substr(s.cookie.find('=') + 1);
  EXPECT_EQ(as(plain, "GET", "/api/auth/me").status, 401) << "only the prefixed name counts";
}

TEST_F(AccountsTest, UnsafeRequestsWithASessionNeedTheCsrfTokenOfThatSession) {
  start();
  const Session a = signup("a@example.com");
  const Session b = signup("b@example.com");
  EXPECT_EQ(as(a, "GET", "/api/keys", "", false).status, 200) << "reads need no token";
  const Reply none = as(a, "POST", "/api/keys", "{}", false);
  EXPECT_EQ(none.status, 403);
  EXPECT_EQ(none.error_code(), "csrf_failed");
  Session mixed = a;
  mixed.csrf = b.csrf;  // a valid token, of another session
  EXPECT_EQ(as(mixed, "POST", "/api/keys", "{}").status, 403);
  EXPECT_EQ(as(a, "POST", "/api/keys", "{}").status, 201);
}

TEST_F(AccountsTest, KeysAreShownOnceAndWorkUntilRevoked) {
  start();
  const Session a = signup("a@example.com");
  const auto [id, secret] = create_key(a, R"({"name":"laptop"})");
  ASSERT_EQ(secret.rfind("pk-", 0), 0u);
  const Reply list = as(a, "GET", "/api/keys");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json.at("data").as_array().size(), 1u);
  const auto& k = list.json.at("data").at(0);
  EXPECT_EQ(k.at("id").as_string(), id);
  EXPECT_EQ(k.at("name"), "laptop");
  EXPECT_EQ(secret.rfind(std::string(k.at("prefix").as_string()), 0), 0u);
  EXPECT_EQ(list.body.find(secret), std::string::npos) << "the secret is never listed";

  EXPECT_EQ(with_key(secret, "GET", "/v1/models").status, 200);
  const Reply revoke = as(a, "DELETE", "/api/keys/" + id);
  ASSERT_EQ(revoke.status, 200) << revoke.body;
  EXPECT_FALSE(revoke.json.at("revoked_at").is_null());
  const Reply refused = with_key(secret, "GET", "/v1/models");
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.error_code(), "invalid_api_key");
  EXPECT_EQ(refused.body.find(secret), std::string::npos);
}

TEST_F(AccountsTest, ApiKeysCannotManageKeys) {
  start();
  const Session a = signup("a@example.com");
  const auto [id, secret] = create_key(a);
  const Reply r = with_key(secret, "POST", "/api/keys", "{}");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.error_code(), "session_required");
  EXPECT_EQ(with_key(secret, "DELETE", "/api/keys/" + id).status, 403);
  EXPECT_EQ(with_key(secret, "GET", "/api/usage").status, 200) << "reading one's own usage is fine";
}

TEST_F(AccountsTest, ScopesNarrowKeysAndCannotExceedTheRole) {
  start();
  signup("admin@example.com");
  const Session u = signup("u@example.com");
  const Reply too_much = as(u, "POST", "/api/keys", R"({"scopes":["chat","admin"]})");
  EXPECT_EQ(too_much.status, 403) << too_much.body;
  EXPECT_EQ(as(u, "POST", "/api/keys", R"({"scopes":["nonsense"]})").status, 400);
  const auto [id, models_only] = create_key(u, R"({"scopes":"models"})");
  EXPECT_EQ(with_key(models_only, "GET", "/v1/models").status, 200);
  const Reply chat_refused = chat(models_only);
  EXPECT_EQ(chat_refused.status, 403);
  EXPECT_EQ(chat_refused.error_code(), "insufficient_scope");
}

TEST_F(AccountsTest, ExpiredKeysAreRefused) {
  start();
  const Session a = signup("a@example.com");
  const auto [id, secret] = create_key(a, R"({"expires_in_days":1})");
  EXPECT_EQ(with_key(secret, "GET", "/v1/models").status, 200);
  advance(std::chrono::hours(25));
  const Reply r = with_key(secret, "GET", "/v1/models");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.error_code(), "invalid_api_key");
  EXPECT_NE(r.body.find("expired"), std::string::npos);
}

TEST_F(AccountsTest, BadKeysAreAuthenticationErrors) {
  start();
  for (const std::string& auth : std::vector<std::string>{"Bearer pk-" + std::string(48, 'a'), "Bearer nonsense",
                                                          "Basic dXNlcjpwYXNz", "Bearer "}) {
    const Reply r = call("GET", "/v1/models", "", {{"Authorization", auth}});
    EXPECT_EQ(r.status, 401) << auth;
    EXPECT_EQ(r.json.at("error").at("type"), "authentication_error") << auth;
    EXPECT_EQ(r.error_code(), "invalid_api_key") << auth;
  }
  const Reply none = call("GET", "/v1/models");
  EXPECT_EQ(none.status, 401);
  // The OpenAI API takes keys only: a browser session is not enough there.
  const Session a = signup("a@example.com");
  EXPECT_EQ(as(a, "GET", "/v1/models").status, 401);
}

TEST_F(AccountsTest, DisabledUsersAreRefusedAtOnce) {
  start();
  const Session admin = signup("admin@example.com");
  const Session u = signup("u@example.com");
  const auto [id, secret] = create_key(u);
  ASSERT_EQ(with_key(secret, "GET", "/v1/models").status, 200);
  const Reply patch = as(admin, "PATCH", "/api/admin/users/" + u.user_id, R"({"disabled":true})");
  ASSERT_EQ(patch.status, 200) << patch.body;
  EXPECT_EQ(patch.json.at("disabled"), true);
  const Reply key = with_key(secret, "GET", "/v1/models");
  EXPECT_EQ(key.status, 401);
  EXPECT_EQ(key.error_code(), "invalid_api_key");
  EXPECT_EQ(as(u, "GET", "/api/auth/me").status, 401);
  const Reply relogin =
      call("POST", "/api/auth/login", R"({"email":"u@example.com","password":"correct horse battery"})");
  EXPECT_EQ(relogin.status, 403);
  EXPECT_EQ(relogin.error_code(), "account_disabled");

  ASSERT_EQ(as(admin, "PATCH", "/api/admin/users/" + u.user_id, R"({"disabled":false})").status, 200);
  EXPECT_EQ(with_key(secret, "GET", "/v1/models").status, 200) << "re-enabling restores the keys";
}

// For every endpoint that names or lists someone's keys or usage: a second user neither sees nor
// changes the first user's, and a foreign id answers exactly like a missing one.
TEST_F(AccountsTest, TenantIsolation) {
  start();
  const Session admin = signup("admin@example.com");
  const Session a = signup("a@example.com");
  const Session b = signup("b@example.com");
  const auto [a_key_id, a_key] = create_key(a, R"({"name":"a's key"})");
  ASSERT_EQ(chat(a_key).status, 200);
  accounts_->usage().flush();

  // Keys: B's list has nothing of A's; revoking A's key is 404, like a key that never existed.
  const Reply b_list = as(b, "GET", "/api/keys");
  EXPECT_EQ(b_list.json.at("data").as_array().size(), 0u);
  const Reply foreign = as(b, "DELETE", "/api/keys/" + a_key_id);
  const Reply missing = as(b, "DELETE", "/api/keys/key_00000000000000000000000000");
  EXPECT_EQ(foreign.status, 404);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(foreign.json.at("error"), missing.json.at("error"));
  EXPECT_EQ(with_key(a_key, "GET", "/v1/models").status, 200) << "A's key still works";

  // Usage: B sees none of A's, through the session or a key.
  const Reply b_usage = as(b, "GET", "/api/usage");
  ASSERT_EQ(b_usage.status, 200);
  EXPECT_EQ(b_usage.json.at("totals").at("requests"), 0);
  EXPECT_EQ(b_usage.json.at("by_model").as_array().size(), 0u);
  const auto [b_key_id, b_key] = create_key(b);
  EXPECT_EQ(with_key(b_key, "GET", "/api/usage").json.at("totals").at("requests"), 0);
  EXPECT_EQ(as(a, "GET", "/api/usage").json.at("totals").at("requests"), 1);

  // Admin endpoints: not for users, whatever the id (so nothing is learnt about it).
  for (const std::string& path :
       std::vector<std::string>{"/api/admin/users", "/api/admin/usage", "/api/admin/users/" + a.user_id,
                                "/api/admin/users/" + a.user_id + "/usage", "/api/admin/users/usr_nothing/usage"}) {
    const Reply r = as(b, "GET", path);
    EXPECT_EQ(r.status, 403) << path;
    EXPECT_EQ(r.body.find("a@example.com"), std::string::npos) << path;
  }
  EXPECT_EQ(as(b, "PATCH", "/api/admin/users/" + a.user_id, R"({"disabled":true})").status, 403);
  EXPECT_EQ(as(b, "POST", "/api/admin/users/" + a.user_id + "/password", R"({"password":"taken over now"})").status,
            403);
  EXPECT_EQ(with_key(b_key, "GET", "/api/admin/users").status, 403);
  EXPECT_EQ(as(a, "GET", "/api/auth/me").json.at("user").at("disabled"), false);

  // The admin sees A's usage.
  const Reply by_user = as(admin, "GET", "/api/admin/usage");
  ASSERT_EQ(by_user.status, 200) << by_user.body;
  ASSERT_EQ(by_user.json.at("by_user").as_array().size(), 1u);
  EXPECT_EQ(by_user.json.at("by_user").at(0).at("email"), "a@example.com");
  const Reply a_usage = as(admin, "GET", "/api/admin/users/" + a.user_id + "/usage");
  ASSERT_EQ(a_usage.status, 200);
  EXPECT_EQ(a_usage.json.at("by_model").at(0).at("model"), "tiny");
  EXPECT_EQ(as(admin, "GET", "/api/admin/users/usr_00000000000000000000000000/usage").status, 404);
}

TEST_F(AccountsTest, AdminManagesUsers) {
  start();
  const Session admin = signup("admin@example.com");
  const Reply created =
      as(admin, "POST", "/api/admin/users", R"({"email":"new@example.com","password":"first password","role":"user"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id(created.json.at("id").as_string());
  const Session s = login("new@example.com", "first password");

  const Reply list = as(admin, "GET", "/api/admin/users?search=NEW&limit=10");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json.at("data").as_array().size(), 1u);
  EXPECT_EQ(list.json.at("data").at(0).at("id").as_string(), id);
  EXPECT_EQ(as(admin, "GET", "/api/admin/users?limit=0").status, 400);
  EXPECT_EQ(as(admin, "GET", "/api/admin/users/" + id).json.at("email"), "new@example.com");

  const Reply promoted = as(admin, "PATCH", "/api/admin/users/" + id, R"({"role":"admin","display_name":"New"})");
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(promoted.json.at("role"), "admin");
  EXPECT_EQ(as(admin, "PATCH", "/api/admin/users/" + id, R"({"role":"root"})").status, 400);

  // A reset ends the user's sessions; the old password stops working, the new one works.
  ASSERT_EQ(as(admin, "POST", "/api/admin/users/" + id + "/password", R"({"password":"second password"})").status, 200);
  EXPECT_EQ(as(s, "GET", "/api/auth/me").status, 401);
  EXPECT_EQ(call("POST", "/api/auth/login", R"({"email":"new@example.com","password":"first password"})").status, 401);
  login("new@example.com", "second password");
  EXPECT_EQ(as(admin, "POST", "/api/admin/users/" + id + "/password", R"({"password":"short"})").status, 400);

  // An admin cannot lock themselves out.
  const Reply self = as(admin, "PATCH", "/api/admin/users/" + admin.user_id, R"({"disabled":true})");
  EXPECT_EQ(self.status, 400);
  EXPECT_EQ(self.error_code(), "self_lockout");
  EXPECT_EQ(as(admin, "PATCH", "/api/admin/users/usr_00000000000000000000000000", R"({"disabled":true})").status, 404);
}

TEST_F(AccountsTest, InputValidation) {
  start();
  const Session a = signup("a@example.com");
  // Wrong content type: 415, before anything else.
  const Reply text = call("POST", "/api/auth/login", R"({"email":"a@example.com","password":"x"})",
                          {{"Content-Type", "text/plain"}}, false);
  EXPECT_EQ(text.status, 415);
  EXPECT_EQ(call("POST", "/api/auth/signup", "email=a&password=b",
                 {{"Content-Type", "application/x-www-form-urlencoded"}}, false)
                .status,
            415);
  EXPECT_EQ(call("POST", "/api/auth/login", R"({"email":"a@example.com"})", {}, false).status, 415)
      << "no Content-Type";
  EXPECT_EQ(call("POST", "/api/auth/login", R"({"email":"a@example.com","password":"correct horse battery"})",
                 {{"Content-Type", "Application/JSON; charset=utf-8"}}, false)
                .status,
            200);
  // Malformed JSON, non-objects, unknown or mistyped fields.
  for (const std::string& body : std::vector<std::string>{
           "{", "[]", "\"x\"", R"({"email":"a@example.com","pasword":"x"})", R"({"email":7,"password":"x"})",
           R"({"email":"a@example.com"})", "{\"email\":\"a@example.com\",\"password\":\"\xff\xfe\"}"}) {
    const Reply r = call("POST", "/api/auth/login", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_EQ(r.json.at("error").at("type"), "invalid_request_error") << body;
  }
  // Oversized fields and bodies.
  const std::string long_email = std::string(250, 'x') + "@example.com";
  EXPECT_EQ(call("POST", "/api/auth/signup", R"({"email":")" + long_email + R"(","password":"correct horse battery"})")
                .status,
            400);
  const Reply long_password =
      call("POST", "/api/auth/signup", R"({"email":"p@example.com","password":")" + std::string(1025, 'p') + R"("})");
  EXPECT_EQ(long_password.status, 400);
  EXPECT_EQ(long_password.json.at("error").at("param"), "password");
  EXPECT_EQ(call("POST", "/api/auth/signup", R"({"email":"p@example.com","password":"short"})").status, 400);
  EXPECT_EQ(call("POST", "/api/auth/signup", R"({"email":"not-an-email","password":"correct horse battery"})").status,
            400);
  const Reply long_name = as(a, "POST", "/api/keys", R"({"name":")" + std::string(129, 'n') + R"("})");
  EXPECT_EQ(long_name.status, 400);
  EXPECT_EQ(long_name.json.at("error").at("param"), "name");
  EXPECT_EQ(as(a, "POST", "/api/keys", R"({"expires_in_days":0})").status, 400);
  EXPECT_EQ(as(a, "POST", "/api/keys", R"({"expires_in_days":"soon"})").status, 400);
  EXPECT_EQ(as(a, "POST", "/api/keys", R"({"name":")" + std::string(70 << 10, 'n') + R"("})").status, 413);
  // Invalid ids are simply not found; bad query parameters are 400; wrong methods 405.
  for (const std::string& id :
       std::vector<std::string>{"x", "key_%27%20OR%201=1", std::string(300, 'k'), "key_/../../etc"}) {
    EXPECT_EQ(as(a, "DELETE", "/api/keys/" + id).status, 404) << id;
  }
  EXPECT_EQ(as(a, "GET", "/api/usage?from=yesterday").status, 400);
  EXPECT_EQ(as(a, "GET", "/api/usage?from=1800000000&to=1700000000").status, 400);
  EXPECT_EQ(as(a, "PUT", "/api/keys").status, 405);
  EXPECT_EQ(call("GET", "/api/auth/login").status, 405);
  EXPECT_EQ(as(a, "GET", "/api/nothing").status, 404);
}

// Reads what the process writes to stdout and stderr (where the logs go, depending on whether
// logging was set up) while it lives.
class OutputCapture {
 public:
  OutputCapture() {
    path_ = std::filesystem::temp_directory_path() / ("parley_log_capture_" + std::to_string(::getpid()));
    std::fflush(stdout);
    std::fflush(stderr);
    std::FILE* f = std::fopen(path_.c_str(), "w");
    for (const int fd : {1, 2}) {
      saved_[fd - 1] = ::dup(fd);
      ::dup2(::fileno(f), fd);
    }
    std::fclose(f);
  }
  ~OutputCapture() {
    restore();
    std::filesystem::remove(path_);
  }
  std::string text() {
    restore();
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  void restore() {
    std::fflush(stdout);
    std::fflush(stderr);
    for (const int fd : {1, 2}) {
      if (saved_[fd - 1] < 0) continue;
      ::dup2(saved_[fd - 1], fd);
      ::close(saved_[fd - 1]);
      saved_[fd - 1] = -1;
    }
  }
  std::filesystem::path path_;
  int saved_[2] = {-1, -1};
};

TEST_F(AccountsTest, PasswordsKeysAndTokensNeverAppearInLogsOrErrors) {
  start();
  const std::string password = "hunter2-but-longer-SECRET";
  std::vector<std::string> secrets{password};
  std::string log;
  {
    OutputCapture capture;
    const Session admin = signup("admin@example.com", password);
    const Session s = login("admin@example.com", password);
    const Reply bad =
        call("POST", "/api/auth/login", R"({"email":"admin@example.com","password":"wrong-SECRET-guess"})");
    EXPECT_EQ(bad.body.find("wrong-SECRET-guess"), std::string::npos);
    secrets.push_back("wrong-SECRET-guess");
    const auto [id, key] = create_key(s);
    ASSERT_EQ(chat(key).status, 200);
    const std::string bogus = "pk-" + std::string(48, 'z');
    const Reply refused = with_key(bogus, "GET", "/v1/models");
    EXPECT_EQ(refused.body.find(bogus), std::string::npos);
    secrets.insert(secrets.end(), {key, bogus, s.csrf, admin.csrf, s.cookie.substr(s.cookie.find('=') + 1),
                                   admin.cookie.substr(admin.cookie.find('=') + 1)});
    as(admin, "POST", "/api/admin/users", R"({"email":"u@example.com","password":"another-SECRET-pw"})");
    secrets.push_back("another-SECRET-pw");
    accounts_->usage().flush();
    log = capture.text();
  }
  EXPECT_NE(log.find("logged in"), std::string::npos) << "the capture works: " << log;
  for (const std::string& secret : secrets) {
    ASSERT_FALSE(secret.empty());
    EXPECT_EQ(log.find(secret), std::string::npos) << "secret in the log: " << secret;
  }
  // No stored hash either (they are offline-guessable).
  EXPECT_EQ(log.find("$argon2id$"), std::string::npos);
}

TEST_F(AccountsTest, LocalModeActsAsTheBuiltInAdmin) {
  mode_ = AuthMode::kNone;
  start();
  const Reply me = call("GET", "/api/auth/me");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json.at("via"), "local");
  EXPECT_EQ(me.json.at("user").at("email"), "local@localhost");
  EXPECT_EQ(me.json.at("user").at("role"), "admin");
  // Any key or none: the OpenAI client always sends one.
  EXPECT_EQ(chat("").status, 200);
  EXPECT_EQ(chat("unused").status, 200);
  accounts_->usage().flush();
  EXPECT_EQ(call("GET", "/api/usage").json.at("totals").at("requests"), 2);
  EXPECT_EQ(call("POST", "/api/auth/signup", R"({"email":"a@example.com","password":"correct horse battery"})").status,
            400);
  // Still JSON only: a cross-site form post cannot reach the API (there is no session to check).
  EXPECT_EQ(call("POST", "/api/keys", "{}", {{"Content-Type", "text/plain"}}, false).status, 415);
  EXPECT_EQ(call("POST", "/api/keys", "{}").status, 201);

  // The same store with authentication on: the local user persists, cannot log in (no
  // password), and does not count as a real user (the next sign-up becomes admin).
  stop();
  mode_ = AuthMode::kRequired;
  start();
  EXPECT_EQ(call("GET", "/api/auth/me").status, 401);
  const Reply first =
      call("POST", "/api/auth/signup", R"({"email":"a@example.com","password":"correct horse battery"})");
  ASSERT_EQ(first.status, 201);
  EXPECT_EQ(first.json.at("user").at("role"), "admin");
}

}  // namespace
}  // namespace parley
