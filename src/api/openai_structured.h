// Internal to src/api: parsing of the structured-output and tool fields of OpenAI requests
// (response_format, tools, tool_choice, parallel_tool_calls, reasoning_format), called by
// api/openai_request.cpp. Errors are kInvalidArgument naming the field's full path
// ("tools[1].function.name", "response_format.json_schema.schema").
#pragma once

#include <optional>

#include "api/json_fields.h"
#include "api/openai_request.h"

namespace parley::api_json {

// response_format (chat and completions): text, json_object, or json_schema {name, schema, strict}.
Status parse_response_format(const json::object& o, std::optional<ResponseFormat>* out);

// tools (function tools only; names valid and distinct; also kept as tools_json for the chat
// template), tool_choice (a named function must be among the tools; "required" needs tools),
// parallel_tool_calls and reasoning_format.
Status parse_tools(const json::object& o, ChatCompletionRequest* r);

}  // namespace parley::api_json
