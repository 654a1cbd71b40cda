// Expressions, with Jinja2's precedence: conditional < or < and < not < comparisons and `in`
// < + - < ~ < * / // % < ** < unary - + < primary with postfix . [] () | is.
#include "chat/parser_impl.h"

namespace parley::chat::detail {

bool Parser::is_tuple_end(Names extra_end) const {
  if (at(TokenKind::kVarEnd) || at(TokenKind::kBlockEnd) || at(TokenKind::kRParen)) return true;
  return extra_end.size() > 0 && at_any_name(extra_end);
}

Result<ExprPtr> Parser::parse_tuple(TupleMode mode, Names extra_end, bool explicit_parens) {
  const SourcePos pos = cur_.pos;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) RETURN_IF_ERROR(expect(TokenKind::kComma));
    if (is_tuple_end(extra_end)) break;
    ExprPtr item;
    if (mode == TupleMode::kSimplified) {
      ASSIGN_OR_RETURN(item, parse_primary());
    } else {
      ASSIGN_OR_RETURN(item, parse_expression(mode == TupleMode::kFull));
    }
    items.push_back(std::move(item));
    if (at(TokenKind::kComma)) {
      is_tuple = true;
    } else {
      break;
    }
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items[0]);
    if (!explicit_parens) return unexpected("an expression");
  }
  return wrap(ExprKind::kTuple, pos, std::move(items));
}

Status Parser::check_depth() const {
  if (expr_depth_ > limits_.expr_depth_max) {
    return error_at(cur_.pos, fmt::format("expression nested deeper than {}", limits_.expr_depth_max));
  }
  return ok_status();
}

Result<ExprPtr> Parser::parse_expression(bool with_condexpr) {
  DepthGuard guard(&expr_depth_);
  RETURN_IF_ERROR(check_depth());
  if (!with_condexpr) return parse_or();
  ASSIGN_OR_RETURN(ExprPtr expr, parse_or());
  while (at_name("if")) {
    const SourcePos pos = cur_.pos;
    RETURN_IF_ERROR(advance());
    ASSIGN_OR_RETURN(ExprPtr test, parse_or());
    ExprPtr otherwise;
    if (at_name("else")) {
      RETURN_IF_ERROR(advance());
      ASSIGN_OR_RETURN(otherwise, parse_expression(true));
    }
    ASSIGN_OR_RETURN(expr, wrap(ExprKind::kCondExpr, pos, list_of(std::move(expr), std::move(test), std::move(otherwise))));
  }
  return expr;
}

Result<ExprPtr> Parser::parse_or() {
  ASSIGN_OR_RETURN(ExprPtr left, parse_and());
  while (at_name("or")) {
    const SourcePos pos = cur_.pos;
    RETURN_IF_ERROR(advance());
    ASSIGN_OR_RETURN(ExprPtr right, parse_and());
    ASSIGN_OR_RETURN(left, wrap(ExprKind::kOr, pos, list_of(std::move(left), std::move(right))));
  }
  return left;
}

Result<ExprPtr> Parser::parse_and() {
  ASSIGN_OR_RETURN(ExprPtr left, parse_not());
  while (at_name("and")) {
    const SourcePos pos = cur_.pos;
    RETURN_IF_ERROR(advance());
    ASSIGN_OR_RETURN(ExprPtr right, parse_not());
    ASSIGN_OR_RETURN(left, wrap(ExprKind::kAnd, pos, list_of(std::move(left), std::move(right))));
  }
  return left;
}

Result<ExprPtr> Parser::parse_not() {
  if (at_name("not")) {
    DepthGuard guard(&expr_depth_);
    RETURN_IF_ERROR(check_depth());
    const SourcePos pos = cur_.pos;
    RETURN_IF_ERROR(advance());
    ASSIGN_OR_RETURN(ExprPtr operand, parse_not());
    return wrap(ExprKind::kNot, pos, list_of(std::move(operand)));
  }
  return parse_compare();
}

