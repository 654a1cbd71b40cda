// The parser's class, shared by parser.cpp (token stream, nodes, statements) and
// parse_expr.cpp (expressions). Internal to src/chat.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/parser.h"

namespace parley::chat::detail {

using Names = std::initializer_list<std::string_view>;

class Parser {
 public:
  Parser(std::string_view source, const ParseLimits& limits) : lexer_(source), limits_(limits) {}

  Result<std::unique_ptr<Program>> run();

 private:
  // ---- token stream ----------------------------------------------------------------------------
  Status advance();
  Result<const Token*> peek();
  bool at(TokenKind k) const { return cur_.kind == k; }
  bool at_name(std::string_view n) const { return cur_.kind == TokenKind::kName && cur_.text == n; }
  bool at_any_name(Names names) const {
    return cur_.kind == TokenKind::kName && std::find(names.begin(), names.end(), cur_.text) != names.end();
  }

  Status error_at(SourcePos p, std::string_view message) const;
  std::string describe_current() const;
  Status unexpected(std::string_view expected) const;
  Status expect(TokenKind k);
  Result<std::string> expect_name();
  Status expect_keyword(std::string_view word);

  // ---- nodes and limits ------------------------------------------------------------------------
  Result<ExprPtr> make(ExprKind kind, SourcePos pos);
  // Computes the height of a finished node; trees higher than the limit are refused so that
  // evaluating (and destroying) them cannot exhaust the stack.
  Status seal(Expr& e) const;
  Result<ExprPtr> literal(Value v, SourcePos pos);
  Result<ExprPtr> wrap(ExprKind kind, SourcePos pos, std::vector<ExprPtr> children);
  template <typename... E>
  static std::vector<ExprPtr> list_of(E&&... e) {
    std::vector<ExprPtr> v;
    (v.push_back(std::forward<E>(e)), ...);
    return v;
  }

  // ---- statements ------------------------------------------------------------------------------
  // Parses until EOF or a `{%` whose first name is in `end_names` (left as the current token).
  Status subparse(Body& body, Names end_names);

  // `%}` body up to one of `end_names`; with drop_needle the end name is consumed.
  Status parse_statements(Body& body, Names end_names, bool drop_needle);

  Result<StmtPtr> parse_statement();

  Status parse_if(Stmt& s);

  Status parse_for(Stmt& s);

  Status parse_set(Stmt& s);

  Status parse_signature(Stmt& s);

  // A macro body: its own loop context and its own record of varargs/kwargs/caller use.
  Status parse_callable_body(Stmt& s, std::string_view end_name);

  Status parse_macro(Stmt& s);

  Status parse_call_block(Stmt& s);

  Status parse_with(Stmt& s);

  // name | name.attr (namespace, only for `set`) | tuple of names.
  Result<ExprPtr> parse_assign_target(bool with_namespace, Names extra_end);

  static bool assignable(const Expr& e);

  // ---- expressions -----------------------------------------------------------------------------
  enum class TupleMode { kFull, kNoCondExpr, kSimplified };

  bool is_tuple_end(Names extra_end) const;

  Result<ExprPtr> parse_tuple(TupleMode mode, Names extra_end, bool explicit_parens);

  struct DepthGuard {
    explicit DepthGuard(int* d) : depth(d) { ++*depth; }
    ~DepthGuard() { --*depth; }
    int* depth;
  };
  Status check_depth() const;

  Result<ExprPtr> parse_expression(bool with_condexpr);

  Result<ExprPtr> parse_or();

  Result<ExprPtr> parse_and();

  Result<ExprPtr> parse_not();

  Result<ExprPtr> parse_compare();

  Result<ExprPtr> binary(BinaryOp op, SourcePos pos, ExprPtr left, ExprPtr right);

  Result<ExprPtr> parse_math1();

  Result<ExprPtr> parse_concat();

  Result<ExprPtr> parse_math2();

  Result<ExprPtr> parse_pow();

  Result<ExprPtr> parse_unary(bool with_filter);

  Result<ExprPtr> parse_primary();

  void note_name(const std::string& name);

  Result<ExprPtr> parse_postfix(ExprPtr node);

  Result<ExprPtr> parse_filter_expr(ExprPtr node);

  Result<ExprPtr> parse_subscript(ExprPtr node);

  // One subscript: an expression, or a slice (returned as kSlice with a null object).
  Result<ExprPtr> parse_subscribed();

  // ( args, name=value ) into e->children (after the existing ones) and e->kwargs.
  Status parse_call_args(Expr& e);

  Result<ExprPtr> parse_call(ExprPtr callee);

  Result<std::string> parse_dotted_name();

  // `| f(args) | g ...`; with start_inline the first filter has no leading pipe.
  Result<ExprPtr> parse_filters(ExprPtr node, bool start_inline);

  Result<ExprPtr> parse_test(ExprPtr node);

  Lexer lexer_;
  const ParseLimits& limits_;
  Token cur_;
  std::optional<Token> peeked_;
  std::size_t nodes_ = 0;
  int block_depth_ = 0;
  int expr_depth_ = 0;
  int loop_depth_ = 0;
  std::vector<Stmt*> callables_;
};

}  // namespace parley::chat::detail
