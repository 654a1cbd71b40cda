// TextNormalizer: the form in which phrase rules are matched, with a map back to the original.
//
// Each code point of the input is mapped on its own (so the map from normalized bytes back to
// original bytes is exact, and the normalization of a concatenation is the concatenation of the
// normalizations, which the streaming filter relies on):
//
//   1. NFKC_Casefold (ICU): compatibility forms (fullwidth, ligatures, math alphanumerics) and case;
//      default-ignorable code points (U+200B ZERO WIDTH SPACE, U+200D, U+00AD SOFT HYPHEN, U+FEFF,
//      variation selectors, tags) map to nothing;
//   2. the UTS #39 confusable skeleton (ICU uspoof, shared with store/email.h): Cyrillic 'а' -> 'a',
//      Greek 'ο' -> 'o', '0' -> 'o', '1' -> 'l', '|' -> 'l' ...; then simple case folding again;
//   3. combining marks (general category Mn) removed, so 'é' (precomposed or not) -> 'e';
//   4. white space (and C0 controls) -> one ' ', and runs of them collapse into one.
//
// The table behind steps 1-3 is computed once per process (the first TextNormalizer::instance()
// call, about 0.1 s) for every assigned code point outside the CJK ideograph and Hangul syllable
// blocks and the private-use planes, which map to themselves.
//
// Thread safety: instance() and every const method may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace parley::policy {

// Normalized text with, for every byte of it, the original bytes [src_begin, src_end) of the code
// point (or the run of white space) it came from. Reused across calls: clear() keeps capacity.
struct NormalizedText {
  std::string text;
  std::vector<std::uint32_t> src_begin;
  std::vector<std::uint32_t> src_end;

  void clear() {
    text.clear();
    src_begin.clear();
    src_end.clear();
  }
  // The original bytes that the normalized bytes [begin, end) (end > begin) came from.
  std::uint32_t original_begin(std::size_t begin) const { return src_begin[begin]; }
  std::uint32_t original_end(std::size_t end) const { return src_end[end - 1]; }
};

class TextNormalizer {
 public:
  static const TextNormalizer& instance();

  // Appends the normalization of `s` (bytes at `base` + i in the original) to `out`. Invalid UTF-8
  // bytes are kept as they are (each maps to itself), so nothing is lost from the offset map.
  void normalize(std::string_view s, std::uint32_t base, NormalizedText* out) const;

  // The normalized form of a configured phrase: normalize() with leading and trailing white space
  // removed.
  std::string normalize_phrase(std::string_view phrase) const;

  // The mapping of one code point: nullptr when it maps to itself; else its bytes (possibly empty).
  const std::string* mapping(char32_t cp) const;

  // True for a code point that is a letter or a digit (word boundaries of phrases).
  static bool is_word_char(char32_t cp);

 private:
  TextNormalizer();

  // ASCII, the common case: the mapped byte (0: see pages_, which holds the longer ones).
  char ascii_[128] = {};
  // Pages of 256 code points; each entry is 0 (identity) or 1 + an index into mapped_.
  std::vector<std::vector<std::uint32_t>> pages_;
  std::vector<std::string> mapped_;
};

}  // namespace parley::policy
