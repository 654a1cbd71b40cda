// The quality half of validate_password (auth/password.h): libpwquality's checks against the
// owner's e-mail address and name, and cracklib's dictionary check. Internal to src/auth.
#pragma once

#include <string_view>

#include "auth/password.h"
#include "base/status.h"

namespace parley::auth {

inline constexpr std::string_view kWeakPasswordCode = "weak_password";

// `plaintext` has passed the form checks (valid UTF-8 without NUL, 8..kPasswordBytesMax). OK, or
// kInvalidArgument with param "password" and code "weak_password"; kInternal when the dictionary
// cannot be read. Thread-safe: the cracklib part runs under a process-wide mutex.
Status check_password_quality(std::string_view plaintext, const PasswordOwner& owner);

// OK when cracklib's dictionary (GetDefaultCracklibDict(): .pwd and .pwi) can be read.
Status check_cracklib_dictionary();

}  // namespace parley::auth
