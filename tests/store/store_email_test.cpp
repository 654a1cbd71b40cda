// E-mail addresses: normalization and look-alike skeletons (store/email.h, ICU), and on every
// backend the unique skeleton, log-in lookups and the migration that backfills existing rows.
#include <string>

#include "store/email.h"
#include "store/store_fixture.h"

namespace parley::store::testing {
namespace {

// ---- the functions, without a database ----------------------------------------------------

TEST(EmailForms, NormalizedIsTrimmedNfkcCaseFolded) {
  EXPECT_EQ(normalize_email("  Alice@Example.COM \t"), "alice@example.com");
  EXPECT_EQ(normalize_email("\u3000alice@example.com\u00a0"), "alice@example.com");     // ideographic space, NBSP
  EXPECT_EQ(normalize_email("ａｌｉｃｅ@ｅｘａｍｐｌｅ.ｃｏｍ"), "alice@example.com");  // fullwidth
  EXPECT_EQ(normalize_email("\uFB01le@example.com"), "file@example.com");               // the "fi" ligature
  EXPECT_EQ(normalize_email("\u212Aelvin@example.com"), "kelvin@example.com");          // KELVIN SIGN
  EXPECT_EQ(normalize_email("Stra\u00DFe@example.de"), "strasse@example.de");           // full case folding
  // Default-ignorable code points (zero width space, soft hyphen, joiners) are removed.
  EXPECT_EQ(normalize_email("al\u200Bi\u00ADce@example.com"), "alice@example.com");
  // Look-alikes from other scripts are not the same text: Cyrillic 'а' stays.
  EXPECT_EQ(normalize_email("\u0430lice@example.com"), "\u0430lice@example.com");
  EXPECT_EQ(normalize_email("bad \xC3\x28 utf8"), "");
}

TEST(EmailForms, SkeletonsMakeLookAlikesEqual) {
  const std::string alice = email_skeleton("alice@example.com");
  EXPECT_EQ(email_skeleton("\u0430lice@example.com"), alice);  // Cyrillic a
  EXPECT_EQ(email_skeleton("alice@ex\u0430mple.com"), alice);  // in the domain
  EXPECT_EQ(email_skeleton("\u03B1lice@example.com"), alice);  // Greek alpha
  EXPECT_EQ(email_skeleton("m@example.com"), email_skeleton("rn@example.com"));
  EXPECT_EQ(email_skeleton("bill@example.com"), email_skeleton("bi1l@example.com"));  // digit one
  // What ICU 72's confusables data does not merge: after case folding, 'i' is not 'l', and the
  // digit zero (a look-alike of capital O) is not lowercase 'o'.
  EXPECT_NE(email_skeleton("paypai@example.com"), email_skeleton("paypal@example.com"));
  EXPECT_NE(email_skeleton("j0hn@example.com"), email_skeleton("john@example.com"));
  EXPECT_NE(email_skeleton("alicia@example.com"), alice);
}

TEST(EmailForms, NewAddressesAreValidatedAfterNormalizing) {
  ASSERT_OK_AND_ASSIGN(EmailForms f, normalize_new_email(" ＡＬＩＣＥ@Example.com "));
  EXPECT_EQ(f.normalized, "alice@example.com");
  EXPECT_EQ(f.skeleton, email_skeleton("alice@example.com"));
  for (const std::string_view bad : {
           "a\u00A0b@example.com",  // NBSP becomes a space
           "a\u2028b@example.com",  // LINE SEPARATOR
           "ab\uE000@example.com",  // private use
           "ab\u0378@example.com",  // unassigned in Unicode 15
           "a@b\uFF20example.com",  // FULLWIDTH COMMERCIAL AT becomes a second '@'
           "   ",
       }) {
    const Result<EmailForms> r = normalize_new_email(bad);
    EXPECT_CODE(r, kInvalidArgument);
    EXPECT_EQ(r.status().detail("param"), "email");
  }
}

// ---- on every backend ----------------------------------------------------------------------

TEST_P(StoreTest, EmailsAreStoredNormalizedAndFoundInAnyForm) {
  User u = make_user("  Alice@Example.COM ");
  EXPECT_EQ(u.email, "alice@example.com");
  for (const std::string_view typed : {"alice@example.com", "ALICE@example.com", "ａｌｉｃｅ@example.com",
                                       "al\u200Bice@example.com", " alice@example.com "}) {
    ASSERT_OK_AND_ASSIGN(User found, store().find_user_by_email(typed));
    EXPECT_EQ(found.id, u.id) << typed;
  }
  // A look-alike is a different address: it never finds the account it imitates.
  EXPECT_CODE(store().find_user_by_email("\u0430lice@example.com"), kNotFound);
  EXPECT_CODE(store().find_user_by_email("a1ice@example.com"), kNotFound);
}

TEST_P(StoreTest, LookAlikeOfAnExistingAddressIsADuplicate) {
  make_user("alice@example.com");
  make_user("mike@example.org");
  const Result<User> dup = store().create_user({"ALICE@example.com", "", UserRole::kUser, ""});
  EXPECT_CODE(dup, kAlreadyExists);
  for (const std::string_view look_alike : {
           "\u0430lice@example.com",  // Cyrillic a
           "ａｌｉｃｅ@example.com",  // fullwidth: the same normalized address
           "alice@ex\u0430mple.com",  // Cyrillic a in the domain
           "rnike@example.org",       // "rn" looks like "m"
       }) {
    const Result<User> r = store().create_user({std::string(look_alike), "", UserRole::kUser, ""});
    EXPECT_CODE(r, kAlreadyExists);
    // Exactly what a duplicate says: nothing about which account it resembles.
    EXPECT_EQ(r.status().message(), dup.status().message()) << look_alike;
    EXPECT_EQ(r.status().detail("param"), "email");
  }
  EXPECT_TRUE(store().create_user({"alicia@example.com", "", UserRole::kUser, ""}).ok());
  ASSERT_OK_AND_ASSIGN(auto n, store().count_users());
  EXPECT_EQ(n, 3);
  EXPECT_EQ(query_raw_int("SELECT COUNT(*) FROM users WHERE email_skeleton IS NULL"), 0);
}

// Puts the database back to schema version 1 with rows as version 1 wrote them (email as given,
// email_key its ASCII lowercase), then reopens: every later migration runs again.
TEST_P(StoreTest, MigrationBackfillsNormalizedKeysAndSkeletons) {
  store_.reset();
  downgrade_to_schema_2();
  exec_raw("DROP INDEX users_email_skeleton");
  exec_raw("ALTER TABLE users DROP COLUMN email_skeleton");
  exec_raw("DELETE FROM schema_migrations WHERE version = 2");
  const auto row = [&](const std::string& id, const std::string& email, const std::string& key, int created) {
    exec_raw(
        "INSERT INTO users (id, email, email_key, display_name, role, disabled, password_hash, created_at, "
        "updated_at) VALUES ('" +
        id + "', '" + email + "', '" + key + "', '', 'user', 0, '', " + std::to_string(created) + ", 0)");
  };
  row("usr_aaaaaaaaaaaaaaaaaaaaaaaaaa", "Alice@Example.com", "alice@example.com", 1);
  row("usr_bbbbbbbbbbbbbbbbbbbbbbbbbb", "ＢＯＢ@example.com", "ＢＯＢ@example.com", 2);  // fullwidth, older
  row("usr_cccccccccccccccccccccccccc", "bob@example.com", "bob@example.com", 3);
  row("usr_dddddddddddddddddddddddddd", "\u0430lice@example.com", "\u0430lice@example.com", 4);  // Cyrillic a
  row("usr_eeeeeeeeeeeeeeeeeeeeeeeeee", "Stra\u00DFe@Example.de", "stra\u00DFe@example.de", 5);
  ASSERT_OK_AND_ASSIGN(store_, open());
  EXPECT_EQ(store().schema_version(), latest_schema_version());

  const auto found = [&](std::string_view email) {
    Result<User> u = store().find_user_by_email(email);
    return u.ok() ? u->id.substr(4, 1) : std::string(error_code_name(u.status().code()));
  };
  EXPECT_EQ(found("ALICE@example.com"), "a");
  EXPECT_EQ(found("\u0430lice@example.com"), "d");  // a look-alike made before version 2 keeps its account
  // "bob@" already held its normalized key; the older fullwidth account keeps its old key and
  // is still found by exactly that address.
  EXPECT_EQ(found("bob@example.com"), "c");
  EXPECT_EQ(found("Bob@Example.com"), "c");
  EXPECT_EQ(found("ＢＯＢ@example.com"), "b");
  EXPECT_EQ(found("STRASSE@example.de"), "e");  // new: full case folding
  EXPECT_EQ(found("stra\u00DFe@example.de"), "e");
  // The displayed addresses are not rewritten.
  ASSERT_OK_AND_ASSIGN(User alice, store().get_user("usr_aaaaaaaaaaaaaaaaaaaaaaaaaa"));
  EXPECT_EQ(alice.email, "Alice@Example.com");
  // One skeleton per group: the older of a, d and of b, c holds it.
  EXPECT_EQ(query_raw_int("SELECT COUNT(*) FROM users WHERE email_skeleton IS NULL"), 2);
  EXPECT_EQ(query_raw_int("SELECT COUNT(*) FROM users WHERE email_skeleton IS NULL AND id IN "
                          "('usr_cccccccccccccccccccccccccc', 'usr_dddddddddddddddddddddddddd')"),
            2);
  // New look-alikes of any of them are refused.
  for (const std::string_view email :
       {"alice@example.com", "a1ice@exarnple.com", "bob@example.com", "b\u03BFb@example.com", "strasse@example.de"}) {
    EXPECT_CODE(store().create_user({std::string(email), "", UserRole::kUser, ""}), kAlreadyExists);
  }
  EXPECT_TRUE(store().create_user({"carol@example.com", "", UserRole::kUser, ""}).ok());
}

}  // namespace
}  // namespace parley::store::testing
