// Tools, tool calls and tool results through every chat template (chat/tool_prompt.h): the probe
// finds what each template of ../shared/templates accepts, and an OpenAI conversation (tools,
// an assistant turn with tool_calls and content null, arguments as JSON strings, tool results
// with tool_call_id) then renders through every one of them and through Parley's ChatML, whose
// built-in tool format is the same text whether the template writes it or the adapter does.
#include "chat/tool_prompt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "chat/json.h"
#include "jinja_reference.h"
#include "test_support.h"

namespace parley::chat {
namespace {

Value json(std::string_view text) {
  auto v = value_from_json(text);
  CHECK(v.ok(), "{}", v.status().to_string());
  return *v;
}

// The ChatML template Parley had before it knew tools (the built-in vocabulary's until then; model
// files synthesized before still carry it).
constexpr std::string_view kLegacyChatMl =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

constexpr std::string_view kTools = R"([
 {"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city",
  "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city"}},
                 "required": ["city"]}}},
 {"type": "function", "function": {"name": "search", "description": "Search the web",
  "parameters": {"type": "object", "properties": {"query": {"type": "string", "description": "What to look for"}},
                 "required": ["query"]}}}])";

// What OpenAI clients send (the AI SDK, LangChain, the openai package): arguments as JSON
// strings, content null next to tool calls, ids of their own making.
std::string openai_conversation(bool system, bool parallel, bool answered) {
  std::string calls =
      R"({"id": "call_abc123", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}})";
  std::string results = R"(, {"role": "tool", "tool_call_id": "call_abc123", "content": "22 degrees and sunny"})";
  if (parallel) {
    calls +=
        R"(, {"id": "call_def456", "type": "function", "function": {"name": "search", "arguments": "{\"query\": \"Paris events\"}"}})";
    results += R"(, {"role": "tool", "tool_call_id": "call_def456", "content": "A jazz festival"})";
  }
  std::string m = "[";
  if (system) m += R"({"role": "system", "content": "You are helpful."}, )";
  m += R"({"role": "user", "content": "What's the weather in Paris?"},
          {"role": "assistant", "content": null, "tool_calls": [)" +
       calls + "]}" + results;
  if (answered)
    m += R"(, {"role": "assistant", "content": "It is 22 degrees."}, {"role": "user", "content": "Thanks!"})";
  return m + "]";
}

