#include "base/utf8.h"

namespace parley {
namespace {

constexpr bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

// Valid range for the second byte, given the lead (RFC 3629 table 3-7).
constexpr bool second_byte_ok(unsigned char lead, unsigned char b) {
  if (lead == 0xE0) return b >= 0xA0 && b <= 0xBF;
  if (lead == 0xED) return b >= 0x80 && b <= 0x9F;  // no surrogates
  if (lead == 0xF0) return b >= 0x90 && b <= 0xBF;
  if (lead == 0xF4) return b >= 0x80 && b <= 0x8F;  // <= U+10FFFF
  return is_cont(b);
}

}  // namespace

size_t utf8_valid_prefix_char_length(std::string_view s) {
  if (s.empty()) return 0;
  const auto lead = static_cast<unsigned char>(s[0]);
  const size_t n = utf8_lead_length(lead);
  if (n == 0 || s.size() < n) return 0;
  if (n >= 2 && !second_byte_ok(lead, static_cast<unsigned char>(s[1]))) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (!is_cont(static_cast<unsigned char>(s[i]))) return 0;
  }
  return n;
}

size_t utf8_invalid_prefix_length(std::string_view s) {
  if (s.empty()) return 0;
  const auto lead = static_cast<unsigned char>(s[0]);
  const size_t n = utf8_lead_length(lead);
  if (n <= 1) return 1;
  size_t k = 1;
  if (k < s.size() && second_byte_ok(lead, static_cast<unsigned char>(s[k]))) {
    ++k;
    while (k < n && k < s.size() && is_cont(static_cast<unsigned char>(s[k]))) ++k;
  }
  return k < n ? k : 1;  // k == n would be a valid character; callers only ask about invalid ones
}

void utf8_append_sanitized(std::string& out, std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      out += s[i++];
      continue;
    }
    const size_t n = utf8_valid_prefix_char_length(s.substr(i));
    if (n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      utf8_append(out, kReplacementChar);
      i += utf8_invalid_prefix_length(s.substr(i));
    }
  }
}

bool utf8_is_valid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = utf8_valid_prefix_char_length(s.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

char32_t utf8_decode(std::string_view s, size_t* pos) {
  const std::string_view rest = s.substr(*pos);
  const size_t n = utf8_valid_prefix_char_length(rest);
  if (n == 0) {
    *pos += 1;
    return kReplacementChar;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(rest.data());
  char32_t cp = 0;
  switch (n) {
    case 1: cp = p[0]; break;
    case 2: cp = (char32_t(p[0] & 0x1F) << 6) | (p[1] & 0x3F); break;
    case 3: cp = (char32_t(p[0] & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F); break;
    default:
      cp = (char32_t(p[0] & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) | (char32_t(p[2] & 0x3F) << 6) |
           (p[3] & 0x3F);
  }
  *pos += n;
  return cp;
}

void utf8_append(std::string& out, char32_t cp) {
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = kReplacementChar;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

size_t utf8_incomplete_suffix_length(std::string_view s) {
  // Look back at most 3 bytes for a lead byte whose sequence runs past the end.
  const size_t look = s.size() < 3 ? s.size() : 3;
  for (size_t k = 1; k <= look; ++k) {
    const auto c = static_cast<unsigned char>(s[s.size() - k]);
    if (is_cont(c)) continue;
    const size_t n = utf8_lead_length(c);
    if (n <= k) return 0;  // ASCII, invalid lead, or a sequence that is already complete
    // The bytes present must be a valid beginning of that sequence.
    const std::string_view tail = s.substr(s.size() - k);
    if (k >= 2 && !second_byte_ok(c, static_cast<unsigned char>(tail[1]))) return 0;
    return k;
  }
  return 0;
}

}  // namespace parley