Result<ExprPtr> Parser::parse_compare() {
  const SourcePos pos = cur_.pos;
  ASSIGN_OR_RETURN(ExprPtr first, parse_math1());
  std::vector<ExprPtr> operands;
  std::vector<CompareOp> ops;
  while (true) {
    std::optional<CompareOp> op;
    switch (cur_.kind) {
      case TokenKind::kEq: op = CompareOp::kEq; break;
      case TokenKind::kNe: op = CompareOp::kNe; break;
      case TokenKind::kLt: op = CompareOp::kLt; break;
      case TokenKind::kLe: op = CompareOp::kLe; break;
      case TokenKind::kGt: op = CompareOp::kGt; break;
      case TokenKind::kGe: op = CompareOp::kGe; break;
      default: break;
    }
    if (op) {
      RETURN_IF_ERROR(advance());
    } else if (at_name("in")) {
      op = CompareOp::kIn;
      RETURN_IF_ERROR(advance());
    } else if (at_name("not")) {
      ASSIGN_OR_RETURN(const Token* next, peek());
      if (next->kind != TokenKind::kName || next->text != "in") break;
      op = CompareOp::kNotIn;
      RETURN_IF_ERROR(advance());
      RETURN_IF_ERROR(advance());
    } else {
      break;
    }
    ASSIGN_OR_RETURN(ExprPtr operand, parse_math1());
    ops.push_back(*op);
    operands.push_back(std::move(operand));
  }
  if (ops.empty()) return first;
  operands.insert(operands.begin(), std::move(first));
  ASSIGN_OR_RETURN(ExprPtr e, wrap(ExprKind::kCompare, pos, std::move(operands)));
  e->cmp_ops = std::move(ops);
  return e;
}

Result<ExprPtr> Parser::binary(BinaryOp op, SourcePos pos, ExprPtr left, ExprPtr right) {
  ASSIGN_OR_RETURN(ExprPtr e, wrap(ExprKind::kBinary, pos, list_of(std::move(left), std::move(right))));
  e->op = op;
  return e;
}

Result<ExprPtr> Parser::parse_math1() {
  ASSIGN_OR_RETURN(ExprPtr left, parse_concat());
  while (at(TokenKind::kAdd) || at(TokenKind::kSub)) {
    const BinaryOp op = at(TokenKind::kAdd) ? BinaryOp::kAdd : BinaryOp::kSub;
    const SourcePos pos = cur_.pos;
    RETURN_IF_ERROR(advance());
    ASSIGN_OR_RETURN(ExprPtr right, parse_concat());
    ASSIGN_OR_RETURN(left, binary(op, pos, std::move(left), std::move(right)));
  }
  return left;
}

Result<ExprPtr> Parser::parse_concat() {
  const SourcePos pos = cur_.pos;
  ASSIGN_OR_RETURN(ExprPtr first, parse_math2());
  if (!at(TokenKind::kTilde)) return first;
  std::vector<ExprPtr> parts;
  parts.push_back(std::move(first));
  while (at(TokenKind::kTilde)) {
    RETURN_IF_ERROR(advance());
    ASSIGN_OR_RETURN(ExprPtr next, parse_math2());
    parts.push_back(std::move(next));
  }
  return wrap(ExprKind::kConcat, pos, std::move(parts));
}

Result<ExprPtr> Parser::parse_math2() {
  ASSIGN_OR_RETURN(ExprPtr left, parse_pow());
  while (true) {
    BinaryOp op;
    if (at(TokenKind::kMul)) {
      op = BinaryOp::kMul;
    } else if (at(TokenKind::kDiv)) {
      op = BinaryOp::kDiv;
    } else if (at(TokenKind::kFloorDiv)) {
      op = BinaryOp::kFloorDiv;
    } else if (at(TokenKind::kMod)) {
      op = BinaryOp::kMod;
    } else {
      return left;
    }
    const SourcePos pos = cur_.pos;
    RETURN_IF_ERROR(advance());
    ASSIGN_OR_RETURN(ExprPtr right, parse_pow());
    ASSIGN_OR_RETURN(left, binary(op, pos, std::move(left), std::move(right)));
  }
}

