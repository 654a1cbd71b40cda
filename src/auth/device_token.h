// Known devices: a long-lived cookie a browser receives when it signs in to an account, so that
// the log-in limit that protects an account from guessing from everywhere at once (per account,
// any address) cannot be used to lock its owner out: a log-in that presents a valid device token
// for the account it names is limited per device instead (docs/security.md, "Log-in").
//
// Token: "<id>.<mac>", id = 16 random bytes, mac = HMAC(server key, "parley-device-v1\n" ||
// account || "\n" || id), both base64url. It is bound to the account (lower-cased email): a token
// of the attacker's own account does nothing for another one. It carries no authority beyond
// that: it is not a session and cannot sign in by itself. Rotating the key ([auth] csrf_key)
// forgets every device.
//
// Thread safety: plain functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/csrf.h"

namespace parley::auth {

// "__Host-parley_device" with secure cookies, else "parley_device".
std::string_view device_cookie_name(bool secure);

std::string issue_device_token(const CsrfSigner& key, std::string_view account);

// The device id when `token` was issued for `account` by this key; nullopt otherwise.
std::optional<std::string> verify_device_token(const CsrfSigner& key, std::string_view account, std::string_view token);

}  // namespace parley::auth
