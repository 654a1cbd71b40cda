#include "chat/parser.h"

#include "chat/parser_impl.h"

namespace parley::chat::detail {

Result<std::unique_ptr<Program>> Parser::run() {
  auto program = std::make_unique<Program>();
  RETURN_IF_ERROR(advance());
  RETURN_IF_ERROR(subparse(program->body, {}));
  program->node_count = nodes_;
  return program;
}

Status Parser::advance() {
  if (peeked_) {
    cur_ = std::move(*peeked_);
    peeked_.reset();
    return ok_status();
  }
  ASSIGN_OR_RETURN(cur_, lexer_.next());
  return ok_status();
}

Result<const Token*> Parser::peek() {
  if (!peeked_) {
    ASSIGN_OR_RETURN(Token t, lexer_.next());
    peeked_ = std::move(t);
  }
  return &*peeked_;
}

Status Parser::error_at(SourcePos p, std::string_view message) const {
  return invalid_argument_error("chat template syntax error at line {}, column {}: {}", p.line, p.column, message);
}

std::string Parser::describe_current() const {
  if (cur_.kind == TokenKind::kName) return "'" + cur_.text + "'";
  return describe_token_kind(cur_.kind);
}

Status Parser::unexpected(std::string_view expected) const {
  return error_at(cur_.pos, fmt::format("expected {}, got {}", expected, describe_current()));
}

Status Parser::expect(TokenKind k) {
  if (!at(k)) return unexpected(describe_token_kind(k));
  return advance();
}

Result<std::string> Parser::expect_name() {
  if (!at(TokenKind::kName)) return unexpected("a name");
  std::string name = cur_.text;
  RETURN_IF_ERROR(advance());
  return name;
}

Status Parser::expect_keyword(std::string_view word) {
  if (!at_name(word)) return unexpected(fmt::format("'{}'", word));
  return advance();
}

Result<ExprPtr> Parser::make(ExprKind kind, SourcePos pos) {
  if (++nodes_ > limits_.nodes_max) return error_at(pos, fmt::format("template has more than {} nodes", limits_.nodes_max));
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->pos = pos;
  return e;
}

Status Parser::seal(Expr& e) const {
  int h = 0;
  for (const ExprPtr& c : e.children) {
    if (c) h = std::max<int>(h, c->height);
  }
  for (const auto& kw : e.kwargs) h = std::max<int>(h, kw.second->height);
  if (h + 1 > limits_.expr_height_max) {
    return error_at(e.pos, fmt::format("expression with more than {} chained operations", limits_.expr_height_max));
  }
  e.height = static_cast<std::uint16_t>(h + 1);
  return ok_status();
}

Result<ExprPtr> Parser::literal(Value v, SourcePos pos) {
  ASSIGN_OR_RETURN(ExprPtr e, make(ExprKind::kLiteral, pos));
  e->value = std::move(v);
  return e;
}

Result<ExprPtr> Parser::wrap(ExprKind kind, SourcePos pos, std::vector<ExprPtr> children) {
  ASSIGN_OR_RETURN(ExprPtr e, make(kind, pos));
  e->children = std::move(children);
  RETURN_IF_ERROR(seal(*e));
  return e;
}

Status Parser::subparse(Body& body, Names end_names) {
  while (true) {
    switch (cur_.kind) {
      case TokenKind::kText: {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kText;
        s->pos = cur_.pos;
        s->text = std::move(cur_.text);
        body.push_back(std::move(s));
        RETURN_IF_ERROR(advance());
        break;
      }
      case TokenKind::kVarBegin: {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kOutput;
        s->pos = cur_.pos;
        RETURN_IF_ERROR(advance());
        ASSIGN_OR_RETURN(s->expr, parse_tuple(TupleMode::kFull, {}, false));
        RETURN_IF_ERROR(expect(TokenKind::kVarEnd));
        body.push_back(std::move(s));
        break;
      }
      case TokenKind::kBlockBegin: {
        RETURN_IF_ERROR(advance());
        if (end_names.size() > 0 && at_any_name(end_names)) return ok_status();
        ASSIGN_OR_RETURN(StmtPtr s, parse_statement());
        if (s) body.push_back(std::move(s));
        RETURN_IF_ERROR(expect(TokenKind::kBlockEnd));
        break;
      }
      case TokenKind::kEof:
        if (end_names.size() > 0) {
          std::string names;
          for (std::string_view n : end_names) names += (names.empty() ? "'" : " or '") + std::string(n) + "'";
          return error_at(cur_.pos, fmt::format("unexpected end of template, expected {}", names));
        }
        return ok_status();
      default:
        return error_at(cur_.pos, fmt::format("unexpected {}", describe_current()));
    }
  }
}

Status Parser::parse_statements(Body& body, Names end_names, bool drop_needle) {
  if (at(TokenKind::kColon)) RETURN_IF_ERROR(advance());
  RETURN_IF_ERROR(expect(TokenKind::kBlockEnd));
  if (++block_depth_ > limits_.block_depth_max) {
    return error_at(cur_.pos, fmt::format("blocks nested deeper than {}", limits_.block_depth_max));
  }
  RETURN_IF_ERROR(subparse(body, end_names));
  --block_depth_;
  if (drop_needle) RETURN_IF_ERROR(advance());
  return ok_status();
}

Result<StmtPtr> Parser::parse_statement() {
  if (!at(TokenKind::kName)) return error_at(cur_.pos, "tag name expected");
  const std::string tag = cur_.text;
  const SourcePos pos = cur_.pos;
  auto s = std::make_unique<Stmt>();
  s->pos = pos;
  RETURN_IF_ERROR(advance());
  if (tag == "if") {
    RETURN_IF_ERROR(parse_if(*s));
  } else if (tag == "for") {
    RETURN_IF_ERROR(parse_for(*s));
  } else if (tag == "set") {
    RETURN_IF_ERROR(parse_set(*s));
  } else if (tag == "macro") {
    RETURN_IF_ERROR(parse_macro(*s));
  } else if (tag == "call") {
    RETURN_IF_ERROR(parse_call_block(*s));
  } else if (tag == "filter") {
    s->kind = StmtKind::kFilterBlock;
    ASSIGN_OR_RETURN(s->filter, parse_filters(nullptr, true));
    RETURN_IF_ERROR(parse_statements(s->body, {"endfilter"}, true));
  } else if (tag == "with") {
    RETURN_IF_ERROR(parse_with(*s));
  } else if (tag == "print") {
    s->kind = StmtKind::kOutput;
    ASSIGN_OR_RETURN(s->expr, parse_tuple(TupleMode::kFull, {}, false));
  } else if (tag == "generation") {
    s->kind = StmtKind::kScope;
    RETURN_IF_ERROR(parse_statements(s->body, {"endgeneration"}, true));
  } else if (tag == "break" || tag == "continue") {
    if (loop_depth_ == 0) return error_at(pos, fmt::format("'{}' outside loop", tag));
    s->kind = tag == "break" ? StmtKind::kBreak : StmtKind::kContinue;
  } else if (tag == "raw") {
    return error_at(pos, "malformed {% raw %} tag");
  } else if (tag == "extends" || tag == "include" || tag == "import" || tag == "from" || tag == "block") {
    return error_at(pos, fmt::format("'{}' is not supported in chat templates (there are no other templates)", tag));
  } else {
    return error_at(pos, fmt::format("unknown tag '{}'", tag));
  }
  return s;
}

Status Parser::parse_if(Stmt& s) {
  s.kind = StmtKind::kIf;
  while (true) {
    ASSIGN_OR_RETURN(ExprPtr test, parse_tuple(TupleMode::kNoCondExpr, {}, false));
    Body body;
    RETURN_IF_ERROR(parse_statements(body, {"elif", "else", "endif"}, false));
    s.branches.emplace_back(std::move(test), std::move(body));
    const std::string which = cur_.text;
    RETURN_IF_ERROR(advance());
    if (which == "elif") continue;
    if (which == "else") RETURN_IF_ERROR(parse_statements(s.else_body, {"endif"}, true));
    return ok_status();
  }
}

Status Parser::parse_for(Stmt& s) {
  s.kind = StmtKind::kFor;
  ASSIGN_OR_RETURN(s.target, parse_assign_target(false, {"in"}));
  RETURN_IF_ERROR(expect_keyword("in"));
  ASSIGN_OR_RETURN(s.expr, parse_tuple(TupleMode::kNoCondExpr, {"recursive"}, false));
  if (at_name("if")) {
    RETURN_IF_ERROR(advance());
    ASSIGN_OR_RETURN(s.cond, parse_expression(true));
  }
  if (at_name("recursive")) return error_at(cur_.pos, "recursive for loops are not supported");
  ++loop_depth_;
  RETURN_IF_ERROR(parse_statements(s.body, {"endfor", "else"}, false));
  --loop_depth_;
  const bool has_else = at_name("else");
  RETURN_IF_ERROR(advance());
  if (has_else) RETURN_IF_ERROR(parse_statements(s.else_body, {"endfor"}, true));
  return ok_status();
}

Status Parser::parse_set(Stmt& s) {
  ASSIGN_OR_RETURN(s.target, parse_assign_target(true, {}));
  if (at(TokenKind::kAssign)) {
    s.kind = StmtKind::kSet;
    RETURN_IF_ERROR(advance());
    ASSIGN_OR_RETURN(s.expr, parse_tuple(TupleMode::kFull, {}, false));
    return ok_status();
  }
  s.kind = StmtKind::kSetBlock;
  if (at(TokenKind::kPipe)) {
    ASSIGN_OR_RETURN(s.filter, parse_filters(nullptr, false));
  }
  // Loop controls do not reach through a captured block.
  const int saved_loops = loop_depth_;
  loop_depth_ = 0;
  RETURN_IF_ERROR(parse_statements(s.body, {"endset"}, true));
  loop_depth_ = saved_loops;
  return ok_status();
}

Status Parser::parse_signature(Stmt& s) {
  RETURN_IF_ERROR(expect(TokenKind::kLParen));
  while (!at(TokenKind::kRParen)) {
    if (!s.params.empty()) RETURN_IF_ERROR(expect(TokenKind::kComma));
    if (at(TokenKind::kRParen)) break;
    MacroParam p;
    ASSIGN_OR_RETURN(p.name, expect_name());
    if (at(TokenKind::kAssign)) {
      RETURN_IF_ERROR(advance());
      ASSIGN_OR_RETURN(p.default_value, parse_expression(true));
    } else if (!s.params.empty() && s.params.back().default_value) {
      return error_at(cur_.pos, "non-default argument follows default argument");
    }
    s.params.push_back(std::move(p));
  }
  return advance();
}

Status Parser::parse_callable_body(Stmt& s, std::string_view end_name) {
  const int saved_loops = loop_depth_;
  loop_depth_ = 0;
  callables_.push_back(&s);
  const Status st = parse_statements(s.body, {end_name}, true);
  callables_.pop_back();
  loop_depth_ = saved_loops;
  return st;
}

Status Parser::parse_macro(Stmt& s) {
  s.kind = StmtKind::kMacro;
  ASSIGN_OR_RETURN(s.name, expect_name());
  RETURN_IF_ERROR(parse_signature(s));
  return parse_callable_body(s, "endmacro");
}

Status Parser::parse_call_block(Stmt& s) {
  s.kind = StmtKind::kCallBlock;
  s.name = "caller";
  if (at(TokenKind::kLParen)) RETURN_IF_ERROR(parse_signature(s));
  const SourcePos pos = cur_.pos;
  ASSIGN_OR_RETURN(s.expr, parse_expression(true));
  if (s.expr->kind != ExprKind::kCall) return error_at(pos, "expected a call after {% call %}");
  return parse_callable_body(s, "endcall");
}

Status Parser::parse_with(Stmt& s) {
  s.kind = StmtKind::kWith;
  while (!at(TokenKind::kBlockEnd)) {
    if (!s.assigns.empty()) RETURN_IF_ERROR(expect(TokenKind::kComma));
    ASSIGN_OR_RETURN(ExprPtr target, parse_assign_target(false, {}));
    RETURN_IF_ERROR(expect(TokenKind::kAssign));
    ASSIGN_OR_RETURN(ExprPtr value, parse_expression(true));
    s.assigns.emplace_back(std::move(target), std::move(value));
  }
  return parse_statements(s.body, {"endwith"}, true);
}

Result<ExprPtr> Parser::parse_assign_target(bool with_namespace, Names extra_end) {
  if (with_namespace && at(TokenKind::kName)) {
    ASSIGN_OR_RETURN(const Token* next, peek());
    if (next->kind == TokenKind::kDot) {
      const SourcePos pos = cur_.pos;
      ASSIGN_OR_RETURN(ExprPtr ns, make(ExprKind::kName, pos));
      ns->name = cur_.text;
      RETURN_IF_ERROR(advance());
      RETURN_IF_ERROR(advance());
      ASSIGN_OR_RETURN(std::string attr, expect_name());
      ASSIGN_OR_RETURN(ExprPtr e, wrap(ExprKind::kAttr, pos, list_of(std::move(ns))));
      e->name = std::move(attr);
      return e;
    }
  }
  const SourcePos pos = cur_.pos;
  ASSIGN_OR_RETURN(ExprPtr target, parse_tuple(TupleMode::kSimplified, extra_end, false));
  if (!assignable(*target)) return error_at(pos, "can't assign to this expression");
  return target;
}

bool Parser::assignable(const Expr& e) {
  if (e.kind == ExprKind::kName) {
    return e.name != "true" && e.name != "false" && e.name != "none" && e.name != "True" && e.name != "False" &&
           e.name != "None";
  }
  if (e.kind != ExprKind::kTuple) return false;
  return std::all_of(e.children.begin(), e.children.end(), [](const ExprPtr& c) { return assignable(*c); });
}

}  // namespace parley::chat::detail

namespace parley::chat {

Result<std::unique_ptr<Program>> parse_program(std::string_view source, const ParseLimits& limits) {
  if (source.size() > limits.source_bytes_max) {
    return resource_exhausted_error("chat template is {} bytes, over the limit of {}", source.size(),
                                    limits.source_bytes_max);
  }
  detail::Parser p(source, limits);
  return p.run();
}

}  // namespace parley::chat
