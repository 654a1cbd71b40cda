// THE reference test: every real chat template in ../shared/templates, rendered for a matrix of
// conversations by our renderer and by Jinja2 itself (python3, configured as Hugging Face does),
// must give the same bytes -- or both must fail (e.g. templates that require alternating roles).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "chat/chat_template.h"
#include "chat/json.h"
#include "jinja_reference.h"
#include "test_support.h"

namespace parley::chat {
namespace {

using testing::ReferenceCase;

Value json(std::string_view text) {
  auto v = value_from_json(text);
  CHECK(v.ok(), "{}", v.status().to_string());
  return *v;
}

constexpr std::string_view kTools = R"([
 {"type": "function", "function": {"name": "get_weather", "description": "Get the current weather in a given location",
  "parameters": {"type": "object", "properties": {
    "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "The unit of temperature"}},
   "required": ["location"]}}},
 {"type": "function", "function": {"name": "search", "description": "Search the web's pages",
  "parameters": {"type": "object", "properties": {
    "query": {"type": "string", "description": "What to look for"},
    "max_results": {"type": "integer", "description": "How many results", "default": 5, "minimum": 1, "maximum": 20},
    "tags": {"type": "array", "items": {"type": "string"}, "description": "Filter tags"},
    "options": {"type": "object", "properties": {"safe": {"type": "boolean", "description": "Safe search"}},
                "description": "Extra options"}},
   "required": ["query"]}}}
])";

// Tools without object-typed parameters: Command R+'s schema walk needs additionalProperties on
// those, so with kTools it (correctly) fails.
constexpr std::string_view kSimpleTools = R"([
 {"type": "function", "function": {"name": "get_weather", "description": "Get the weather",
  "parameters": {"type": "object", "properties": {
    "location": {"type": "string", "description": "The city"},
    "days": {"type": ["integer", "string"], "description": "Forecast days"},
    "fields": {"type": "array", "items": {"type": "string"}, "description": "Which fields"}},
   "required": ["location"]}}},
 {"type": "function", "function": {"name": "now", "description": "The time", "parameters": {"type": "object", "properties": {}}}}
])";

struct Conversation {
  std::string name;
  std::string messages;
  bool with_tools = false;
  bool simple_tools = false;
};

std::string tool_call_conversation(bool string_arguments, bool parallel, bool final_answer) {
  const std::string args = string_arguments ? R"("{\"location\": \"Paris\", \"unit\": \"celsius\"}")"
                                            : R"({"location": "Paris", "unit": "celsius"})";
  std::string calls = R"({"id": "call9abcd", "type": "function", "function": {"name": "get_weather", "arguments": )" + args + "}}";
  std::string results = R"({"role": "tool", "tool_call_id": "call9abcd", "name": "get_weather", "content": "{\"temperature\": 22}"})";
  if (parallel) {
    const std::string args2 = string_arguments ? R"("{\"query\": \"Paris events\"}")" : R"({"query": "Paris events"})";
    calls += R"(, {"id": "call8wxyz", "type": "function", "function": {"name": "search", "arguments": )" + args2 + "}}";
    results += R"(, {"role": "tool", "tool_call_id": "call8wxyz", "name": "search", "content": "A jazz festival."})";
  }
  std::string m = R"([{"role": "system", "content": "You are a helpful assistant with tools."},
    {"role": "user", "content": "What's the weather in Paris?"},
    {"role": "assistant", "content": null, "tool_calls": [)" + calls + "]}, " + results;
  if (final_answer) {
    m += R"(, {"role": "assistant", "content": "It is 22 degrees in Paris."}, {"role": "user", "content": "Thanks!"})";
  }
  return m + "]";
}

