#include "tokenizer/detokenizer.h"

#include "base/utf8.h"

namespace parley {
namespace {

// Valid UTF-8 holds the bytes 0x00..0x7F only as the characters themselves, never inside a
// multi-byte sequence: dropping the bytes drops the characters.
void drop_controls(std::string& text) {
  std::erase_if(text, [](char c) { return is_dropped_control(static_cast<unsigned char>(c)); });
}

}  // namespace

std::string StreamingDetokenizer::push(TokenId id) {
  std::string piece = tokenizer_.token_piece(id, options_.render_special);
  if (at_start_ && !piece.empty()) {
    if (tokenizer_.strips_leading_space() && piece[0] == ' ') piece.erase(0, 1);
    at_start_ = false;
  }
  pending_ += piece;
  const std::size_t hold = utf8_incomplete_suffix_length(pending_);
  std::string out;
  utf8_append_sanitized(out, std::string_view(pending_).substr(0, pending_.size() - hold));
  pending_.erase(0, pending_.size() - hold);
  if (options_.drop_controls) drop_controls(out);
  return out;
}

std::string StreamingDetokenizer::finish() {
  std::string out;
  utf8_append_sanitized(out, pending_);
  pending_.clear();
  if (options_.drop_controls) drop_controls(out);
  return out;
}

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  utf8_append_sanitized(out, bytes);
  return out;
}

}  // namespace parley
