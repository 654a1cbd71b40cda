#include "tokenizer/detokenizer.h"

#include "base/utf8.h"

namespace parley {
namespace {

// Appends the valid characters of `bytes` to `out`, invalid bytes as U+FFFD.
void append_sanitized(std::string_view bytes, std::string* out) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    if (static_cast<unsigned char>(bytes[i]) < 0x80) {
      out->push_back(bytes[i++]);
      continue;
    }
    const std::size_t n = utf8_valid_prefix_char_length(bytes.substr(i));
    if (n == 0) {
      utf8_append(*out, kReplacementChar);
      ++i;
    } else {
      out->append(bytes.substr(i, n));
      i += n;
    }
  }
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
  append_sanitized(std::string_view(pending_).substr(0, pending_.size() - hold), &out);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StreamingDetokenizer::finish() {
  std::string out;
  append_sanitized(pending_, &out);
  pending_.clear();
  return out;
}

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_sanitized(bytes, &out);
  return out;
}

}  // namespace parley
