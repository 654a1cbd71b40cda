// The syntax tree of a parsed chat template. Immutable once parsed; the renderer walks it and
// runtime macros point into it, so a Program outlives every render that uses it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/lexer.h"
#include "chat/value.h"

namespace parley::chat {

enum class ExprKind : std::uint8_t {
  kLiteral,   // value
  kName,      // name
  kList,      // children
  kTuple,     // children
  kDict,      // children: key0, value0, key1, value1, ...
  kAttr,      // children[0] . name
  kItem,      // children[0] [ children[1] ]
  kSlice,     // children[0] [ children[1] : children[2] : children[3] ] (absent parts are null)
  kCall,      // children[0] ( children[1..], kwargs )
  kFilter,    // children[0] | name ( children[1..], kwargs ); a null operand is the block content
  kTest,      // children[0] is [not] name ( children[1..], kwargs )
  kNot,       // not children[0]
  kNeg,       // -children[0]
  kPos,       // +children[0]
  kBinary,    // children[0] op children[1]
  kAnd,       // children[0] and children[1]
  kOr,        // children[0] or children[1]
  kConcat,    // children joined with ~
  kCompare,   // children[0] cmp_ops[0] children[1] cmp_ops[1] children[2] ...
  kCondExpr,  // children[0] if children[1] else children[2] (null: undefined)
};

enum class BinaryOp : std::uint8_t { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow };
enum class CompareOp : std::uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  BinaryOp op = BinaryOp::kAdd;
  bool negated = false;   // kTest: `is not`
  std::uint16_t height = 1;  // longest path to a leaf, bounded by the parser
  SourcePos pos;
  std::string name;
  Value value;
  std::vector<ExprPtr> children;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<CompareOp> cmp_ops;
};

enum class StmtKind : std::uint8_t {
  kText,         // text
  kOutput,       // {{ expr }}
  kIf,           // branches (test, body) ..., else_body
  kFor,          // for target in expr [if cond] body [else else_body]
  kSet,          // set target = expr
  kSetBlock,     // set target [| filter] body endset
  kMacro,        // macro name(params) body
  kCallBlock,    // call(params) expr body: body becomes `caller`
  kFilterBlock,  // filter body (filter has a null innermost operand)
  kWith,         // with assigns body
  kScope,        // a body with no effect of its own ({% generation %})
  kBreak,
  kContinue,
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // may be null
};

struct Stmt {
  StmtKind kind = StmtKind::kText;
  SourcePos pos;
  std::string text;
  ExprPtr expr;
  ExprPtr target;
  ExprPtr cond;
  ExprPtr filter;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  // Macros and call blocks.
  std::string name;
  std::vector<MacroParam> params;
  bool uses_varargs = false;
  bool uses_kwargs = false;
  bool uses_caller = false;
  std::vector<std::pair<ExprPtr, ExprPtr>> assigns;  // kWith
};

struct Program {
  Body body;
  std::size_t node_count = 0;
};

}  // namespace parley::chat