std::vector<std::filesystem::path> template_files() {
  std::vector<std::filesystem::path> out;
  const std::filesystem::path dir = std::filesystem::path(parley::testing::shared_dir()) / "templates";
  if (!std::filesystem::is_directory(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".jinja") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::string> render(const ChatTemplate& t, const ToolTemplateSupport& s, const std::string& messages,
                           bool with_tools) {
  ChatInput in;
  in.messages = json(messages);
  if (with_tools) in.tools = json(kTools);
  in.add_generation_prompt = true;
  in.bos_token = "<s>";
  in.eos_token = "</s>";
  in.now = testing::fixed_now();
  RETURN_IF_ERROR(adapt_chat_input(s, &in));
  return t.render(in);
}

std::string describe(const ToolTemplateSupport& s) {
  return fmt::format(
      "tools={} tool_calls={} object_arguments={} empty_for_null={} nine_char_ids={} functions={} system={} "
      "parallel={}",
      s.tools, s.tool_calls, s.object_arguments, s.empty_for_null_content, s.nine_char_call_ids, s.functions_variable,
      s.system_role, s.parallel_calls);
}

TEST(ToolPrompt, ProbeFindsWhatEachTemplateAccepts) {
  const auto files = template_files();
  ASSERT_FALSE(files.empty());
  std::map<std::string, ToolTemplateSupport> found;
  for (const auto& f : files) {
    auto t = ChatTemplate::parse(parley::testing::read_file(f.string()));
    ASSERT_TRUE(t.ok());
    found[f.stem().string()] = probe_tool_template(*t);
    std::printf("%-55s %s\n", f.stem().string().c_str(), describe(found[f.stem().string()]).c_str());
  }
  const auto at = [&](const char* name) { return found.at(name); };
  // Qwen 2.5 and Llama 3.x: tools shown, arguments as objects (a string would be double-encoded).
  for (const char* name :
       {"Qwen-Qwen2.5-7B-Instruct", "meta-llama-Llama-3.1-8B-Instruct", "meta-llama-Llama-3.2-3B-Instruct",
        "meta-llama-Llama-3.3-70B-Instruct", "CohereForAI-c4ai-command-r7b-12-2024-tool_use"}) {
    EXPECT_TRUE(at(name).tools) << name;
    EXPECT_TRUE(at(name).tool_calls) << name;
    EXPECT_TRUE(at(name).object_arguments) << name;
  }
  // Hermes takes the arguments as they come.
  EXPECT_TRUE(at("NousResearch-Hermes-3-Llama-3.1-8B-tool_use").tools);
  EXPECT_FALSE(at("NousResearch-Hermes-3-Llama-3.1-8B-tool_use").object_arguments);
  // Functionary and the DeepSeek R1 distills concatenate the JSON string.
  for (const char* name : {"meetkai-functionary-medium-v3.1", "meetkai-functionary-medium-v3.2",
                           "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B"}) {
    EXPECT_TRUE(at(name).tool_calls) << name;
    EXPECT_FALSE(at(name).object_arguments) << name;
  }
  // Llama 3.x takes one call per assistant turn (parallel calls are split); the others take several.
  for (const char* name :
       {"meta-llama-Llama-3.1-8B-Instruct", "meta-llama-Llama-3.2-3B-Instruct", "meta-llama-Llama-3.3-70B-Instruct"}) {
    EXPECT_FALSE(at(name).parallel_calls) << name;
  }
  EXPECT_TRUE(at("Qwen-Qwen2.5-7B-Instruct").parallel_calls);
  EXPECT_TRUE(at("NousResearch-Hermes-3-Llama-3.1-8B-tool_use").parallel_calls);
  // The distills show no tool definitions; llama.cpp's R1 template fails on them in Jinja2.
  EXPECT_FALSE(at("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B").tools);
  EXPECT_FALSE(at("llama-cpp-deepseek-r1").tools);
  EXPECT_TRUE(at("llama-cpp-deepseek-r1").tool_calls);
  EXPECT_TRUE(at("mistralai-Mistral-Nemo-Instruct-2407").nine_char_call_ids);
  EXPECT_TRUE(at("mistralai-Mistral-Nemo-Instruct-2407").tools);
  EXPECT_TRUE(at("fireworks-ai-llama-3-firefunction-v2").functions_variable);
  EXPECT_TRUE(at("fireworks-ai-llama-3-firefunction-v2").tool_calls);
  // No tool support at all: everything goes in the built-in format.
  EXPECT_FALSE(at("microsoft-Phi-3.5-mini-instruct").tools);
  EXPECT_FALSE(at("microsoft-Phi-3.5-mini-instruct").tool_calls);
  EXPECT_FALSE(at("google-gemma-2-2b-it").tools);
  EXPECT_FALSE(at("google-gemma-2-2b-it").system_role);

  auto chatml = ChatTemplate::parse(builtin_chatml_template());
  ASSERT_TRUE(chatml.ok());
  const ToolTemplateSupport c = probe_tool_template(*chatml);
  EXPECT_TRUE(c.tools && c.tool_calls && !c.object_arguments && !c.empty_for_null_content && !c.nine_char_call_ids)
      << describe(c);
}

TEST(ToolPrompt, OpenAiToolConversationsRenderThroughEveryTemplate) {
  auto files = template_files();
  ASSERT_FALSE(files.empty());
  std::vector<std::pair<std::string, std::string>> sources;
  for (const auto& f : files) sources.emplace_back(f.stem().string(), parley::testing::read_file(f.string()));
  sources.emplace_back("builtin-chatml", std::string(builtin_chatml_template()));
  sources.emplace_back("legacy-chatml", std::string(kLegacyChatMl));
  for (const auto& [name, source] : sources) {
    auto t = ChatTemplate::parse(source);
    ASSERT_TRUE(t.ok()) << name;
    const ToolTemplateSupport s = probe_tool_template(*t);
    for (const bool system : {false, true}) {
      for (const bool parallel : {false, true}) {
        for (const bool answered : {false, true}) {
          const std::string label =
              fmt::format("{} system={} parallel={} answered={}", name, system, parallel, answered);
          const Result<std::string> out = render(*t, s, openai_conversation(system, parallel, answered), true);
          ASSERT_TRUE(out.ok()) << label << ": " << out.status().to_string();
          // The tool definitions, the call's arguments as JSON (not a JSON string in JSON), and
          // the result all reach the prompt.
          EXPECT_NE(out->find("Get the weather in a city"), std::string::npos) << label << "\n" << *out;
          EXPECT_NE(out->find("Paris\""), std::string::npos) << label << "\n" << *out;
          EXPECT_EQ(out->find("\\\"city\\\""), std::string::npos) << label << "\n" << *out;
          EXPECT_NE(out->find("22 degrees and sunny"), std::string::npos) << label << "\n" << *out;
          if (parallel) {
            EXPECT_NE(out->find("A jazz festival"), std::string::npos) << label << "\n" << *out;
          }
        }
      }
    }
  }
}

TEST(ToolPrompt, BuiltinFormatIsTheSameFromTheTemplateAndFromTheAdapter) {
  auto chatml = ChatTemplate::parse(builtin_chatml_template());
  auto legacy = ChatTemplate::parse(kLegacyChatMl);
  ASSERT_TRUE(chatml.ok() && legacy.ok());
  const ToolTemplateSupport native = probe_tool_template(*chatml);
  const ToolTemplateSupport adapted = probe_tool_template(*legacy);
  EXPECT_FALSE(adapted.tools || adapted.tool_calls) << describe(adapted);
  for (const bool system : {false, true}) {
    for (const bool parallel : {false, true}) {
      for (const bool answered : {false, true}) {
        for (const bool tools : {false, true}) {
          const std::string conv = openai_conversation(system, parallel, answered);
          const auto a = render(*chatml, native, conv, tools);
          const auto b = render(*legacy, adapted, conv, tools);
          ASSERT_TRUE(a.ok() && b.ok());
          EXPECT_EQ(*a, *b) << conv;
        }
      }
    }
  }
  // Content next to tool calls, and arguments given as an object.
  const std::string mixed = R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Let me look.",
      "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "search", "arguments": {"query": "x"}}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "found"}])";
  const auto a = render(*chatml, native, mixed, true);
  const auto b = render(*legacy, adapted, mixed, true);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(a->find("<|im_start|>assistant\nLet me look.\n<tool_call>\n{\"name\": \"search\", \"arguments\": "
                    "{\"query\": \"x\"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nfound\n"
                    "</tool_response><|im_end|>\n<|im_start|>assistant\n"),
            std::string::npos)
      << *a;
}

TEST(ToolPrompt, BuiltinChatMlExactText) {
  auto t = ChatTemplate::parse(builtin_chatml_template());
  ASSERT_TRUE(t.ok());
  const ToolTemplateSupport s = probe_tool_template(*t);
  const auto out = render(*t, s, openai_conversation(true, true, false), true);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(
      *out,
      "<|im_start|>system\nYou are helpful.\n\n# Tools\n\nYou may call one or more functions to help with the "
      "request. Their signatures are inside <tools></tools>, one JSON object per line:\n<tools>\n"
      R"({"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city", )"
      R"("parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city"}}, )"
      R"("required": ["city"]}}})"
      "\n"
      R"({"type": "function", "function": {"name": "search", "description": "Search the web", "parameters": )"
      R"({"type": "object", "properties": {"query": {"type": "string", "description": "What to look for"}}, )"
      R"("required": ["query"]}}})"
      "\n</tools>\n\nTo call a function, write a JSON object with its name and its arguments inside "
      "<tool_call></tool_call> tags, one pair of tags per call:\n<tool_call>\n{\"name\": <function-name>, "
      "\"arguments\": <arguments-object>}\n</tool_call><|im_end|>\n"
      "<|im_start|>user\nWhat's the weather in Paris?<|im_end|>\n"
      "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
      "</tool_call>\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"Paris events\"}}\n"
      "</tool_call><|im_end|>\n"
      "<|im_start|>user\n<tool_response>\n22 degrees and sunny\n</tool_response>\n<tool_response>\nA jazz "
      "festival\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
  // Without tools it is plain ChatML, as before.
  const auto plain = render(*t, s, R"([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])", false);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ToolPrompt, TemplateSpecificForms) {
  // Mistral: 9-character ids, the same one for a call and its result.
  auto mistral = ChatTemplate::parse(parley::testing::read_file(
      parley::testing::shared_dir() + "/templates/mistralai-Mistral-Nemo-Instruct-2407.jinja"));
  ASSERT_TRUE(mistral.ok());
  const ToolTemplateSupport ms = probe_tool_template(*mistral);
  const auto m = render(*mistral, ms, openai_conversation(false, false, true), true);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const std::size_t id_at = m->find("\"id\": \"");
  ASSERT_NE(id_at, std::string::npos) << *m;
  const std::string id = m->substr(id_at + 7, 9);
  EXPECT_NE(m->find("\"call_id\": \"" + id + "\""), std::string::npos) << *m;
  // Qwen 2.5: the arguments as an object.
  auto qwen = ChatTemplate::parse(
      parley::testing::read_file(parley::testing::shared_dir() + "/templates/Qwen-Qwen2.5-7B-Instruct.jinja"));
  ASSERT_TRUE(qwen.ok());
  const auto q = render(*qwen, probe_tool_template(*qwen), openai_conversation(false, false, false), true);
  ASSERT_TRUE(q.ok());
  EXPECT_NE(q->find(R"({"name": "get_weather", "arguments": {"city": "Paris"}})"), std::string::npos) << *q;
  // Arguments that are not a JSON object stay as sent.
  const auto odd = render(*qwen, probe_tool_template(*qwen),
                          R"([{"role": "user", "content": "x"}, {"role": "assistant", "content": null, "tool_calls":
                              [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "not json"}}]}])",
                          false);
  ASSERT_TRUE(odd.ok()) << odd.status().to_string();
  EXPECT_NE(odd->find("\"not json\""), std::string::npos) << *odd;
}

