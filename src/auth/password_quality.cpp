// Why not libpwquality's own dictionary check (PWQ_SETTING_DICT_CHECK): it calls cracklib's
// FascistCheck(), which also compares the password with the passwd entry of the *server
// process's* uid and refuses every password when that uid has none (a container running as an
// arbitrary uid: "you are not registered in the password file"). So libpwquality runs with the
// dictionary check off, and cracklib's FascistCheckUser() is called here with the account's own
// name. cracklib is not thread-safe (its mangling rules return static buffers): one mutex
// serializes it. libpwquality without the dictionary check keeps no shared state; each call
// gets its own settings object.
#include "auth/password_quality.h"

// clang-format off
#include <stddef.h>  // before crack.h, which uses size_t without including it
#include <crack.h>
// clang-format on
#include <pwquality.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <string>

#include "base/check.h"
#include "base/log.h"

namespace parley::auth {
namespace {

std::mutex cracklib_mu;

Status weak(std::string_view reason) {
  return invalid_argument_error("password is too easy to guess: {}; a few unrelated words make a strong one", reason)
      .with_detail("param", "password")
      .with_detail("code", std::string(kWeakPasswordCode));
}

using PwqSettings = std::unique_ptr<pwquality_settings_t, decltype(&pwquality_free_settings)>;

// Every setting that matters, explicitly: /etc/security/pwquality.conf is never read.
PwqSettings make_settings(const std::string& bad_words) {
  PwqSettings s(pwquality_default_settings(), &pwquality_free_settings);
  CHECK(s != nullptr, "pwquality_default_settings: out of memory");
  const std::pair<int, int> ints[] = {
      {PWQ_SETTING_MIN_LENGTH, static_cast<int>(kPasswordCharsMin)},  // bytes >= characters: ours is stricter
      {PWQ_SETTING_DIG_CREDIT, 0},                                    // no composition rules (NIST SP 800-63B)
      {PWQ_SETTING_UP_CREDIT, 0},
      {PWQ_SETTING_LOW_CREDIT, 0},
      {PWQ_SETTING_OTH_CREDIT, 0},
      {PWQ_SETTING_MIN_CLASS, 0},
      {PWQ_SETTING_MAX_REPEAT, 0},  // cracklib refuses fewer than 5 different characters
      {PWQ_SETTING_MAX_CLASS_REPEAT, 0},
      {PWQ_SETTING_MAX_SEQUENCE, 0},  // cracklib refuses "too systematic" runs
      {PWQ_SETTING_DIFF_OK, 3},       // a word within 2 edits of the password counts as contained
      {PWQ_SETTING_DICT_CHECK, 0},    // cracklib is called directly (top of this file)
      {PWQ_SETTING_GECOS_CHECK, 0},   // never read /etc/passwd
      {PWQ_SETTING_USER_CHECK, 1},    // the e-mail's name part
      {PWQ_SETTING_USER_SUBSTR, 0},   // the whole name part, not its substrings
  };
  for (const auto& [setting, value] : ints) {
    CHECK(pwquality_set_int_value(s.get(), setting, value) == 0, "pwquality setting {} = {}", setting, value);
  }
  if (!bad_words.empty()) {
    CHECK(pwquality_set_str_value(s.get(), PWQ_SETTING_BAD_WORDS, bad_words.c_str()) == 0, "pwquality bad words");
  }
  return s;
}

Status pwquality_verdict(int rc, void* aux) {
  switch (rc) {
    case PWQ_ERROR_USER_CHECK:
      return weak("it contains your e-mail address");
    case PWQ_ERROR_BAD_WORDS:
      return weak("it contains your e-mail address or your name");
    case PWQ_ERROR_PALINDROME:
      return weak("it reads the same backwards");
    case PWQ_ERROR_MEM_ALLOC:
      return resource_exhausted_error("out of memory while checking the password");
    default: {
      char buf[PWQ_MAX_ERROR_MESSAGE_LEN];
      return weak(pwquality_strerror(buf, sizeof buf, rc, aux));
    }
  }
}

// cracklib's reasons, reworded where they speak of Unix accounts.
std::string_view cracklib_reason(std::string_view msg) {
  if (msg.find("username") != std::string_view::npos) return "it is based on your e-mail address";
  if (msg.find("password entry") != std::string_view::npos) return "it is based on your name";
  return msg;
}

// cracklib's rules undo some decorations of a dictionary word but not a symbol-and-digits tail
// or '@' for 'a' ("P@ssw0rd", "Password123!", both among the most common passwords): the word
// itself is looked up too. Only the "dictionary word" verdict counts for it.
constexpr std::size_t kCoreBytesMin = 6;  // cracklib's own minimum

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Non-letters cut from both ends, then common letter substitutions undone and lowered.
std::string undecorated(std::string_view password) {
  const auto ascii_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  while (!password.empty() && !ascii_letter(password.front())) password.remove_prefix(1);
  while (!password.empty() && !ascii_letter(password.back())) password.remove_suffix(1);
  std::string core = ascii_lower(password);
  constexpr std::string_view kFrom = "@431!0$57", kTo = "aaeiiosst";
  for (char& c : core) {
    if (const std::size_t k = kFrom.find(c); k != std::string_view::npos) c = kTo[k];
  }
  return core;
}

// Trimmed and ASCII-lowered: libpwquality lowers both sides itself, cracklib only the password.
std::string email_for_checks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return ascii_lower(s);
}

Status check_dictionary_locked(const char* dict) {
  const std::string base(dict);
  if (access((base + ".pwd").c_str(), R_OK) == 0 && access((base + ".pwi").c_str(), R_OK) == 0) return ok_status();
  static std::once_flag logged;
  std::call_once(logged, [&] {
    log_error(
        "the password dictionary {}.pwd/.pwi cannot be read: install cracklib-runtime (scripts/setup); "
        "new passwords are refused until it is there",
        base);
  });
  return internal_error(
      "the server cannot check new passwords (its password dictionary is missing); tell its administrator");
}

}  // namespace