Result<ExprPtr> Parser::parse_pow() {
  ASSIGN_OR_RETURN(ExprPtr left, parse_unary(true));
  while (at(TokenKind::kPow)) {
    const SourcePos pos = cur_.pos;
    RETURN_IF_ERROR(advance());
    ASSIGN_OR_RETURN(ExprPtr right, parse_unary(true));
    ASSIGN_OR_RETURN(left, binary(BinaryOp::kPow, pos, std::move(left), std::move(right)));
  }
  return left;
}

Result<ExprPtr> Parser::parse_unary(bool with_filter) {
  DepthGuard guard(&expr_depth_);
  RETURN_IF_ERROR(check_depth());
  const SourcePos pos = cur_.pos;
  ExprPtr node;
  if (at(TokenKind::kSub) || at(TokenKind::kAdd)) {
    const ExprKind kind = at(TokenKind::kSub) ? ExprKind::kNeg : ExprKind::kPos;
    RETURN_IF_ERROR(advance());
    ASSIGN_OR_RETURN(ExprPtr operand, parse_unary(false));
    ASSIGN_OR_RETURN(node, wrap(kind, pos, list_of(std::move(operand))));
  } else {
    ASSIGN_OR_RETURN(node, parse_primary());
  }
  ASSIGN_OR_RETURN(node, parse_postfix(std::move(node)));
  if (with_filter) {
    ASSIGN_OR_RETURN(node, parse_filter_expr(std::move(node)));
  }
  return node;
}

Result<ExprPtr> Parser::parse_primary() {
  const SourcePos pos = cur_.pos;
  switch (cur_.kind) {
    case TokenKind::kName: {
      const std::string name = cur_.text;
      RETURN_IF_ERROR(advance());
      if (name == "true" || name == "True") return literal(Value(true), pos);
      if (name == "false" || name == "False") return literal(Value(false), pos);
      if (name == "none" || name == "None") return literal(Value::none(), pos);
      ASSIGN_OR_RETURN(ExprPtr e, make(ExprKind::kName, pos));
      e->name = name;
      note_name(name);
      return e;
    }
    case TokenKind::kString: {
      std::string s = std::move(cur_.text);
      RETURN_IF_ERROR(advance());
      while (at(TokenKind::kString)) {
        s += cur_.text;
        RETURN_IF_ERROR(advance());
      }
      return literal(Value(std::move(s)), pos);
    }
    case TokenKind::kInt: {
      const std::int64_t v = cur_.int_value;
      RETURN_IF_ERROR(advance());
      return literal(Value(v), pos);
    }
    case TokenKind::kFloat: {
      const double v = cur_.float_value;
      RETURN_IF_ERROR(advance());
      return literal(Value(v), pos);
    }
    case TokenKind::kLParen: {
      RETURN_IF_ERROR(advance());
      ASSIGN_OR_RETURN(ExprPtr e, parse_tuple(TupleMode::kFull, {}, true));
      RETURN_IF_ERROR(expect(TokenKind::kRParen));
      return e;
    }
    case TokenKind::kLBracket: {
      RETURN_IF_ERROR(advance());
      std::vector<ExprPtr> items;
      while (!at(TokenKind::kRBracket)) {
        if (!items.empty()) RETURN_IF_ERROR(expect(TokenKind::kComma));
        if (at(TokenKind::kRBracket)) break;
        ASSIGN_OR_RETURN(ExprPtr item, parse_expression(true));
        items.push_back(std::move(item));
      }
      RETURN_IF_ERROR(advance());
      return wrap(ExprKind::kList, pos, std::move(items));
    }
    case TokenKind::kLBrace: {
      RETURN_IF_ERROR(advance());
      std::vector<ExprPtr> items;
      while (!at(TokenKind::kRBrace)) {
        if (!items.empty()) RETURN_IF_ERROR(expect(TokenKind::kComma));
        if (at(TokenKind::kRBrace)) break;
        ASSIGN_OR_RETURN(ExprPtr key, parse_expression(true));
        RETURN_IF_ERROR(expect(TokenKind::kColon));
        ASSIGN_OR_RETURN(ExprPtr value, parse_expression(true));
        items.push_back(std::move(key));
        items.push_back(std::move(value));
      }
      RETURN_IF_ERROR(advance());
      return wrap(ExprKind::kDict, pos, std::move(items));
    }
    default:
      return error_at(pos, fmt::format("unexpected {}", describe_current()));
  }
}

