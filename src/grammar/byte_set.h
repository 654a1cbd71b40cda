// ByteSet: a set of byte values (256 bits), the terminal of every grammar. Plain value type.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace parley {

class ByteSet {
 public:
  constexpr ByteSet() = default;
  static constexpr ByteSet of(std::uint8_t b) {
    ByteSet s;
    s.set(b);
    return s;
  }
  static constexpr ByteSet range(std::uint8_t lo, std::uint8_t hi) {
    ByteSet s;
    s.set_range(lo, hi);
    return s;
  }
  static constexpr ByteSet all() { return range(0, 255); }

  constexpr void set(std::uint8_t b) { words_[b >> 6] |= std::uint64_t{1} << (b & 63); }
  constexpr void reset(std::uint8_t b) { words_[b >> 6] &= ~(std::uint64_t{1} << (b & 63)); }
  constexpr void set_range(std::uint8_t lo, std::uint8_t hi) {
    for (unsigned b = lo; b <= hi; ++b) set(static_cast<std::uint8_t>(b));
  }
  constexpr bool test(std::uint8_t b) const { return (words_[b >> 6] >> (b & 63)) & 1; }
  constexpr bool empty() const { return (words_[0] | words_[1] | words_[2] | words_[3]) == 0; }
  constexpr int count() const {
    return std::popcount(words_[0]) + std::popcount(words_[1]) + std::popcount(words_[2]) + std::popcount(words_[3]);
  }
  constexpr ByteSet& operator|=(const ByteSet& o) {
    for (int i = 0; i < 4; ++i) words_[i] |= o.words_[i];
    return *this;
  }
  constexpr ByteSet& operator&=(const ByteSet& o) {
    for (int i = 0; i < 4; ++i) words_[i] &= o.words_[i];
    return *this;
  }
  constexpr ByteSet operator~() const {
    ByteSet s;
    for (int i = 0; i < 4; ++i) s.words_[i] = ~words_[i];
    return s;
  }
  friend constexpr ByteSet operator|(ByteSet a, const ByteSet& b) { return a |= b; }
  friend constexpr ByteSet operator&(ByteSet a, const ByteSet& b) { return a &= b; }
  friend constexpr bool operator==(const ByteSet&, const ByteSet&) = default;
  const std::array<std::uint64_t, 4>& words() const { return words_; }
  // Calls f(byte) for every byte of the set, in increasing order.
  template <typename F>
  constexpr void for_each(F&& f) const {
    for (int i = 0; i < 4; ++i) {
      for (std::uint64_t w = words_[i]; w != 0; w &= w - 1) f(static_cast<std::uint8_t>(i * 64 + std::countr_zero(w)));
    }
  }

 private:
  std::array<std::uint64_t, 4> words_{};
};

}  // namespace parley
