// StreamingDetokenizer: turns a stream of token ids into text as they are generated, never
// emitting a broken UTF-8 sequence. Bytes of a character that is split across tokens are held
// back until the character completes; bytes that can never form a valid character are emitted
// as U+FFFD. So every string it returns is valid UTF-8, and the concatenation of everything it
// returns equals the sanitized decode of the whole sequence (with options.drop_controls, without
// the control characters it drops: what an API returns and stores).
//
// One instance per sequence; not thread-safe. The tokenizer must outlive it.
#pragma once

#include <string>

#include "tokenizer/tokenizer.h"

namespace parley {

class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer, DecodeOptions options = {})
      : tokenizer_(tokenizer), options_(options) {}

  // Adds one token; returns the text that became complete (possibly empty).
  std::string push(TokenId id);

  // Ends the sequence: returns what was held back (an unfinished character becomes U+FFFD).
  std::string finish();

  // Bytes currently held back (0..3).
  std::size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer& tokenizer_;
  DecodeOptions options_;
  std::string pending_;
  bool at_start_ = true;
};

// `bytes` with every invalid UTF-8 sequence replaced by U+FFFD (one per maximal subpart, as
// Unicode recommends and WHATWG/Python do).
std::string sanitize_utf8(std::string_view bytes);

}  // namespace parley
