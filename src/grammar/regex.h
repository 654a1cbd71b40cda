// Regular expressions (a documented subset, see docs/grammar.md) compiled into grammar
// expressions. Used for the regex front end and for JSON Schema `pattern` and `format`.
//
// Supported: literal characters (UTF-8), escapes \d \w \s \D \W \S \n \r \t \f \v \0 \xHH \uHHHH
// \u{H...} and escaped punctuation; `.` (any character but a line break); classes [...] with
// ranges, negation and the escapes above; groups (...), (?:...), (?<name>...); alternation |;
// quantifiers ? * + {m} {m,} {m,n} (a lazy `?` after them is accepted and means the same here);
// anchors ^ and $ at the start and end (implied anyway: the whole text must match). Anything else
// (backreferences, lookaround, \b, \p{...}, flags) is a clear error.
//
// The classes are the intersection of ECMA-262's (JSON Schema's regex dialect) and Python's, so
// that text generated from them matches in both: \d is [0-9], \w is [A-Za-z0-9_], \s is
// [ \t\n\r\f\v], their negations exclude the Unicode digits, word characters and spaces too, and
// `.` excludes \n, \r, U+2028 and U+2029.
#pragma once

#include <string_view>

#include "base/result.h"
#include "grammar/grammar.h"
#include "grammar/grammar_limits.h"

namespace parley {

struct RegexOptions {
  // Emit each character as it is written inside a JSON string literal: '"' as \", '\' as \\,
  // control characters as \n, \t, ... or \u00XX.
  bool json_string = false;
};

// Adds the expression of `pattern` to `g`. Errors are kInvalidArgument and say what is wrong
// and where ("pattern: unsupported lookahead at offset 3").
Result<ExprId> regex_expr(Grammar& g, std::string_view pattern, const RegexOptions& options,
                          const GrammarLimits& limits);

// A grammar whose language is the text matching `pattern` (the regex front end).
Result<Grammar> regex_grammar(std::string_view pattern, const GrammarLimits& limits = {});

// Appends to `g` one character of `ranges` (or of their complement), emitted per `options`.
ExprId char_class_expr(Grammar& g, std::vector<CodepointRange> ranges, bool negate, const RegexOptions& options);

}  // namespace parley