std::vector<Conversation> conversations() {
  return {
      {"single_user", R"([{"role": "user", "content": "Hello! How are you?"}])"},
      {"system_user", R"([{"role": "system", "content": "You are a helpful assistant."},
                          {"role": "user", "content": "What is the capital of France?"}])"},
      {"multi_turn", R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
                         {"role": "user", "content": "Tell me a joke."}])"},
      {"system_multi_turn", R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                                {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "2+2?"}])"},
      {"assistant_last", R"([{"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "Hi!"}])"},
      {"thinking", R"([{"role": "user", "content": "2+2?"},
                       {"role": "assistant", "content": "<think>\nSimple.\n</think>\n\nIt is 4."},
                       {"role": "user", "content": "And 3+3?"}])"},
      {"special_chars", R"([{"role": "system", "content": "  Use <b>bold</b> & \"quotes\" 'single'.  "},
                            {"role": "user", "content": "  \u00dcn\u00efc\u00f6d\u00e9 \u65e5\u672c\u8a9e \ud83d\ude00\ttab\nline\\n  "}])"},
      {"user_user", R"([{"role": "user", "content": "One"}, {"role": "user", "content": "Two"}])"},
      {"empty", "[]"},
      {"tools_user", R"([{"role": "user", "content": "What's the weather in Paris?"}])", true},
      {"simple_tools_user", R"([{"role": "system", "content": "Be precise."}, {"role": "user", "content": "Weather?"}])", true, true},
      {"simple_tools_call", tool_call_conversation(false, false, true), true, true},
      {"tools_system_user", R"([{"role": "system", "content": "Use tools."}, {"role": "user", "content": "Weather?"}])", true},
      {"tool_call_object_args", tool_call_conversation(false, false, false), true},
      {"tool_call_string_args", tool_call_conversation(true, false, false), true},
      {"tool_call_answered", tool_call_conversation(false, false, true), true},
      {"parallel_tool_calls", tool_call_conversation(false, true, false), true},
      {"parallel_tool_calls_string", tool_call_conversation(true, true, true), true},
      {"builtin_tool_call", R"([{"role": "user", "content": "Search the news"},
          {"role": "assistant", "content": null, "tool_calls": [{"id": "call7brav", "type": "function",
            "function": {"name": "brave_search", "arguments": {"query": "news"}}}]},
          {"role": "tool", "tool_call_id": "call7brav", "content": "Nothing new."}])", true},
  };
}

// Variables beyond the standard ones, to reach the templates' other branches (firefunction
// needs `functions` and `datetime`; Llama 3.1 has builtin tools; Command R has documents).
std::vector<std::pair<std::string, Value>> extras() {
  return {
      {"functions", Value(std::string(R"([{"name": "get_weather"}])"))},
      {"datetime", Value("2024-09-03")},
      {"builtin_tools", json(R"(["brave_search", "wolfram_alpha"])")},
      {"documents", json(R"([{"title": "Tides", "text": "High tide at 6am."}, {"title": "Moon", "text": "Full."}])")},
      {"enable_citations", Value(true)},
      {"tools_in_user_message", Value(false)},
  };
}

struct Case {
  std::string template_name;
  std::string label;
  ChatInput input;
};

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

TEST(ChatTemplateReference, EveryTemplateParses) {
  const auto files = template_files();
  ASSERT_FALSE(files.empty()) << "no templates under " << parley::testing::shared_dir() << "/templates";
  for (const auto& f : files) {
    auto t = ChatTemplate::parse(parley::testing::read_file(f.string()));
    EXPECT_TRUE(t.ok()) << f.filename() << ": " << t.status().to_string();
  }
}

std::string first_difference(const std::string& a, const std::string& b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const std::size_t from = i > 40 ? i - 40 : 0;
  return fmt::format("first difference at byte {}:\n  jinja2: {:?}\n  ours:   {:?}", i, a.substr(from, 120), b.substr(from, 120));
}

