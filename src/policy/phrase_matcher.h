// PhraseMatcher: many byte strings found at once in one pass (Aho-Corasick, compiled to a DFA).
//
// Built once from the normalized phrases of every phrase rule (TextNormalizer). The automaton is a
// full transition table over byte classes (bytes that no phrase uses share one class), so a scan
// costs one table load per input byte whatever the number of phrases, and allocates nothing.
// Every occurrence is reported, overlapping ones included, in the order of their end.
//
// Thread safety: immutable after build(); scan() may run on any number of threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace parley::policy {

class PhraseMatcher {
 public:
  // The automaton may take at most this much memory (the config load fails beyond).
  static constexpr std::size_t kMaxTableBytes = std::size_t{256} << 20;

  // Pattern i of the result is patterns[i]; empty patterns are refused (kInvalidArgument).
  static Result<PhraseMatcher> build(const std::vector<std::string>& patterns);

  PhraseMatcher() = default;

  // Calls on_match(pattern, end) for every occurrence of a pattern ending at byte `end` of text
  // (exclusive). on_match returns false to stop the scan. Returns how many bytes at the end of
  // text are the start of some pattern (the longest such suffix): what a stream must hold back.
  template <typename F>
  std::size_t scan(std::string_view text, F&& on_match) const {
    if (states_ == 0) return 0;
    std::uint32_t s = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      s = next_[static_cast<std::size_t>(s) * n_classes_ + byte_class_[static_cast<unsigned char>(text[i])]];
      for (std::uint32_t o = out_state_[s]; o != kNone; o = out_link_[o]) {
        for (std::uint32_t k = out_begin_[o]; k < out_begin_[o + 1]; ++k) {
          if (!on_match(out_patterns_[k], i + 1)) return 0;
        }
      }
    }
    return depth_[s];
  }

  std::size_t pattern_count() const { return pattern_lengths_.size(); }
  std::size_t pattern_length(std::uint32_t pattern) const { return pattern_lengths_[pattern]; }
  std::size_t longest_pattern() const { return longest_; }
  std::size_t state_count() const { return states_; }
  std::size_t memory_bytes() const;

 private:
  static constexpr std::uint32_t kNone = 0xFFFFFFFF;

  std::uint8_t byte_class_[256] = {};
  std::uint32_t n_classes_ = 0;
  std::uint32_t states_ = 0;
  std::vector<std::uint32_t> next_;       // [states_ * n_classes_]
  std::vector<std::uint32_t> out_state_;  // per state: itself if it ends a pattern, else the
                                          // nearest state on its failure chain that does, or kNone
  std::vector<std::uint32_t> out_link_;   // per state: the next such state down the chain
  std::vector<std::uint32_t> out_begin_;  // per state + 1: its patterns in out_patterns_
  std::vector<std::uint32_t> out_patterns_;
  std::vector<std::uint32_t> depth_;  // per state: bytes from the root
  std::vector<std::uint32_t> pattern_lengths_;
  std::size_t longest_ = 0;
};

}  // namespace parley::policy
