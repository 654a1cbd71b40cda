// The streaming tool-call parser of each family (toolcall/tool_family.h), on the machinery of
// toolcall/call_parser.h. Lenient where it costs nothing: either name key ("name", "tool_name"),
// either arguments key ("arguments", "parameters"), arguments as a JSON string, a missing closing
// marker at the end of the output. Anything else that is not the family's syntax is content.
#pragma once

#include <memory>

#include "toolcall/call_parser.h"
#include "toolcall/tool_family.h"

namespace parley {

std::unique_ptr<CallParser> make_call_parser(ToolFamily family, CallParser::Options options);

// The families whose calls are JSON objects after a marker (family_parsers.cpp) and those with
// their own framing (family_parsers_text.cpp).
std::unique_ptr<CallParser> make_json_family_parser(ToolFamily family, CallParser::Options options);
std::unique_ptr<CallParser> make_text_family_parser(ToolFamily family, CallParser::Options options);

}  // namespace parley
