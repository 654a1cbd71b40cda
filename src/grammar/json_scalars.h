// The lexical pieces of JSON as grammar expressions: strings (plain, length-bounded, by regex,
// by format), numbers and integers with bounds, literals. Private to src/grammar (used by the
// JSON Schema front end and the any-JSON grammar); no JSON library here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "grammar/grammar.h"
#include "grammar/grammar_limits.h"

namespace parley {

// Digits emitted at most (a model cannot spin in digits forever; the values stay in range of
// int64 and double): integer part, fraction, exponent.
inline constexpr int kJsonIntDigitsMax = 19;
inline constexpr int kJsonFracDigitsMax = 16;
inline constexpr int kJsonExpDigitsMax = 2;

// One character inside a JSON string literal: a plain character (not '"', '\' or a control
// character) or an escape (\uXXXX never names a surrogate, so that every escape is one character
// and lengths count what a JSON parser counts).
ExprId json_string_char(Grammar& g);
// A plain character of a JSON string (no escape needed).
ExprId json_plain_char(Grammar& g);
// "..." with min..max characters (max < 0: no bound). With a maximum, characters beyond the Basic
// Multilingual Plane are left out, so that code points (JSON Schema) and UTF-16 units
// (JavaScript's String.length, zod) count the same.
ExprId json_string_expr(Grammar& g, std::int32_t min_chars, std::int32_t max_chars);

// The regex of a supported string format ("date", "time", "date-time", "uuid", "email",
// "ipv4"), or nullopt.
std::optional<std::string> json_format_regex(std::string_view format);

// A bound on a number: its value and whether it is exclusive.
struct NumberBound {
  double value = 0;
  bool exclusive = false;
};

// An integer within the bounds (either may be absent). Bounds are exact for integers up to 19
// digits; errors when no integer fits.
Result<ExprId> json_integer_expr(Grammar& g, std::optional<NumberBound> lo, std::optional<NumberBound> hi);
// A number within the bounds: without bounds any JSON number (with the digit caps above); with
// bounds, no exponent, and bounds that are not integers are moved inward to the nearest integer
// (documented: always valid, a few valid numbers cannot be produced).
Result<ExprId> json_number_expr(Grammar& g, std::optional<NumberBound> lo, std::optional<NumberBound> hi);

}  // namespace parley