void Parser::note_name(const std::string& name) {
  if (callables_.empty()) return;
  Stmt* s = callables_.back();
  if (name == "varargs") s->uses_varargs = true;
  if (name == "kwargs") s->uses_kwargs = true;
  if (name == "caller") s->uses_caller = true;
}

Result<ExprPtr> Parser::parse_postfix(ExprPtr node) {
  while (true) {
    if (at(TokenKind::kDot) || at(TokenKind::kLBracket)) {
      ASSIGN_OR_RETURN(node, parse_subscript(std::move(node)));
    } else if (at(TokenKind::kLParen)) {
      ASSIGN_OR_RETURN(node, parse_call(std::move(node)));
    } else {
      return node;
    }
  }
}

Result<ExprPtr> Parser::parse_filter_expr(ExprPtr node) {
  while (true) {
    if (at(TokenKind::kPipe)) {
      ASSIGN_OR_RETURN(node, parse_filters(std::move(node), false));
    } else if (at_name("is")) {
      ASSIGN_OR_RETURN(node, parse_test(std::move(node)));
    } else if (at(TokenKind::kLParen)) {
      ASSIGN_OR_RETURN(node, parse_call(std::move(node)));
    } else {
      return node;
    }
  }
}

Result<ExprPtr> Parser::parse_subscript(ExprPtr node) {
  const SourcePos pos = cur_.pos;
  if (at(TokenKind::kDot)) {
    RETURN_IF_ERROR(advance());
    if (at(TokenKind::kName)) {
      ASSIGN_OR_RETURN(ExprPtr e, wrap(ExprKind::kAttr, pos, list_of(std::move(node))));
      e->name = cur_.text;
      RETURN_IF_ERROR(advance());
      return e;
    }
    if (!at(TokenKind::kInt)) return unexpected("a name or number");
    ASSIGN_OR_RETURN(ExprPtr index, literal(Value(cur_.int_value), cur_.pos));
    RETURN_IF_ERROR(advance());
    return wrap(ExprKind::kItem, pos, list_of(std::move(node), std::move(index)));
  }
  RETURN_IF_ERROR(advance());  // [
  std::vector<ExprPtr> args;
  while (!at(TokenKind::kRBracket)) {
    if (!args.empty()) RETURN_IF_ERROR(expect(TokenKind::kComma));
    ASSIGN_OR_RETURN(ExprPtr arg, parse_subscribed());
    args.push_back(std::move(arg));
  }
  RETURN_IF_ERROR(advance());
  if (args.size() == 1 && args[0]->kind == ExprKind::kSlice && !args[0]->children[0]) {
    args[0]->children[0] = std::move(node);
    RETURN_IF_ERROR(seal(*args[0]));
    return std::move(args[0]);
  }
  ExprPtr key;
  if (args.size() == 1) {
    key = std::move(args[0]);
  } else {
    ASSIGN_OR_RETURN(key, wrap(ExprKind::kTuple, pos, std::move(args)));
  }
  if (key->kind == ExprKind::kSlice) return error_at(pos, "slices inside tuples are not supported");
  return wrap(ExprKind::kItem, pos, list_of(std::move(node), std::move(key)));
}

Result<ExprPtr> Parser::parse_subscribed() {
  const SourcePos pos = cur_.pos;
  std::vector<ExprPtr> parts(4);
  if (at(TokenKind::kColon)) {
    RETURN_IF_ERROR(advance());
  } else {
    ASSIGN_OR_RETURN(ExprPtr first, parse_expression(true));
    if (!at(TokenKind::kColon)) return first;
    RETURN_IF_ERROR(advance());
    parts[1] = std::move(first);
  }
  if (!at(TokenKind::kColon) && !at(TokenKind::kRBracket) && !at(TokenKind::kComma)) {
    ASSIGN_OR_RETURN(parts[2], parse_expression(true));
  }
  if (at(TokenKind::kColon)) {
    RETURN_IF_ERROR(advance());
    if (!at(TokenKind::kRBracket) && !at(TokenKind::kComma)) {
      ASSIGN_OR_RETURN(parts[3], parse_expression(true));
    }
  }
  return wrap(ExprKind::kSlice, pos, std::move(parts));
}

