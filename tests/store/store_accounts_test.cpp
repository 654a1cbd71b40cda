// Users, sessions and API keys, on every backend.
#include <string>

#include "store/store_fixture.h"

namespace parley::store::testing {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

TEST_P(StoreTest, CreateAndGetUser) {
  NewUser in{"Alice@Example.com", "Alice", UserRole::kAdmin, "$argon2id$hash"};
  ASSERT_OK_AND_ASSIGN(User u, store().create_user(in));
  EXPECT_TRUE(u.id.starts_with("usr_"));
  EXPECT_EQ(u.email, "alice@example.com");  // normalized: store/email.h
  EXPECT_EQ(u.created_at, u.updated_at);
  ASSERT_OK_AND_ASSIGN(User got, store().get_user(u.id));
  EXPECT_EQ(got.id, u.id);
  EXPECT_EQ(got.email, "alice@example.com");
  EXPECT_EQ(got.display_name, "Alice");
  EXPECT_EQ(got.role, UserRole::kAdmin);
  EXPECT_FALSE(got.disabled);
  EXPECT_EQ(got.password_hash, "$argon2id$hash");
  EXPECT_EQ(got.created_at, u.created_at);
  EXPECT_CODE(store().get_user("usr_00000000000000000000000000"), kNotFound);
  EXPECT_CODE(store().get_user("not an id"), kNotFound);
  EXPECT_CODE(store().get_user(std::string("usr_\0abc", 8)), kNotFound);
}

TEST_P(StoreTest, EmailIsUniqueCaseInsensitively) {
  make_user("bob@example.com");
  auto dup = store().create_user({"BOB@Example.COM", "Other Bob", UserRole::kUser, ""});
  EXPECT_CODE(dup, kAlreadyExists);
  EXPECT_EQ(dup.status().detail("param"), "email");
  ASSERT_OK_AND_ASSIGN(User found, store().find_user_by_email("Bob@EXAMPLE.com"));
  EXPECT_EQ(found.email, "bob@example.com");
  EXPECT_CODE(store().find_user_by_email("nobody@example.com"), kNotFound);
  ASSERT_OK_AND_ASSIGN(auto n, store().count_users());
  EXPECT_EQ(n, 1);
}

TEST_P(StoreTest, UserInputIsValidated) {
  EXPECT_CODE(store().create_user({"", "x", UserRole::kUser, ""}), kInvalidArgument);
  EXPECT_CODE(store().create_user({"no-at-sign", "x", UserRole::kUser, ""}), kInvalidArgument);
  EXPECT_CODE(store().create_user({"a b@example.com", "x", UserRole::kUser, ""}), kInvalidArgument);
  EXPECT_CODE(store().create_user({"a@b@c", "x", UserRole::kUser, ""}), kInvalidArgument);
  EXPECT_CODE(store().create_user({std::string(250, 'a') + "@b.co", "x", UserRole::kUser, ""}), kInvalidArgument);
  EXPECT_CODE(store().create_user({"a@example.com", std::string(kMaxDisplayNameBytes + 1, 'x'), UserRole::kUser, ""}),
              kInvalidArgument);
  EXPECT_CODE(store().create_user({"a@example.com", std::string("nul\0byte", 8), UserRole::kUser, ""}),
              kInvalidArgument);
  EXPECT_CODE(store().create_user({"a@example.com", "bad \xC3\x28 utf8", UserRole::kUser, ""}), kInvalidArgument);
  EXPECT_CODE(store().create_user({"a@example.com", "x", UserRole::kUser, std::string(kMaxPasswordHashBytes + 1, 'h')}),
              kInvalidArgument);
  // At the limits: accepted, and non-ASCII text round-trips byte for byte.
  const std::string tail = "Zoë 日本";
  const std::string name = std::string(kMaxDisplayNameBytes - tail.size(), 'n') + tail;
  ASSERT_EQ(name.size(), kMaxDisplayNameBytes);
  ASSERT_OK_AND_ASSIGN(User u, store().create_user({"a@example.com", name, UserRole::kUser, ""}));
  ASSERT_OK_AND_ASSIGN(User got, store().get_user(u.id));
  EXPECT_EQ(got.display_name, name);
  ASSERT_OK_AND_ASSIGN(auto n, store().count_users());
  EXPECT_EQ(n, 1);
}

TEST_P(StoreTest, UpdateUserChangesOnlyGivenFields) {
  User u = make_user("carol@example.com");
  UserUpdate up;
  up.disabled = true;
  ASSERT_OK_AND_ASSIGN(User d, store().update_user(u.id, up));
  EXPECT_TRUE(d.disabled);
  EXPECT_EQ(d.display_name, u.display_name);
  EXPECT_EQ(d.password_hash, u.password_hash);
  EXPECT_EQ(d.role, UserRole::kUser);
  EXPECT_GT(d.updated_at, u.updated_at);

  UserUpdate up2;
  up2.display_name = "Carol C.";
  up2.role = UserRole::kAdmin;
  up2.password_hash = "new-hash";
  ASSERT_OK_AND_ASSIGN(User e, store().update_user(u.id, up2));
  EXPECT_TRUE(e.disabled);  // unchanged this time
  EXPECT_EQ(e.display_name, "Carol C.");
  EXPECT_EQ(e.role, UserRole::kAdmin);
  EXPECT_EQ(e.password_hash, "new-hash");

  UserUpdate up3;
  up3.disabled = false;
  up3.password_hash = "";
  ASSERT_OK_AND_ASSIGN(User f, store().update_user(u.id, up3));
  EXPECT_FALSE(f.disabled);
  EXPECT_EQ(f.password_hash, "");
  ASSERT_OK_AND_ASSIGN(User g, store().get_user(u.id));
  EXPECT_EQ(g.display_name, "Carol C.");
  EXPECT_FALSE(g.disabled);

  EXPECT_CODE(store().update_user("usr_00000000000000000000000000", up), kNotFound);
  UserUpdate bad;
  bad.display_name = std::string(kMaxDisplayNameBytes + 1, 'x');
  EXPECT_CODE(store().update_user(u.id, bad), kInvalidArgument);
}

TEST_P(StoreTest, ListUsersPagesAndSearchesLiterally) {
  std::vector<User> users;
  for (int i = 0; i < 5; ++i) users.push_back(make_user("user" + std::to_string(i) + "@example.com"));
  User pct = make_user("100%@example.com");
  ASSERT_OK_AND_ASSIGN(auto p1, store().list_users({{2, 0}, ""}));
  ASSERT_EQ(p1.items.size(), 2u);
  EXPECT_TRUE(p1.has_more);
  EXPECT_EQ(p1.items[0].id, users[0].id);  // oldest first
  EXPECT_EQ(p1.items[1].id, users[1].id);
  ASSERT_OK_AND_ASSIGN(auto p3, store().list_users({{2, 4}, ""}));
  ASSERT_EQ(p3.items.size(), 2u);
  EXPECT_FALSE(p3.has_more);
  EXPECT_EQ(p3.items[1].id, pct.id);

  ASSERT_OK_AND_ASSIGN(auto s, store().list_users({{50, 0}, "USER3"}));
  ASSERT_EQ(s.items.size(), 1u);
  EXPECT_EQ(s.items[0].id, users[3].id);
  ASSERT_OK_AND_ASSIGN(auto by_name, store().list_users({{50, 0}, "name of user4"}));
  ASSERT_EQ(by_name.items.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto lit, store().list_users({{50, 0}, "%"}));
  ASSERT_EQ(lit.items.size(), 1u);
  EXPECT_EQ(lit.items[0].id, pct.id);
  ASSERT_OK_AND_ASSIGN(auto under, store().list_users({{50, 0}, "user_"}));
  EXPECT_TRUE(under.items.empty());

  EXPECT_CODE(store().list_users({{0, 0}, ""}), kInvalidArgument);
  EXPECT_CODE(store().list_users({{kMaxPageLimit + 1, 0}, ""}), kInvalidArgument);
  EXPECT_CODE(store().list_users({{10, -1}, ""}), kInvalidArgument);
}

TEST_P(StoreTest, SessionsExpireAndAreDeleted) {
  User u = make_user("dave@example.com");
  User other = make_user("erin@example.com");
  const Time now = clock_.peek();
  ASSERT_OK(store().create_session({"hash-live", u.id, {}, now + hours(1)}));
  ASSERT_OK(store().create_session({"hash-dead", u.id, {}, now - seconds(1)}));
  ASSERT_OK(store().create_session({"hash-other", other.id, {}, now + hours(1)}));
  EXPECT_CODE(store().create_session({"hash-live", u.id, {}, now + hours(1)}), kAlreadyExists);
  EXPECT_CODE(store().create_session({"hash-x", "usr_00000000000000000000000000", {}, now + hours(1)}), kNotFound);
  EXPECT_CODE(store().create_session({"", u.id, {}, now + hours(1)}), kInvalidArgument);

  ASSERT_OK_AND_ASSIGN(Session s, store().find_session("hash-live"));
  EXPECT_EQ(s.user_id, u.id);
  EXPECT_EQ(s.expires_at, now + hours(1));
  EXPECT_GE(s.created_at, now);
  EXPECT_CODE(store().find_session("hash-dead"), kNotFound);  // expired
  EXPECT_CODE(store().find_session("hash-none"), kNotFound);

  ASSERT_OK(store().extend_session("hash-live", now + hours(5)));
  ASSERT_OK_AND_ASSIGN(Session ext, store().find_session("hash-live"));
  EXPECT_EQ(ext.expires_at, now + hours(5));
  EXPECT_CODE(store().extend_session("hash-dead", now + hours(5)), kNotFound);  // no resurrection

  ASSERT_OK_AND_ASSIGN(auto expired, store().delete_expired_sessions());
  EXPECT_EQ(expired, 1);
  ASSERT_OK(store().delete_session("hash-live"));
  EXPECT_CODE(store().find_session("hash-live"), kNotFound);
  EXPECT_CODE(store().delete_session("hash-live"), kNotFound);

  ASSERT_OK(store().create_session({"hash-a", u.id, {}, now + hours(1)}));
  ASSERT_OK(store().create_session({"hash-b", u.id, {}, now + hours(1)}));
  ASSERT_OK_AND_ASSIGN(auto n, store().delete_user_sessions(u.id));
  EXPECT_EQ(n, 2);
  ASSERT_OK(store().find_session("hash-other"));  // another user's session is untouched

  // Time passes: the remaining session expires.
  clock_.advance(hours(2));
  EXPECT_CODE(store().find_session("hash-other"), kNotFound);
}

TEST_P(StoreTest, ApiKeysStoreHashPrefixScopesAndExpiry) {
  User u = make_user("frank@example.com");
  const Time now = clock_.peek();
  NewApiKey in{u.id, "laptop", "pk-3fa9", "sha256:aaaa", {"chat", "models:read"}, now + hours(24)};
  ASSERT_OK_AND_ASSIGN(ApiKey k, store().create_api_key(in));
  EXPECT_TRUE(k.id.starts_with("key_"));
  ASSERT_OK_AND_ASSIGN(ApiKey found, store().find_api_key_by_hash("sha256:aaaa"));
  EXPECT_EQ(found.id, k.id);
  EXPECT_EQ(found.user_id, u.id);
  EXPECT_EQ(found.name, "laptop");
  EXPECT_EQ(found.prefix, "pk-3fa9");
  EXPECT_EQ(found.scopes, (std::vector<std::string>{"chat", "models:read"}));
  ASSERT_TRUE(found.expires_at.has_value());
  EXPECT_EQ(*found.expires_at, now + hours(24));
  EXPECT_FALSE(found.last_used_at.has_value());
  EXPECT_FALSE(found.revoked_at.has_value());
  EXPECT_TRUE(found.usable_at(now));
  EXPECT_FALSE(found.usable_at(now + hours(25)));  // expired

  ASSERT_OK_AND_ASSIGN(ApiKey forever, store().create_api_key({u.id, "", "pk-0000", "sha256:bbbb", {}, std::nullopt}));
  ASSERT_OK_AND_ASSIGN(ApiKey f2, store().find_api_key_by_hash("sha256:bbbb"));
  EXPECT_FALSE(f2.expires_at.has_value());
  EXPECT_TRUE(f2.scopes.empty());
  EXPECT_TRUE(f2.usable_at(now + hours(24 * 365 * 10)));

  EXPECT_CODE(store().create_api_key({u.id, "dup", "pk-1", "sha256:aaaa", {}, std::nullopt}), kAlreadyExists);
  EXPECT_CODE(store().create_api_key({u.id, "x", "pk-1", "sha256:cccc", {"has space"}, std::nullopt}),
              kInvalidArgument);
  EXPECT_CODE(store().create_api_key({u.id, "x", "", "sha256:cccc", {}, std::nullopt}), kInvalidArgument);
  EXPECT_CODE(store().create_api_key({u.id, "x", "pk-1", "", {}, std::nullopt}), kInvalidArgument);
  EXPECT_CODE(store().create_api_key({"usr_00000000000000000000000000", "x", "pk-1", "sha256:dddd", {}, std::nullopt}),
              kNotFound);
  EXPECT_CODE(store().find_api_key_by_hash("sha256:none"), kNotFound);

  ASSERT_OK_AND_ASSIGN(auto list, store().list_api_keys(u.id));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, forever.id);  // newest first
  EXPECT_EQ(list[1].id, k.id);

