#include "tokenizer/byte_encoding.h"

#include "base/utf8.h"

namespace parley {

const ByteEncoding& ByteEncoding::get() {
  static const ByteEncoding instance;
  return instance;
}

ByteEncoding::ByteEncoding() {
  cp_to_byte_.fill(-1);
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const char32_t cp = printable ? static_cast<char32_t>(b) : next++;
    utf8_append(encoded_[b], cp);
    cp_to_byte_[cp] = static_cast<std::int16_t>(b);
  }
}

void ByteEncoding::encode(std::string_view raw, std::string* out) const {
  for (const char c : raw) out->append(encoded_[static_cast<std::uint8_t>(c)]);
}

int ByteEncoding::decode_code_point(char32_t cp) const {
  return cp < cp_to_byte_.size() ? cp_to_byte_[cp] : -1;
}

void ByteEncoding::decode(std::string_view text, std::string* out) const {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    const char32_t cp = utf8_decode(text, &pos);
    const int b = decode_code_point(cp);
    if (b >= 0) out->push_back(static_cast<char>(b));
    else out->append(text.substr(start, pos - start));
  }
}

}  // namespace parley
