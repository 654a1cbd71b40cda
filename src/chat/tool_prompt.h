// Tools, tool calls and tool results through any chat template.
//
// Templates differ in what they accept: OpenAI clients send an assistant turn with `tool_calls`
// and `content: null`, each call's `arguments` as a JSON *string*, and tool results with a
// `tool_call_id`; Qwen 2.5 and Llama 3.x templates want the arguments as an object (a string
// comes out double-encoded), DeepSeek R1 and Functionary want the string (an object fails),
// Phi-3.5 fails on a null content, Mistral wants 9-character call ids, FireFunction v2 reads
// `functions` and `datetime` instead of `tools`, and many templates show no tools at all.
//
// probe_tool_template() finds out once per template (at model load) by rendering a few probe
// conversations; adapt_chat_input() then rewrites each request's ChatInput so that the template
// renders it faithfully:
//   - a template that shows the tool definitions gets them as `tools`; one that does not (or
//     fails on them) gets none, and the definitions go into the system prompt in Parley's
//     built-in tool format instead (tokenizer/chatml_template.cpp documents it: the Hermes /
//     Qwen 2.5 layout with <tools>, <tool_call> and <tool_response>): the first system message
//     gets the block, or a system message is added;
//   - a template that renders tool calls and results gets them in the form it accepts (arguments
//     as an object or a string, "" for a null content, 9-character ids consistently mapped);
//     one that does not gets them as text in the built-in format: the calls appended to the
//     assistant's content, the results as one user turn of <tool_response> blocks; where a
//     template takes one call per turn (Llama 3.x), parallel calls become consecutive turns of
//     one call followed by its result;
//   - a template that refuses system messages (Gemma) gets the system message's text at the head
//     of the first user message instead, as those models are instructed.
// Parley's own ChatML template speaks the built-in format natively, so the prompt of a ChatML
// model is the same whichever way it goes.
#pragma once

#include <string>

#include "base/result.h"
#include "chat/chat_template.h"

namespace parley::chat {

struct ToolTemplateSupport {
  bool tools = false;                   // shows the tool definitions given as `tools`
  bool tool_calls = false;              // shows assistant tool calls and tool results
  bool object_arguments = false;        // wants function.arguments as an object, not a JSON string
  bool empty_for_null_content = false;  // fails on content: null; "" works
  bool nine_char_call_ids = false;      // wants call ids of 9 characters (Mistral)
  bool parallel_calls = false;          // accepts several calls in one assistant turn (not Llama 3.x)
  bool functions_variable = false;      // reads `functions` and `datetime` (FireFunction v2)
  bool system_role = true;              // accepts a system message
};

// Renders probe conversations (a few milliseconds; at load, not per request).
ToolTemplateSupport probe_tool_template(const ChatTemplate& tmpl);

// Rewrites input->messages and input->tools (and adds `functions`/`datetime` to input->extra
// where the template reads them) as described above. Messages are OpenAI's, normalised
// (api/openai_request.h): role, content (string or null), tool_calls, tool_call_id, name.
Status adapt_chat_input(const ToolTemplateSupport& support, ChatInput* input);

// The built-in format's system block for `tools` (a list of OpenAI tool objects): the text
// Parley's ChatML template writes after the system message (from "# Tools" to the closing
// "</tool_call>").
Result<std::string> builtin_tools_block(const Value& tools);

// One tool call in the built-in format: <tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>
// (`call` is an OpenAI tool call object, or its `function` object).
Result<std::string> builtin_tool_call_text(const Value& call);

}  // namespace parley::chat