// Parley's ChatML renders as Jinja2 renders it (Hugging Face's configuration), tools included.
TEST(ToolPrompt, BuiltinChatMlMatchesJinja2) {
  std::vector<testing::ReferenceCase> cases;
  std::vector<ChatInput> inputs;
  for (const bool parallel : {false, true}) {
    for (const bool answered : {false, true}) {
      for (const bool tools : {false, true}) {
        ChatInput in;
        in.messages = json(openai_conversation(true, parallel, answered));
        if (tools) in.tools = json(kTools);
        in.add_generation_prompt = true;
        testing::ReferenceCase rc;
        rc.source = std::string(builtin_chatml_template());
        rc.context.emplace_back("messages", in.messages);
        if (tools) rc.context.emplace_back("tools", in.tools);
        rc.context.emplace_back("add_generation_prompt", Value(true));
        cases.push_back(std::move(rc));
        inputs.push_back(std::move(in));
      }
    }
  }
  std::string why;
  const auto run = testing::run_jinja_reference(cases, &why);
  if (!run) GTEST_SKIP() << "Jinja2 reference unavailable: " << why;
  auto t = ChatTemplate::parse(builtin_chatml_template());
  ASSERT_TRUE(t.ok());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    ASSERT_TRUE(run->results[i].ok) << run->results[i].error;
    const auto ours = t->render(inputs[i]);
    ASSERT_TRUE(ours.ok()) << ours.status().to_string();
    EXPECT_EQ(*ours, run->results[i].output);
  }
}

}  // namespace
}  // namespace parley::chat
