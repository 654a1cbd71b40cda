// Parley's ChatML chat template: the template of the built-in vocabulary (the demo model, and
// every model `parley model synth --vocab-from builtin:bytes` writes) and the template of every
// model that has none (chat::builtin_chatml_template()).
//
// Without tools it is plain ChatML, each message as
//
//   <|im_start|>{role}\n{content}<|im_end|>\n
//
// and `<|im_start|>assistant\n` as the generation prompt. With tools it speaks Parley's built-in
// tool format, the Hermes / Qwen 2.5 layout (also what chat/tool_prompt.h writes into the
// messages of a model whose own template cannot show tools). Exactly:
//
// 1. The tools, in one system turn that comes first (the conversation's first system message, if
//    any, is its opening paragraph, followed by a blank line). Each tool is the request's tool
//    object ({"type": "function", "function": {...}}) as JSON (json.dumps: ", " and ": "), one per line:
//
//      <|im_start|>system\n
//      {system content}\n\n
//      # Tools\n\n
//      You may call one or more functions to help with the request. Their signatures are inside
//      <tools></tools>, one JSON object per line:\n
//      <tools>\n{tool 1}\n{tool 2}\n</tools>\n\n
//      To call a function, write a JSON object with its name and its arguments inside
//      <tool_call></tool_call> tags, one pair of tags per call:\n
//      <tool_call>\n{"name": <function-name>, "arguments": <arguments-object>}\n</tool_call><|im_end|>\n
//
//    (the two long sentences are one line each: see the template's text below.)
//
// 2. An assistant turn with tool calls: its content (when there is any), then each call as a
//    block, blocks separated by "\n" (and the first one from the content by "\n"):
//
//      <|im_start|>assistant\n
//      {content}\n
//      <tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n
//      <tool_call>\n{"name": "now", "arguments": {}}\n</tool_call><|im_end|>\n
//
//    The arguments are the JSON text the client sent (OpenAI's `arguments` string), or the JSON
//    of an object.
//
// 3. Tool results (role "tool"): consecutive ones together in one user turn, in order:
//
//      <|im_start|>user\n<tool_response>\n{content}\n</tool_response>\n<tool_response>\n{content}\n</tool_response><|im_end|>\n
//
// A model answering in this format writes, after `<|im_start|>assistant\n`, optional text and then
// one `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>` block per call; the gateway's
// tool-call parser for the Hermes family reads exactly that.
#include "tokenizer/builtin_vocab.h"

namespace parley {

const std::string_view kChatMlTemplate = R"JINJA({%- if tools %}
{{- '<|im_start|>system\n' }}
{%- if messages and messages[0].role == 'system' and messages[0].content %}
{{- messages[0].content + '\n\n' }}
{%- endif %}
{{- '# Tools\n\nYou may call one or more functions to help with the request. Their signatures are inside <tools></tools>, one JSON object per line:\n<tools>' }}
{%- for tool in tools %}
{{- '\n' + (tool | tojson) }}
{%- endfor %}
{{- '\n</tools>\n\nTo call a function, write a JSON object with its name and its arguments inside <tool_call></tool_call> tags, one pair of tags per call:\n<tool_call>\n{"name": <function-name>, "arguments": <arguments-object>}\n</tool_call><|im_end|>\n' }}
{%- endif %}
{%- for message in messages %}
{%- if tools and loop.first and message.role == 'system' %}
{%- elif message.role == 'tool' %}
{%- if loop.first or loop.previtem.role != 'tool' %}
{{- '<|im_start|>user' }}
{%- endif %}
{{- '\n<tool_response>\n' + (message.content if message.content is string else '') + '\n</tool_response>' }}
{%- if loop.last or loop.nextitem.role != 'tool' %}
{{- '<|im_end|>\n' }}
{%- endif %}
{%- elif message.role == 'assistant' and message.tool_calls %}
{{- '<|im_start|>assistant\n' }}
{%- if message.content %}
{{- message.content }}
{%- endif %}
{%- for call in message.tool_calls %}
{%- if message.content or not loop.first %}
{{- '\n' }}
{%- endif %}
{%- set function = call.function if call.function is defined else call %}
{{- '<tool_call>\n{"name": "' + function.name + '", "arguments": ' }}
{%- if function.arguments is string %}
{{- function.arguments }}
{%- else %}
{{- function.arguments | tojson }}
{%- endif %}
{{- '}\n</tool_call>' }}
{%- endfor %}
{{- '<|im_end|>\n' }}
{%- else %}
{{- '<|im_start|>' + message.role + '\n' + (message.content if message.content is string else '') + '<|im_end|>\n' }}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
{{- '<|im_start|>assistant\n' }}
{%- endif %})JINJA";

}  // namespace parley
