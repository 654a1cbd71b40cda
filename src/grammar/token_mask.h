// TokenMask: a set of token ids as a bitset over the vocabulary (bit t of word t / 64), the
// output of a grammar matcher and the input of the sampler (Sampler::sample takes its words).
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <span>
#include <vector>

namespace parley {

class TokenMask {
 public:
  TokenMask() = default;
  explicit TokenMask(std::int32_t n_tokens) { resize(n_tokens); }

  void resize(std::int32_t n_tokens) {
    n_tokens_ = n_tokens;
    words_.assign((static_cast<std::size_t>(n_tokens) + 63) / 64, 0);
  }
  std::int32_t n_tokens() const { return n_tokens_; }
  void clear() { std::fill(words_.begin(), words_.end(), 0); }
  void set(std::int32_t t) { words_[static_cast<std::size_t>(t) >> 6] |= std::uint64_t{1} << (t & 63); }
  void reset(std::int32_t t) { words_[static_cast<std::size_t>(t) >> 6] &= ~(std::uint64_t{1} << (t & 63)); }
  bool test(std::int32_t t) const { return (words_[static_cast<std::size_t>(t) >> 6] >> (t & 63)) & 1; }
  TokenMask& operator|=(const TokenMask& o) {
    for (std::size_t i = 0; i < words_.size(); ++i) words_[i] |= o.words_[i];
    return *this;
  }
  std::int64_t count() const {
    std::int64_t n = 0;
    for (const std::uint64_t w : words_) n += std::popcount(w);
    return n;
  }
  bool none() const {
    return std::all_of(words_.begin(), words_.end(), [](std::uint64_t w) { return w == 0; });
  }
  // Calls f(token) for every token in the set, in increasing order.
  template <typename F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < words_.size(); ++i) {
      for (std::uint64_t w = words_[i]; w != 0; w &= w - 1) f(static_cast<std::int32_t>(i * 64 + std::countr_zero(w)));
    }
  }
  std::span<const std::uint64_t> words() const { return words_; }
  std::span<std::uint64_t> words() { return words_; }
  friend bool operator==(const TokenMask&, const TokenMask&) = default;

 private:
  std::int32_t n_tokens_ = 0;
  std::vector<std::uint64_t> words_;
};

}  // namespace parley
