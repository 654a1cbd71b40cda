// ContentMask: keeps control-token texts in untrusted strings from becoming control tokens when
// the strings are embedded in a prompt whose own markup is tokenized with parse_special (a chat
// template's rendering: "<|im_start|>user\n" + content + "<|im_end|>").
//
// Before rendering, mask() replaces one character of every place in an untrusted string where a
// control token could begin with a placeholder: a code point (a Unicode noncharacter, or a
// private-use one) chosen per render so that it occurs in none of the inputs and in no special
// token. Those places are every control-token occurrence in the string, and every tail of the
// string (and of its whitespace-trimmed form: templates write `content | trim`) that is the start
// of a control token, which template text or the next string could complete. A placeholder is
// in no token, so no control token can begin in untrusted text. After rendering,
// Tokenizer::encode (EncodeOptions::content_mask) matches special tokens as usual, then unmasks
// each plain fragment and encodes it as plain text: the bytes are those Hugging Face renders, and
// only template-written markup becomes control tokens. A placeholder replaces one character with
// one, so lengths and slices of the strings stay the same, and strings without control-token
// text are left unchanged: benign conversations render and tokenize exactly as before.
//
// A control token that template text begins belongs to the template, even when a string
// completes it: some templates compose markup from validated fields ('<|' + role + '|>').
//
// Only control (and unknown) tokens are masked: user-defined tokens are matched in any text, as
// Hugging Face matches added tokens.
//
// What it cannot see: a template that transforms content into control text (e.g. `| upper` of
// "<|IM_START|>") or joins slices of two strings. Real templates print, trim, split and tojson
// content, which all keep placeholders.
//
// Thread safety: ControlTexts is immutable (one per tokenizer); a ContentMask belongs to one render.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "tokenizer/token_trie.h"
#include "tokenizer/vocab.h"

namespace parley {

class Tokenizer;

// The texts of a vocabulary's control and unknown tokens (those matched in text only with
// parse_special), indexed to find where an untrusted string could form one.
class ControlTexts {
 public:
  explicit ControlTexts(const Vocab& vocab);
  ControlTexts(const ControlTexts&) = delete;
  ControlTexts& operator=(const ControlTexts&) = delete;

  bool empty() const { return n_texts_ == 0; }
  // Byte offsets (sorted, distinct) of the characters of `s` to mask: see ContentMask.
  void mask_positions(std::string_view s, std::vector<std::size_t>* out) const;
  // Placeholder candidates (code points) that occur in some special token's text.
  const std::vector<char32_t>& reserved() const { return reserved_; }

 private:
  // Adds offset + p for each p where s[p..] is a proper prefix of a control token.
  void tail_positions(std::string_view s, std::size_t offset, std::vector<std::size_t>* out) const;

  TokenTrie trie_;
  std::size_t n_texts_ = 0;
  std::size_t length_max_ = 0;
  std::vector<char32_t> reserved_;
};

class ContentMask {
 public:
  ContentMask() = default;  // masks nothing

  // A mask for one render. `inputs`: every string that can reach the rendering (the untrusted
  // strings, the template's source); placeholders are chosen among code points none of them
  // contains.
  static ContentMask create(const Tokenizer& tokenizer, std::span<const std::string_view> inputs);

  // Sets *out to `s` masked and returns true, or returns false (leaving *out) when `s` needs no
  // masking. kInvalidArgument when the inputs use every placeholder candidate (over 130,000
  // private-use code points: only a hostile request does).
  Result<bool> mask(std::string_view s, std::string* out);

  // True when mask() changed some string.
  bool masked_any() const { return !placeholders_.empty(); }
  // True when `s` contains a placeholder.
  bool has_placeholder(std::string_view s) const;
  // Appends `s` with every placeholder replaced by the bytes it masks.
  void unmask(std::string_view s, std::string* out) const;
  // The size of `s` once unmasked.
  std::size_t unmasked_size(std::string_view s) const;

 private:
  // The placeholder of `original` (one character, or one invalid byte), assigned on first use.
  Result<char32_t> placeholder_for(std::string_view original);
  // The index in placeholders_ of code point `cp`, or -1.
  std::ptrdiff_t find_placeholder(char32_t cp) const;
  template <typename F>
  void for_each_placeholder(std::string_view s, F&& f) const;

  const ControlTexts* texts_ = nullptr;
  std::vector<char32_t> taken_;         // candidates the inputs use (sorted)
  std::size_t next_candidate_ = 0;      // candidates before it are used or taken
  std::vector<char32_t> placeholders_;  // in increasing order
  std::vector<std::string> originals_;  // placeholders_[i] masks originals_[i]
};

}  // namespace parley
