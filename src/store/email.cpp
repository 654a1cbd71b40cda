#include "store/email.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <optional>

#include "base/check.h"
#include "store/store.h"
#include "store/validation.h"

namespace parley::store {
namespace {

// What log-in accepts before trimming: the address plus some white space around it.
constexpr std::size_t kMaxEmailInputBytes = 4 * kMaxEmailBytes;

std::optional<std::u16string> to_utf16(std::string_view s) {
  UErrorCode st = U_ZERO_ERROR;
  int32_t n = 0;
  u_strFromUTF8(nullptr, 0, &n, s.data(), static_cast<int32_t>(s.size()), &st);
  if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st)) return std::nullopt;  // invalid UTF-8
  std::u16string out(static_cast<std::size_t>(n), u'\0');
  st = U_ZERO_ERROR;
  u_strFromUTF8(out.data(), n, nullptr, s.data(), static_cast<int32_t>(s.size()), &st);
  if (U_FAILURE(st)) return std::nullopt;
  return out;
}

std::string to_utf8(std::u16string_view s) {
  UErrorCode st = U_ZERO_ERROR;
  int32_t n = 0;
  u_strToUTF8(nullptr, 0, &n, s.data(), static_cast<int32_t>(s.size()), &st);
  std::string out(static_cast<std::size_t>(n), '\0');
  st = U_ZERO_ERROR;
  u_strToUTF8(out.data(), n, nullptr, s.data(), static_cast<int32_t>(s.size()), &st);
  CHECK(U_SUCCESS(st), "UTF-16 -> UTF-8 of well-formed text: {}", u_errorName(st));
  return out;
}

std::u16string_view trim_white_space(std::u16string_view s) {
  const auto len = static_cast<int32_t>(s.size());
  int32_t begin = 0;
  while (begin < len) {
    int32_t next = begin;
    UChar32 c = 0;
    U16_NEXT(s.data(), next, len, c);
    if (!u_isUWhiteSpace(c)) break;
    begin = next;
  }
  int32_t end = len;
  while (end > begin) {
    int32_t prev = end;
    UChar32 c = 0;
    U16_PREV(s.data(), begin, prev, c);
    if (!u_isUWhiteSpace(c)) break;
    end = prev;
  }
  return s.substr(static_cast<std::size_t>(begin), static_cast<std::size_t>(end - begin));
}

std::u16string nfkc_casefold(std::u16string_view s) {
  UErrorCode st = U_ZERO_ERROR;
  const UNormalizer2* nfkc_cf = unorm2_getNFKCCasefoldInstance(&st);
  CHECK(U_SUCCESS(st), "ICU NFKC_Casefold data: {}", u_errorName(st));
  const int32_t n = unorm2_normalize(nfkc_cf, s.data(), static_cast<int32_t>(s.size()), nullptr, 0, &st);
  std::u16string out(static_cast<std::size_t>(n), u'\0');
  st = U_ZERO_ERROR;
  unorm2_normalize(nfkc_cf, s.data(), static_cast<int32_t>(s.size()), out.data(), n, &st);
  CHECK(U_SUCCESS(st), "NFKC_Casefold of well-formed text: {}", u_errorName(st));
  return out;
}

// A code point that has no business in an address someone reads: invisible, a space, or one
// whose normalization a later Unicode version may define differently (unassigned).
bool unfit_for_address(UChar32 c) {
  switch (u_charType(c)) {
    case U_UNASSIGNED:
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE:
    case U_SPACE_SEPARATOR:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
      return true;
    default:
      return u_isUWhiteSpace(c) != 0;
  }
}

const USpoofChecker* spoof_checker() {
  // Made once, never changed: ICU's functions on a const USpoofChecker are thread-safe.
  static const USpoofChecker* const checker = [] {
    UErrorCode st = U_ZERO_ERROR;
    USpoofChecker* sc = uspoof_open(&st);
    CHECK(U_SUCCESS(st), "ICU spoof checker: {}", u_errorName(st));
    return sc;
  }();
  return checker;
}

}  // namespace

std::string normalize_email(std::string_view email) {
  if (email.size() > kMaxEmailInputBytes) return {};
  const std::optional<std::u16string> wide = to_utf16(email);
  if (!wide) return {};
  return to_utf8(nfkc_casefold(trim_white_space(*wide)));
}

std::string email_skeleton(std::string_view normalized) {
  UErrorCode st = U_ZERO_ERROR;
  const auto len = static_cast<int32_t>(normalized.size());
  const int32_t n = uspoof_getSkeletonUTF8(spoof_checker(), 0, normalized.data(), len, nullptr, 0, &st);
  if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st)) return {};  // invalid UTF-8
  std::string out(static_cast<std::size_t>(n), '\0');
  st = U_ZERO_ERROR;
  uspoof_getSkeletonUTF8(spoof_checker(), 0, normalized.data(), len, out.data(), n, &st);
  if (U_FAILURE(st)) return {};
  return out;
}

Result<EmailForms> normalize_new_email(std::string_view email) {
  RETURN_IF_ERROR(check_text("email", email, kMaxEmailInputBytes, false));
  const std::u16string folded = nfkc_casefold(trim_white_space(*to_utf16(email)));
  for (int32_t i = 0; i < static_cast<int32_t>(folded.size());) {
    UChar32 c = 0;
    U16_NEXT(folded.data(), i, static_cast<int32_t>(folded.size()), c);
    if (unfit_for_address(c)) {
      return invalid_argument_error("the email address contains a space, an invisible or an unassigned character")
          .with_detail("param", "email");
    }
  }
  EmailForms forms;
  forms.normalized = to_utf8(folded);
  RETURN_IF_ERROR(check_email(forms.normalized));
  forms.skeleton = email_skeleton(forms.normalized);
  CHECK(!forms.skeleton.empty(), "skeleton of a valid address");
  return forms;
}

}  // namespace parley::store
