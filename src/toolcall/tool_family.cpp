#include "toolcall/tool_family.h"

#include <array>
#include <utility>

#include "toolcall/markers.h"

namespace parley {
namespace {

bool contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

bool ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Calls `on_ident(identifier, preceded_by_dot)` for every identifier in the code regions.
template <typename F>
void for_each_code_identifier(std::string_view src, F&& on_ident) {
  std::size_t i = 0;
  while (i < src.size()) {
    const std::size_t open = src.find('{', i);
    if (open == std::string_view::npos || open + 1 >= src.size()) return;
    const char kind = src[open + 1];
    if (kind == '#') {  // a comment
      const std::size_t close = src.find("#}", open + 2);
      if (close == std::string_view::npos) return;
      i = close + 2;
      continue;
    }
    if (kind != '{' && kind != '%') {
      i = open + 1;
      continue;
    }
    const char closer = kind == '{' ? '}' : '%';
    char prev = 0;  // the last non-space character of code
    std::size_t j = open + 2;
    while (j < src.size()) {
      const char c = src[j];
      if (c == closer && j + 1 < src.size() && src[j + 1] == '}') {
        j += 2;
        break;
      }
      if (c == '"' || c == '\'') {  // a string literal: skipped
        ++j;
        while (j < src.size() && src[j] != c) j += src[j] == '\\' ? 2 : 1;
        ++j;
        prev = c;
        continue;
      }
      if (ident_char(c) && !(c >= '0' && c <= '9')) {
        std::size_t end = j;
        while (end < src.size() && ident_char(src[end])) ++end;
        on_ident(src.substr(j, end - j), prev == '.');
        prev = 'a';
        j = end;
        continue;
      }
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') prev = c;
      ++j;
    }
    i = j;
  }
}

constexpr std::array<std::pair<ToolFamily, std::string_view>, 11> kNames = {{
    {ToolFamily::kBuiltin, "builtin"},
    {ToolFamily::kHermes, "hermes"},
    {ToolFamily::kLlama3, "llama3"},
    {ToolFamily::kMistral, "mistral"},
    {ToolFamily::kFunctionaryV31, "functionary-v3.1"},
    {ToolFamily::kFunctionaryV32, "functionary-v3.2"},
    {ToolFamily::kCommandR, "command-r"},
    {ToolFamily::kCommandR7B, "command-r7b"},
    {ToolFamily::kFireFunction, "firefunction-v2"},
    {ToolFamily::kDeepSeekR1, "deepseek-r1"},
    {ToolFamily::kGeneric, "generic"},
}};

ToolFamily family_by_markers(std::string_view s) {
  if (contains(s, markers::kR1CallsBegin)) return ToolFamily::kDeepSeekR1;
  if (contains(s, "<|START_ACTION|>")) return ToolFamily::kCommandR7B;
  if (contains(s, "<|START_OF_TURN_TOKEN|>") && contains(s, "Action:")) return ToolFamily::kCommandR;
  if (contains(s, ">>>") && contains(s, "recipient")) return ToolFamily::kFunctionaryV32;
  if (contains(s, "<function=")) return ToolFamily::kFunctionaryV31;
  if (contains(s, "functools[")) return ToolFamily::kFireFunction;
  if (contains(s, "[TOOL_CALLS]")) return ToolFamily::kMistral;
  if (contains(s, "<tool_call>")) return ToolFamily::kHermes;
  if (contains(s, "<|start_header_id|>") && (contains(s, "\"parameters\"") || contains(s, "ipython")))
    return ToolFamily::kLlama3;
  return ToolFamily::kGeneric;
}

}  // namespace

bool template_uses_variable(std::string_view src, std::string_view name) {
  bool found = false;
  for_each_code_identifier(src, [&](std::string_view ident, bool after_dot) {
    if (!after_dot && ident == name) found = true;
  });
  return found;
}

TemplateTraits detect_template_traits(std::string_view src) {
  TemplateTraits t;
  t.renders_tools = template_uses_variable(src, "tools") || template_uses_variable(src, "functions");
  t.family = t.renders_tools ? family_by_markers(src) : ToolFamily::kBuiltin;
  if (contains(src, "<|START_THINKING|>")) {
    t.reasoning = ReasoningSyntax::kCommandR7B;
  } else if (contains(src, "<think>") || contains(src, "</think>")) {
    t.reasoning = ReasoningSyntax::kThinkTags;
  }
  return t;
}

std::string_view tool_family_name(ToolFamily family) {
  for (const auto& [f, name] : kNames) {
    if (f == family) return name;
  }
  return "builtin";
}

std::optional<ToolFamily> tool_family_from_name(std::string_view name) {
  for (const auto& [f, n] : kNames) {
    if (n == name) return f;
  }
  return std::nullopt;
}

bool family_allows_parallel(ToolFamily family) {
  return family != ToolFamily::kLlama3;
}

}  // namespace parley
