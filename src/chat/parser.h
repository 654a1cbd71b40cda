// Parser: template tokens -> Program, following Jinja2's grammar and operator precedence
// (or < and < not < comparisons/in < + - < ~ < * / // % < ** < unary - + < postfix . [] () |
// is). Templates are untrusted: the parser bounds the tree's size and height so that neither it
// nor the renderer can run out of stack.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "base/result.h"
#include "chat/ast.h"

namespace parley::chat {

struct ParseLimits {
  std::size_t source_bytes_max = std::size_t{1} << 20;
  int block_depth_max = 64;    // nested {% if %}/{% for %}/{% macro %}...
  int expr_depth_max = 64;     // brackets and unary operators nested in one expression
  int expr_height_max = 256;   // operators chained in one expression (a + b + c ... is a chain)
  std::size_t nodes_max = std::size_t{1} << 18;
};

// `source` must have normalised newlines (see ChatTemplate::parse).
Result<std::unique_ptr<Program>> parse_program(std::string_view source, const ParseLimits& limits = {});

}  // namespace parley::chat