  // last_used_at moves forward only.
  ASSERT_OK(store().touch_api_key(u.id, k.id, now + seconds(10)));
  ASSERT_OK(store().touch_api_key(u.id, k.id, now + seconds(5)));
  ASSERT_OK_AND_ASSIGN(ApiKey touched, store().find_api_key_by_hash("sha256:aaaa"));
  ASSERT_TRUE(touched.last_used_at.has_value());
  EXPECT_EQ(*touched.last_used_at, now + seconds(10));

  // Revocation: recorded once, the key stays findable (so auth can say "revoked").
  ASSERT_OK_AND_ASSIGN(ApiKey rev, store().revoke_api_key(u.id, k.id));
  ASSERT_TRUE(rev.revoked_at.has_value());
  EXPECT_FALSE(rev.usable_at(now));
  ASSERT_OK_AND_ASSIGN(ApiKey rev2, store().revoke_api_key(u.id, k.id));
  EXPECT_EQ(rev2.revoked_at, rev.revoked_at);
  ASSERT_OK_AND_ASSIGN(ApiKey after, store().find_api_key_by_hash("sha256:aaaa"));
  EXPECT_EQ(after.revoked_at, rev.revoked_at);
  EXPECT_FALSE(after.usable_at(now));
}

TEST_P(StoreTest, ApiKeysAreIsolatedBetweenUsers) {
  User a = make_user("a@example.com");
  User b = make_user("b@example.com");
  ASSERT_OK_AND_ASSIGN(ApiKey ka, store().create_api_key({a.id, "a", "pk-a", "hash-a", {}, std::nullopt}));
  ASSERT_OK_AND_ASSIGN(ApiKey kb, store().create_api_key({b.id, "b", "pk-b", "hash-b", {}, std::nullopt}));
  ASSERT_OK_AND_ASSIGN(auto la, store().list_api_keys(a.id));
  ASSERT_EQ(la.size(), 1u);
  EXPECT_EQ(la[0].id, ka.id);
  // b cannot revoke or touch a's key: exactly like a missing key, and nothing changes.
  EXPECT_CODE(store().revoke_api_key(b.id, ka.id), kNotFound);
  EXPECT_CODE(store().touch_api_key(b.id, ka.id, clock_.peek()), kNotFound);
  ASSERT_OK_AND_ASSIGN(ApiKey still, store().find_api_key_by_hash("hash-a"));
  EXPECT_FALSE(still.revoked_at.has_value());
  EXPECT_FALSE(still.last_used_at.has_value());
  EXPECT_CODE(store().revoke_api_key(a.id, "key_00000000000000000000000000"), kNotFound);
  ASSERT_OK(store().revoke_api_key(b.id, kb.id));
}

}  // namespace
}  // namespace parley::store::testing
