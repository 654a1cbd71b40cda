#include "grammar/json_scalars.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace parley {
namespace {

using U64 = std::uint64_t;
constexpr U64 kMaxMagnitude = 9'999'999'999'999'999'999ull;  // 19 digits

ExprId digit(Grammar& g) {
  return g.bytes(ByteSet::range('0', '9'));
}
ExprId digits(Grammar& g, int n) {
  return g.repeat(digit(g), n, n);
}

// Decimal strings of equal length, lo <= hi: every string between them.
ExprId same_length(Grammar& g, const std::string& lo, const std::string& hi) {
  const std::size_t n = lo.size();
  if (n == 0) return g.empty();
  if (lo == hi) return g.literal(lo);
  if (lo[0] == hi[0])
    return g.seq({g.byte(static_cast<std::uint8_t>(lo[0])), same_length(g, lo.substr(1), hi.substr(1))});
  const bool lo_zeros = lo.find_first_not_of('0', 1) == std::string::npos;
  const bool hi_nines = hi.find_first_not_of('9', 1) == std::string::npos;
  std::vector<ExprId> branches;
  if (!lo_zeros) {
    branches.push_back(
        g.seq({g.byte(static_cast<std::uint8_t>(lo[0])), same_length(g, lo.substr(1), std::string(n - 1, '9'))}));
  }
  const char first = lo_zeros ? lo[0] : static_cast<char>(lo[0] + 1);
  const char last = hi_nines ? hi[0] : static_cast<char>(hi[0] - 1);
  if (first <= last) {
    branches.push_back(
        g.seq({g.bytes(ByteSet::range(static_cast<std::uint8_t>(first), static_cast<std::uint8_t>(last))),
               digits(g, static_cast<int>(n - 1))}));
  }
  if (!hi_nines) {
    branches.push_back(
        g.seq({g.byte(static_cast<std::uint8_t>(hi[0])), same_length(g, std::string(n - 1, '0'), hi.substr(1))}));
  }
  return g.alt(std::move(branches));
}

U64 pow10(int n) {
  U64 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

int n_digits(U64 v) {
  return static_cast<int>(std::to_string(v).size());
}

// Non-negative integers in [lo, hi] written without leading zeros; hi absent: up to 19 digits.
ExprId uint_range(Grammar& g, U64 lo, std::optional<U64> hi) {
  const U64 top = hi ? std::min(*hi, kMaxMagnitude) : kMaxMagnitude;
  std::vector<ExprId> branches;
  for (int len = n_digits(lo); len <= n_digits(top); ++len) {
    const U64 a = std::max(lo, len == 1 ? U64{0} : pow10(len - 1));
    const U64 b = std::min(top, len == kJsonIntDigitsMax ? kMaxMagnitude : pow10(len) - 1);
    if (a > b) continue;
    // A long unbounded tail is one piece: [1-9][0-9]{len-1} for whole lengths.
    branches.push_back(same_length(g, std::to_string(a), std::to_string(b)));
  }
  return branches.empty() ? g.bytes(ByteSet()) : g.alt(std::move(branches));
}

ExprId fraction(Grammar& g) {
  return g.seq({g.byte('.'), g.repeat(digit(g), 1, kJsonFracDigitsMax)});
}
ExprId zero_fraction(Grammar& g) {
  return g.seq({g.byte('.'), g.repeat(g.byte('0'), 1, kJsonFracDigitsMax)});
}
ExprId nonzero_fraction(Grammar& g) {
  return g.seq({g.byte('.'), g.repeat(digit(g), 0, kJsonFracDigitsMax - 1), g.bytes(ByteSet::range('1', '9'))});
}

// A bound moved to an integer: (value, exclusive). Inward for fractions: a lower bound rounds
// up (inclusive), an upper bound down. Values beyond 19 digits are clamped.
struct IntBound {
  long double v;
  bool exclusive;
};
IntBound to_int_bound(const NumberBound& b, bool lower) {
  long double v = std::clamp<long double>(b.value, -static_cast<long double>(kMaxMagnitude),
                                          static_cast<long double>(kMaxMagnitude));
  if (std::floor(v) == v) return {v, b.exclusive};
  return {lower ? std::ceil(v) : std::floor(v), false};
}

// Magnitudes m = I(.F)? with lo <(=) m <(=) hi (hi absent: unbounded), all bounds >= 0.
// m = I(.F)? with lo <(=) m <(=) hi; `bounded` false: no upper bound. (Plain values rather than
// std::optional: GCC's maybe-uninitialized misfires on optional<uint64_t> here.)
ExprId magnitude(Grammar& g, U64 lo, bool lo_excl, bool bounded, U64 hi, bool hi_excl) {
  std::vector<ExprId> branches;
  // Integer parts strictly inside: any fraction.
  if (!bounded || hi > lo + 1) {
    const ExprId ints = uint_range(g, lo + 1, bounded ? std::optional<U64>(hi - 1) : std::nullopt);
    branches.push_back(g.seq({ints, g.optional(fraction(g))}));
  }
  const ExprId lo_lit = g.literal(std::to_string(lo));
  if (!bounded || lo < hi) {
    branches.push_back(lo_excl ? g.seq({lo_lit, nonzero_fraction(g)}) : g.seq({lo_lit, g.optional(fraction(g))}));
    if (bounded && !hi_excl) branches.push_back(g.seq({g.literal(std::to_string(hi)), g.optional(zero_fraction(g))}));
  } else if (lo == hi && !lo_excl && !hi_excl) {
    branches.push_back(g.seq({lo_lit, g.optional(zero_fraction(g))}));
  }
  return branches.empty() ? g.bytes(ByteSet()) : g.alt(std::move(branches));
}

}  // namespace

ExprId json_plain_char(Grammar& g) {
  const CodepointRange excluded[] = {{0, 0x1F}, {'"', '"'}, {'\\', '\\'}};
  return g.codepoints(excluded, /*negate=*/true);
}

namespace {

ExprId string_char(Grammar& g, bool bmp_only) {
  ByteSet simple;
  for (const char c : std::string_view("\"\\/bfnrt")) simple.set(static_cast<std::uint8_t>(c));
  ByteSet hex = ByteSet::range('0', '9') | ByteSet::range('a', 'f') | ByteSet::range('A', 'F');
  const ByteSet not_d = ByteSet::range('0', '9') | ByteSet::range('a', 'c') | ByteSet::range('A', 'C') |
                        ByteSet::range('e', 'f') | ByteSet::range('E', 'F');
  // \uXXXX without surrogates (D800-DFFF): first digit not D, or D then 0-7.
  const ExprId u4 = g.alt({g.seq({g.bytes(not_d), g.repeat(g.bytes(hex), 3, 3)}),
                           g.seq({g.bytes(ByteSet::of('d') | ByteSet::of('D')), g.bytes(ByteSet::range('0', '7')),
                                  g.repeat(g.bytes(hex), 2, 2)})});
  const ExprId escape = g.seq({g.byte('\\'), g.alt({g.bytes(simple), g.seq({g.byte('u'), u4})})});
  if (!bmp_only) return g.alt({json_plain_char(g), escape});
  const CodepointRange excluded[] = {{0, 0x1F}, {'"', '"'}, {'\\', '\\'}, {0x10000, 0x10FFFF}};
  return g.alt({g.codepoints(excluded, /*negate=*/true), escape});
}

}  // namespace

ExprId json_string_char(Grammar& g) { return string_char(g, /*bmp_only=*/false); }

ExprId json_string_expr(Grammar& g, std::int32_t min_chars, std::int32_t max_chars) {
  // Under a maximum, only characters of the Basic Multilingual Plane: JSON Schema counts code
  // points, JavaScript validators (zod's .max(), String.length) UTF-16 units, and an emoji is one
  // of the first but two of the second. Without astral characters both agree, so a reply is valid
  // whoever checks it. A minimum alone needs nothing: UTF-16 units are never fewer.
  const ExprId c = string_char(g, /*bmp_only=*/max_chars >= 0);
  return g.seq({g.byte('"'), g.repeat(c, min_chars, max_chars < 0 ? kUnbounded : max_chars), g.byte('"')});
}

std::optional<std::string> json_format_regex(std::string_view format) {
  static const std::string year = "(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)";
  static const std::string month_day =
      "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-"
      "8]))";
  static const std::string leap =
      "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29";
  static const std::string date = "(?:" + year + "-" + month_day + "|" + leap + ")";
  static const std::string time =
      "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
  if (format == "date") return date;
  if (format == "time") return time;
  if (format == "date-time") return date + "T" + time;
  if (format == "uuid") return "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
  if (format == "email") {
    return "[A-Za-z0-9_%+-]+(?:\\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\\.)+[A-Za-z][A-Za-z]+";
  }
  if (format == "ipv4") {
    const std::string octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    return octet + "\\." + octet + "\\." + octet + "\\." + octet;
  }
  return std::nullopt;
}

Result<ExprId> json_integer_expr(Grammar& g, std::optional<NumberBound> lo, std::optional<NumberBound> hi) {
  std::optional<long double> a, b;
  if (lo) {
    const IntBound x = to_int_bound(*lo, true);
    a = x.exclusive ? x.v + 1 : x.v;
  }
  if (hi) {
    const IntBound x = to_int_bound(*hi, false);
    b = x.exclusive ? x.v - 1 : x.v;
  }
  if (a && b && *a > *b) return invalid_argument_error("no integer lies between the minimum and the maximum");
  std::vector<ExprId> branches;
  if (!b || *b >= 0) {
    const U64 from = a && *a > 0 ? static_cast<U64>(*a) : 0;
    branches.push_back(uint_range(g, from, b ? std::optional<U64>(static_cast<U64>(*b)) : std::nullopt));
  }
  if (!a || *a <= -1) {
    const U64 from = b && *b <= -1 ? static_cast<U64>(-*b) : 1;
    const std::optional<U64> to = a ? std::optional<U64>(static_cast<U64>(-*a)) : std::nullopt;
    branches.push_back(g.seq({g.byte('-'), uint_range(g, from, to)}));
  }
  return g.alt(std::move(branches));
}

Result<ExprId> json_number_expr(Grammar& g, std::optional<NumberBound> lo, std::optional<NumberBound> hi) {
  if (!lo && !hi) {
    const ExprId int_part =
        g.alt({g.byte('0'), g.seq({g.bytes(ByteSet::range('1', '9')), g.repeat(digit(g), 0, kJsonIntDigitsMax - 1)})});
    const ExprId exponent =
        g.seq({g.bytes(ByteSet::of('e') | ByteSet::of('E')), g.optional(g.bytes(ByteSet::of('+') | ByteSet::of('-'))),
               g.repeat(digit(g), 1, kJsonExpDigitsMax)});
    return g.seq({g.optional(g.byte('-')), int_part, g.optional(fraction(g)), g.optional(exponent)});
  }
  std::optional<IntBound> a, b;
  if (lo) a = to_int_bound(*lo, true);
  if (hi) b = to_int_bound(*hi, false);
  if (a && b && (a->v > b->v || (a->v == b->v && (a->exclusive || b->exclusive)))) {
    return invalid_argument_error("no number lies between the minimum and the maximum");
  }
  std::vector<ExprId> branches;
  // x >= 0.
  if (!b || b->v > 0 || (b->v == 0 && !b->exclusive)) {
    const U64 m_lo = a && a->v >= 0 ? static_cast<U64>(a->v) : 0;
    const bool m_lo_excl = a && a->v >= 0 && a->exclusive;
    branches.push_back(magnitude(g, m_lo, m_lo_excl, b.has_value(), b ? static_cast<U64>(b->v) : 0, b && b->exclusive));
  }
  // x < 0, as '-' and a magnitude m = -x > 0.
  if (!a || a->v < 0) {
    U64 m_lo = 0;
    bool m_lo_excl = true;
    if (b && b->v < 0) {
      m_lo = static_cast<U64>(-b->v);
      m_lo_excl = b->exclusive;
    }
    branches.push_back(g.seq({g.byte('-'), magnitude(g, m_lo, m_lo_excl, a.has_value(), a ? static_cast<U64>(-a->v) : 0,
                                                     a && a->exclusive)}));
  }
  if (branches.empty()) return invalid_argument_error("no number lies between the minimum and the maximum");
  return g.alt(std::move(branches));
}

}  // namespace parley
