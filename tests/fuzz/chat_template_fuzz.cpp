// libFuzzer target for chat templates (src/chat): the input is a template, parsed and rendered
// against a conversation with tools and tool calls. Any input must either be refused with a
// Status that has a message, or render to a string within the output limit; no crash, hang,
// leak or unbounded allocation. The input is also fed to the JSON parser, whose output must
// survive a round trip through tojson. Build and run it with scripts/fuzz --target chat_template.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string_view>

#include "chat/chat_template.h"
#include "chat/json.h"

namespace {

using parley::chat::ChatInput;
using parley::chat::ChatTemplate;
using parley::chat::Value;

[[noreturn]] void fail() {
  std::abort();
}

void expect(bool cond) {
  if (!cond) fail();
}

constexpr std::string_view kMessages = R"([
  {"role": "system", "content": "You are helpful."},
  {"role": "user", "content": "What's the weather in Paris?"},
  {"role": "assistant", "content": null, "tool_calls": [{"id": "call9abcd", "type": "function",
    "function": {"name": "get_weather", "arguments": {"location": "Paris"}}}]},
  {"role": "tool", "tool_call_id": "call9abcd", "name": "get_weather", "content": "22 C"},
  {"role": "assistant", "content": "<think>hm</think>It is 22 C."},
  {"role": "user", "content": "Thanks! \u00e9\u65e5 <b>&</b>"}
])";

constexpr std::string_view kTools = R"([{"type": "function", "function": {"name": "get_weather",
  "description": "Get the weather", "parameters": {"type": "object", "properties": {
    "location": {"type": "string", "description": "The city"},
    "days": {"type": "integer", "default": 1, "minimum": 1},
    "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["location"]}}}])";

const ChatInput& input() {
  static const ChatInput in = [] {
    ChatInput i;
    i.messages = *parley::chat::value_from_json(kMessages);
    i.tools = *parley::chat::value_from_json(kTools);
    i.add_generation_prompt = true;
    i.bos_token = "<s>";
    i.eos_token = "</s>";
    std::tm now{};
    now.tm_year = 124;
    now.tm_mon = 8;
    now.tm_mday = 3;
    i.now = now;
    return i;
  }();
  return in;
}

// Small limits keep each run fast, so the fuzzer explores structure rather than waiting.
parley::chat::RenderLimits fuzz_limits() {
  parley::chat::RenderLimits l;
  l.output_bytes_max = 1 << 16;
  l.string_bytes_max = 1 << 16;
  l.alloc_bytes_max = 1 << 22;
  l.steps_max = 200'000;
  l.time_max = std::chrono::milliseconds(2000);
  return l;
}

void fuzz_json(std::string_view text) {
  parley::chat::JsonLimits limits;
  limits.depth_max = 32;
  const auto v = parley::chat::value_from_json(text, limits);
  if (!v.ok()) {
    expect(!v.status().message().empty());
    return;
  }
  const auto dumped = parley::chat::to_json(*v);
  expect(dumped.ok());
  const auto again = parley::chat::value_from_json(*dumped, limits);
  expect(again.ok());
  expect(*parley::chat::to_json(*again) == *dumped);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz_json(text);
  const auto parsed = ChatTemplate::parse(text);
  if (!parsed.ok()) {
    expect(!parsed.status().message().empty());
    return 0;
  }
  const parley::chat::RenderLimits limits = fuzz_limits();
  const auto out = parsed->render(input(), limits);
  if (!out.ok()) {
    expect(!out.status().message().empty());
    return 0;
  }
  expect(out->size() <= limits.output_bytes_max);
  return 0;
}
