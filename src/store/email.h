// E-mail addresses as account names: which spellings are the same account, and which look alike.
//
// An address is an identifier here (Parley sends no mail), so the whole of it, local part
// included, is compared without regard to Unicode form or case (RFC 5321 lets a server treat
// local parts case-sensitively; no mainstream provider does, and two accounts "Bob@" and "bob@"
// would only confuse people). Two forms are derived with ICU (docs/auth.md):
//
//   normalized  leading/trailing Unicode white space trimmed, then NFKC_Casefold (compatibility
//               forms such as fullwidth letters and ligatures replaced, case folded, default-
//               ignorable code points such as U+200B ZERO WIDTH SPACE removed). It is what the
//               store keeps and shows for a new account, and log-in matches it: "ALICE@x.org",
//               "ａｌｉｃｅ@x.org" and "alice@x.org" name one account.
//   skeleton    the UTS #39 skeleton of the normalized form (uspoof_getSkeleton): characters that
//               can look alike map to one prototype (Cyrillic 'а' -> 'a', "m" -> "rn", '1' -> 'l').
//               A new account whose skeleton is taken is refused like a duplicate address; the
//               skeleton is never used to find an account, so a look-alike address never logs in
//               to the account it imitates.
//
// Thread safety: every function may be called from any thread concurrently.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace parley::store {

struct EmailForms {
  std::string normalized;
  std::string skeleton;
};

// The forms of an address given for a new account. kInvalidArgument (detail "param" = "email")
// unless `email` is valid UTF-8 and its normalized form is 3..kMaxEmailBytes bytes with exactly
// one '@' neither first nor last, and no white space, control, format, private-use or unassigned
// code point (unassigned ones could change their normalization in a later Unicode version).
Result<EmailForms> normalize_new_email(std::string_view email);

// The normalized form of an address presented at log-in (trim + NFKC_Casefold, no other checks),
// or an empty string when `email` is not valid UTF-8 or too long to be one we accepted. Use it as
// the key for anything per account (lookups, rate-limit buckets).
std::string normalize_email(std::string_view email);

// The UTS #39 skeleton of an already normalized address; empty when it is not valid UTF-8.
std::string email_skeleton(std::string_view normalized);

}  // namespace parley::store