Status Parser::parse_call_args(Expr& e) {
  RETURN_IF_ERROR(expect(TokenKind::kLParen));
  bool require_comma = false;
  while (!at(TokenKind::kRParen)) {
    if (require_comma) {
      RETURN_IF_ERROR(expect(TokenKind::kComma));
      if (at(TokenKind::kRParen)) break;
    }
    if (at(TokenKind::kMul) || at(TokenKind::kPow)) {
      return error_at(cur_.pos, "*args and **kwargs in calls are not supported");
    }
    bool keyword = false;
    if (at(TokenKind::kName)) {
      ASSIGN_OR_RETURN(const Token* next, peek());
      keyword = next->kind == TokenKind::kAssign;
    }
    if (keyword) {
      std::string key = cur_.text;
      RETURN_IF_ERROR(advance());
      RETURN_IF_ERROR(advance());
      ASSIGN_OR_RETURN(ExprPtr value, parse_expression(true));
      e.kwargs.emplace_back(std::move(key), std::move(value));
    } else {
      if (!e.kwargs.empty()) return error_at(cur_.pos, "positional argument follows keyword argument");
      ASSIGN_OR_RETURN(ExprPtr value, parse_expression(true));
      e.children.push_back(std::move(value));
    }
    require_comma = true;
  }
  return advance();
}

Result<ExprPtr> Parser::parse_call(ExprPtr callee) {
  ASSIGN_OR_RETURN(ExprPtr e, make(ExprKind::kCall, callee->pos));
  e->children.push_back(std::move(callee));
  RETURN_IF_ERROR(parse_call_args(*e));
  RETURN_IF_ERROR(seal(*e));
  return e;
}

Result<std::string> Parser::parse_dotted_name() {
  ASSIGN_OR_RETURN(std::string name, expect_name());
  while (at(TokenKind::kDot)) {
    RETURN_IF_ERROR(advance());
    ASSIGN_OR_RETURN(std::string part, expect_name());
    name += "." + part;
  }
  return name;
}

Result<ExprPtr> Parser::parse_filters(ExprPtr node, bool start_inline) {
  while (at(TokenKind::kPipe) || start_inline) {
    if (!start_inline) RETURN_IF_ERROR(advance());
    start_inline = false;
    ASSIGN_OR_RETURN(ExprPtr e, make(ExprKind::kFilter, cur_.pos));
    ASSIGN_OR_RETURN(e->name, parse_dotted_name());
    e->children.push_back(std::move(node));
    if (at(TokenKind::kLParen)) RETURN_IF_ERROR(parse_call_args(*e));
    RETURN_IF_ERROR(seal(*e));
    node = std::move(e);
  }
  return node;
}

Result<ExprPtr> Parser::parse_test(ExprPtr node) {
  const SourcePos pos = cur_.pos;
  RETURN_IF_ERROR(advance());  // is
  bool negated = false;
  if (at_name("not")) {
    negated = true;
    RETURN_IF_ERROR(advance());
  }
  ASSIGN_OR_RETURN(ExprPtr e, make(ExprKind::kTest, pos));
  e->negated = negated;
  ASSIGN_OR_RETURN(e->name, parse_dotted_name());
  e->children.push_back(std::move(node));
  if (at(TokenKind::kLParen)) {
    RETURN_IF_ERROR(parse_call_args(*e));
  } else if ((at(TokenKind::kName) || at(TokenKind::kString) || at(TokenKind::kInt) || at(TokenKind::kFloat) ||
              at(TokenKind::kLBracket) || at(TokenKind::kLBrace)) &&
             !at_any_name({"else", "or", "and"})) {
    if (at_name("is")) return error_at(cur_.pos, "you cannot chain multiple tests with 'is'");
    ASSIGN_OR_RETURN(ExprPtr arg, parse_primary());
    ASSIGN_OR_RETURN(arg, parse_postfix(std::move(arg)));
    e->children.push_back(std::move(arg));
  }
  RETURN_IF_ERROR(seal(*e));
  return e;
}

}  // namespace parley::chat::detail
