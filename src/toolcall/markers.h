// The literal markers of the tool-call and reasoning syntaxes (toolcall/tool_family.h), shared by
// the parsers and the grammar builder. In real vocabularies many are single tokens, some of them
// control tokens (toolcall/tool_syntax.h finds which).
#pragma once

#include <string_view>

namespace parley::markers {

inline constexpr std::string_view kThinkOpen = "<think>";
inline constexpr std::string_view kThinkClose = "</think>";

inline constexpr std::string_view kHermesOpen = "<tool_call>";
inline constexpr std::string_view kHermesClose = "</tool_call>";

inline constexpr std::string_view kPythonTag = "<|python_tag|>";

inline constexpr std::string_view kMistralCalls = "[TOOL_CALLS]";

inline constexpr std::string_view kFunctionOpen = "<function=";
inline constexpr std::string_view kFunctionClose = "</function>";

inline constexpr std::string_view kRecipient = ">>>";

inline constexpr std::string_view kCommandRAction = "Action:";
inline constexpr std::string_view kCodeFenceJson = "```json";
inline constexpr std::string_view kCodeFence = "```";

inline constexpr std::string_view kR7BThinkingOpen = "<|START_THINKING|>";
inline constexpr std::string_view kR7BThinkingClose = "<|END_THINKING|>";
inline constexpr std::string_view kR7BActionOpen = "<|START_ACTION|>";
inline constexpr std::string_view kR7BActionClose = "<|END_ACTION|>";
inline constexpr std::string_view kR7BResponseOpen = "<|START_RESPONSE|>";
inline constexpr std::string_view kR7BResponseClose = "<|END_RESPONSE|>";

inline constexpr std::string_view kFireFunctionCalls = "functools[";

inline constexpr std::string_view kR1CallsBegin = "<｜tool▁calls▁begin｜>";
inline constexpr std::string_view kR1CallsEnd = "<｜tool▁calls▁end｜>";
inline constexpr std::string_view kR1CallBegin = "<｜tool▁call▁begin｜>";
inline constexpr std::string_view kR1CallEnd = "<｜tool▁call▁end｜>";
inline constexpr std::string_view kR1Sep = "<｜tool▁sep｜>";

}  // namespace parley::markers
