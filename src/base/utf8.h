// UTF-8 helpers used by parsers (GGUF keys), the tokenizers and the streaming detokenizer.
// Validity follows RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace parley {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Length of the sequence announced by a lead byte: 1..4, or 0 for a byte that cannot start one.
constexpr size_t utf8_lead_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;  // continuation byte or overlong 2-byte lead
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF5) return 4;
  return 0;
}

// Length of the valid character at the start of `s`, or 0 when `s` does not start with one
// (empty, invalid, or truncated).
size_t utf8_valid_prefix_char_length(std::string_view s);

// For `s` that does not start with a valid character: how many bytes form its "maximal subpart"
// (1..3), the unit that Unicode's recommended practice (and WHATWG, Python) replaces with one
// U+FFFD. E.g. a truncated 4-byte sequence F0 9F 99 is one unit; C0 AF is two.
size_t utf8_invalid_prefix_length(std::string_view s);

// Appends `s` with every maximal invalid subpart replaced by U+FFFD.
void utf8_append_sanitized(std::string& out, std::string_view s);

// True when the whole of `s` is valid UTF-8.
bool utf8_is_valid(std::string_view s);

// Decodes the character at s[*pos] and advances *pos. An invalid or truncated sequence yields
// U+FFFD and advances by one byte, so every byte is consumed exactly once.
char32_t utf8_decode(std::string_view s, size_t* pos);

// Appends the UTF-8 encoding of `cp` (U+FFFD for a surrogate or a value above U+10FFFF).
void utf8_append(std::string& out, char32_t cp);

// How many bytes at the end of `s` form the start of a character that is not complete yet but
// could still become valid with more bytes (0..3). The streaming detokenizer holds these back.
size_t utf8_incomplete_suffix_length(std::string_view s);

}  // namespace parley