TEST(ChatTemplateReference, MatchesJinja2ByteForByte) {
  const auto files = template_files();
  ASSERT_FALSE(files.empty()) << "no templates under " << parley::testing::shared_dir() << "/templates";

  std::vector<Case> cases;
  std::vector<ReferenceCase> ref_cases;
  std::map<std::string, ChatTemplate> parsed;
  std::map<std::string, std::string> sources;
  const Value tools = json(kTools);
  const Value simple_tools = json(kSimpleTools);
  for (const auto& f : files) {
    const std::string name = f.stem().string();
    sources[name] = parley::testing::read_file(f.string());
    auto t = ChatTemplate::parse(sources[name]);
    ASSERT_TRUE(t.ok()) << name << ": " << t.status().to_string();
    parsed.emplace(name, *t);
    for (const Conversation& conv : conversations()) {
      for (int variant = 0; variant < 3; ++variant) {
        // 0: plain; 1: with extra variables; 2: tools=None passed explicitly (as transformers does)
        if (variant == 2 && conv.with_tools) continue;
        for (bool agp : {false, true}) {
          Case c;
          c.template_name = name;
          c.label = fmt::format("{} / {} / {}add_generation_prompt", conv.name,
                                variant == 0 ? "plain" : (variant == 1 ? "extras" : "tools=None"), agp ? "" : "no ");
          c.input.messages = json(conv.messages);
          if (conv.with_tools) c.input.tools = conv.simple_tools ? simple_tools : tools;
          if (variant == 2) c.input.tools = Value::none();
          c.input.add_generation_prompt = agp;
          c.input.bos_token = "<s>";
          c.input.eos_token = "</s>";
          if (variant == 1) c.input.extra = extras();
          c.input.now = testing::fixed_now();
          ReferenceCase rc;
          rc.source = sources[name];
          for (const auto& kv : c.input.extra) rc.context.push_back(kv);
          rc.context.emplace_back("messages", c.input.messages);
          if (!c.input.tools.is_undefined()) rc.context.emplace_back("tools", c.input.tools);
          rc.context.emplace_back("add_generation_prompt", Value(agp));
          rc.context.emplace_back("bos_token", Value(c.input.bos_token));
          rc.context.emplace_back("eos_token", Value(c.input.eos_token));
          cases.push_back(std::move(c));
          ref_cases.push_back(std::move(rc));
        }
      }
    }
  }

  std::string why;
  const auto run = testing::run_jinja_reference(ref_cases, &why);
  if (!run) GTEST_SKIP() << "Jinja2 reference unavailable: " << why;

  struct Tally {
    int rendered = 0;
    int errors = 0;
    int mismatches = 0;
  };
  std::map<std::string, Tally> tally;
  int reported = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const testing::ReferenceResult& want = run->results[i];
    const auto got = parsed.at(c.template_name).render(c.input);
    Tally& t = tally[c.template_name];
    bool same;
    std::string detail;
    if (want.ok && got.ok()) {
      same = *got == want.output;
      if (!same) detail = first_difference(want.output, *got);
    } else if (!want.ok && !got.ok()) {
      // Both fail; a template's own raise_exception must fail with its message in both.
      constexpr std::string_view kRaised = "TemplateError: ";
      same = !want.error.starts_with(kRaised) ||
             got.status().message().ends_with(want.error.substr(kRaised.size()));
      if (!same) detail = "different errors: jinja2 " + want.error + "; ours " + got.status().to_string();
      if (std::getenv("PARLEY_CHAT_SHOW_ERRORS") != nullptr) {
        std::printf("%s [%s]\n  jinja2: %s\n  ours:   %s\n", c.template_name.c_str(), c.label.c_str(),
                    want.error.c_str(), got.status().to_string().c_str());
      }
    } else if (want.ok) {
      same = false;
      detail = "jinja2 rendered it, we failed: " + got.status().to_string();
    } else {
      same = false;
      detail = "jinja2 failed (" + want.error + "), we rendered:\n" + got->substr(0, 300);
    }
    if (!same) {
      ++t.mismatches;
      if (++reported <= 30) ADD_FAILURE() << c.template_name << " [" << c.label << "]: " << detail;
    } else if (want.ok) {
      ++t.rendered;
    } else {
      ++t.errors;
    }
  }
  std::string summary = fmt::format("Jinja2 {}: {} cases\n", run->jinja2_version, cases.size());
  for (const auto& [name, t] : tally) {
    summary += fmt::format("  {:55} {:3} rendered identically, {:3} errors in both, {} mismatches\n", name, t.rendered,
                           t.errors, t.mismatches);
  }
  std::printf("%s", summary.c_str());
  EXPECT_EQ(reported, 0) << summary;
}

}  // namespace
}  // namespace parley::chat
