// PreTokenizer: splits text into the words that byte-level BPE merges within, using the regex
// rules named by the GGUF key `tokenizer.ggml.pre` (llama-bpe, qwen2, gpt-2, deepseek-llm, ...).
//
// A rule set is a list of regexes applied in turn: the first splits the text into matches and
// the gaps between them (both kept), the next splits each of those pieces, and so on. No byte
// of the input is ever dropped. Regexes run on PCRE2 (UTF + Unicode properties, JIT); input
// that is not valid UTF-8 is split too (invalid bytes simply never match a character class).
//
// Thread safety: immutable after creation; split() may be called from many threads at once.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace parley {

class PreTokenizer {
 public:
  // The rule set for a `tokenizer.ggml.pre` name; "" or "default" gives the generic BPE rules.
  // An unknown name is an error that lists the supported ones.
  static Result<std::unique_ptr<PreTokenizer>> for_name(std::string_view name);
  // A rule set from explicit regexes (PCRE2 syntax).
  static Result<std::unique_ptr<PreTokenizer>> from_regexes(std::span<const std::string_view> regexes);

  // Names for_name() accepts.
  static std::vector<std::string_view> known_names();

  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Appends the pieces of `text` (views into it, in order, covering all of it) to `out`.
  void split(std::string_view text, std::vector<std::string_view>* out) const;

 private:
  struct Regex;
  PreTokenizer() = default;
  std::vector<std::unique_ptr<Regex>> regexes_;
};

}  // namespace parley
