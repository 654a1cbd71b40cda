// The byte-level BPE alphabet (GPT-2's "bytes to unicode"): every byte maps to one printable
// code point so that vocabularies can be stored as text. Printable Latin-1 bytes map to
// themselves; the other 68 bytes map, in order, to U+0100 and up.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace parley {

class ByteEncoding {
 public:
  static const ByteEncoding& get();

  // The UTF-8 text of the code point that stands for byte b.
  std::string_view encode_byte(std::uint8_t b) const { return encoded_[b]; }
  // Appends the encoding of every byte of `raw`.
  void encode(std::string_view raw, std::string* out) const;
  // The byte a code point stands for, or -1 when it is not in the alphabet.
  int decode_code_point(char32_t cp) const;
  // Decodes vocabulary text back to bytes. Code points outside the alphabet are copied as UTF-8.
  void decode(std::string_view text, std::string* out) const;

 private:
  ByteEncoding();
  std::array<std::string, 256> encoded_;
  std::array<std::int16_t, 324> cp_to_byte_{};  // code points 0..323 cover the whole alphabet
};

}  // namespace parley
