// Grammar: the vocabulary-independent form of a constraint, a context-free grammar over bytes.
// Every front end (JSON Schema, regex, choice list, GBNF) builds one; compile_grammar()
// (grammar/compiled_grammar.h) turns it into a pushdown automaton and token masks for one
// vocabulary.
//
// A grammar is a list of named rules; each rule is an expression over byte sets (the terminals),
// sequences, alternatives, bounded or unbounded repetition, and references to rules (recursion is
// allowed except left recursion, which the compiler refuses). Text is UTF-8: a character class is
// compiled here into the byte sequences of its code points, so the automaton works on bytes and a
// character split across tokens needs no special case.
//
// Control tokens (e.g. Mistral's [TOOL_CALLS]) may appear in a grammar as special_token(id): they
// are spelled with the byte 0xFF, which no UTF-8 text contains, followed by the id in three bytes,
// and only such an element matches them.
//
// Expressions live in an arena owned by the grammar and are referred to by index. Building is
// cheap and bounded: the front ends check size() against their limits as they go.
// Not thread-safe while being built; immutable afterwards.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "grammar/byte_set.h"

namespace parley {

using ExprId = std::int32_t;
using RuleId = std::int32_t;
inline constexpr std::int32_t kUnbounded = -1;

// The byte that starts the spelling of a control token in a grammar (never in UTF-8 text).
inline constexpr std::uint8_t kSpecialTokenByte = 0xFF;
// Control token ids must be below this to be spelled (three bytes).
inline constexpr std::int32_t kSpecialTokenIdLimit = 1 << 24;

enum class ExprKind : std::uint8_t { kEmpty, kBytes, kSeq, kAlt, kRepeat, kRule, kSeparated };

// An item of a separated list: `expr` occurs between min and max times (max may be kUnbounded).
struct SeparatedItem {
  ExprId expr;
  std::int32_t min = 1;
  std::int32_t max = 1;
};

struct Expr {
  ExprKind kind = ExprKind::kEmpty;
  ByteSet bytes;                                              // kBytes
  std::vector<ExprId> children;                               // kSeq, kAlt, kSeparated; kRepeat has one
  std::int32_t min = 0;                                       // kRepeat
  std::int32_t max = 0;                                       // kRepeat; kUnbounded for no upper bound
  RuleId rule = -1;                                           // kRule
  std::vector<std::pair<std::int32_t, std::int32_t>> counts;  // kSeparated: per child (min, max)
  ExprId separator = -1;                                      // kSeparated
  bool nonempty = false;                                      // kSeparated: at least one item
};

// An inclusive range of Unicode code points.
struct CodepointRange {
  char32_t lo;
  char32_t hi;
};

class Grammar {
 public:
  Grammar() = default;

  // Declares a rule (its expression is set later, so rules can refer to each other).
  RuleId add_rule(std::string name);
  void set_rule(RuleId rule, ExprId expr);
  void set_root(RuleId rule) { root_ = rule; }

  ExprId empty();
  ExprId bytes(const ByteSet& set);
  ExprId byte(std::uint8_t b) { return bytes(ByteSet::of(b)); }
  ExprId literal(std::string_view text);
  ExprId seq(std::vector<ExprId> items);
  ExprId alt(std::vector<ExprId> items);
  ExprId repeat(ExprId item, std::int32_t min, std::int32_t max);
  ExprId optional(ExprId item) { return repeat(item, 0, 1); }
  ExprId star(ExprId item) { return repeat(item, 0, kUnbounded); }
  ExprId plus(ExprId item) { return repeat(item, 1, kUnbounded); }
  ExprId ref(RuleId rule);
  // The items in order, each occurring min..max times, with `separator` between any two that
  // occur (a JSON object's properties, some optional). Its automaton has two states per item
  // (before and after the first occurrence), so optional items cost no blow-up.
  ExprId separated(std::vector<SeparatedItem> items, ExprId separator, bool nonempty);
  // One character whose code point lies in `ranges` (or, with `negate`, in none of them), as
  // UTF-8. Surrogates (U+D800..U+DFFF) are never included: they cannot be encoded.
  ExprId codepoints(std::span<const CodepointRange> ranges, bool negate = false);
  // Any one character (any valid UTF-8 sequence of one code point).
  ExprId any_char();
  // A control token of the vocabulary, by id (see above).
  ExprId special_token(std::int32_t id);

  const Expr& expr(ExprId id) const { return exprs_[static_cast<std::size_t>(id)]; }
  std::int32_t n_exprs() const { return static_cast<std::int32_t>(exprs_.size()); }
  std::int32_t n_rules() const { return static_cast<std::int32_t>(rules_.size()); }
  const std::string& rule_name(RuleId rule) const { return rules_[static_cast<std::size_t>(rule)].name; }
  // -1 while unset.
  ExprId rule_expr(RuleId rule) const { return rules_[static_cast<std::size_t>(rule)].expr; }
  RuleId root() const { return root_; }
  // The rule named `name`, or -1.
  RuleId find_rule(std::string_view name) const;

  // A readable dump (one rule per line, GBNF-like), for tests and error messages.
  std::string to_string() const;

  // A grammar from its parts as expr(), rule_name(), rule_expr() and root() show them (e.g. sent
  // to a worker). Checked, since they may come from the network: kinds and ids in range, a
  // kRepeat with one child and min <= max, a kSeparated with one (min, max) per child, and every
  // child and separator before its parent (as the builder functions make them), so that the
  // expressions form no cycle (recursion goes through rules). kInvalidArgument otherwise.
  static Result<Grammar> from_parts(std::vector<Expr> exprs, std::vector<std::pair<std::string, ExprId>> rules,
                                    RuleId root);

 private:
  struct Rule {
    std::string name;
    ExprId expr = -1;
  };
  ExprId add(Expr e);
  std::string expr_string(ExprId id) const;

  std::vector<Expr> exprs_;
  std::vector<Rule> rules_;
  RuleId root_ = -1;
};

}  // namespace parley