Status check_cracklib_dictionary() {
  std::lock_guard<std::mutex> lock(cracklib_mu);
  return check_dictionary_locked(GetDefaultCracklibDict());
}

Status check_password_quality(std::string_view plaintext, const PasswordOwner& owner) {
  const std::string password(plaintext);
  const std::string email = email_for_checks(owner.email);
  const std::string user = email.substr(0, email.rfind('@'));  // the whole address when there is no '@'
  const std::string name(owner.display_name);
  std::string bad_words = email;
  if (!name.empty()) bad_words += (bad_words.empty() ? "" : " ") + name;

  const PwqSettings settings = make_settings(bad_words);
  void* aux = nullptr;
  const int rc =
      pwquality_check(settings.get(), password.c_str(), nullptr, user.empty() ? nullptr : user.c_str(), &aux);
  if (rc < 0) return pwquality_verdict(rc, aux);

  const std::string core = undecorated(password);
  std::lock_guard<std::mutex> lock(cracklib_mu);
  const char* dict = GetDefaultCracklibDict();
  RETURN_IF_ERROR(check_dictionary_locked(dict));
  // With a user name given (even ""), cracklib compares with it and `name` instead of the passwd
  // entry of the process.
  if (const char* msg = FascistCheckUser(password.c_str(), dict, user.c_str(), name.c_str())) {
    return weak(cracklib_reason(msg));
  }
  if (core.size() >= kCoreBytesMin && core != ascii_lower(password)) {
    const char* msg = FascistCheckUser(core.c_str(), dict, "", "");
    if (msg != nullptr && std::string_view(msg).find("dictionary word") != std::string_view::npos) {
      return weak("it is a dictionary word with a few characters replaced or added");
    }
  }
  return ok_status();
}

}  // namespace parley::auth
