// An independent, brute-force reference for "replace each maximal invalid subpart with one
// U+FFFD" (Unicode ch. 3, "U+FFFD Substitution of Maximal Subparts"), built from the set of all
// proper prefixes of every valid encoding. Slow but obviously right; tests compare against it.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

#include "base/utf8.h"

namespace parley::utf8_reference {

// Every proper prefix (1..3 bytes) of the encoding of every Unicode scalar value.
inline const std::unordered_set<std::string>& proper_prefixes() {
  static const std::unordered_set<std::string> set = [] {
    std::unordered_set<std::string> s;
    for (char32_t cp = 0x80; cp <= 0x10FFFF; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      std::string enc;
      utf8_append(enc, cp);
      for (size_t k = 1; k < enc.size(); ++k) s.insert(enc.substr(0, k));
    }
    return s;
  }();
  return set;
}

// Length of the maximal subpart at the start of `s`, which does not start with a valid character:
// the longest prefix that could still begin a valid character, or 1 when none can.
inline size_t maximal_subpart_length(std::string_view s) {
  for (size_t k = std::min<size_t>(3, s.size()); k >= 1; --k) {
    if (proper_prefixes().count(std::string(s.substr(0, k))) != 0) return k;
  }
  return 1;
}

inline std::string sanitize(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const size_t n = utf8_valid_prefix_char_length(s.substr(i));
    if (n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      i += maximal_subpart_length(s.substr(i));
    }
  }
  return out;
}

}  // namespace parley::utf8_reference
