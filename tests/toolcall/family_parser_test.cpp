// Hand-written model outputs of every family, parsed whole, split at every byte boundary and fed
// byte by byte, with calls held (auto) and streamed (constrained): the same content, reasoning and
// calls every time.
#include <gtest/gtest.h>

#include "parser_test_util.h"
#include "toolcall/markers.h"

namespace parley {
namespace {

using testing::expect_split_invariant;
using testing::tool_options;

struct Call {
  std::string name;
  std::string arguments;
};

struct Case {
  const char* what;
  ToolFamily family;
  std::string text;
  std::string content;
  std::vector<Call> calls;
  std::string reasoning = "";
  ReasoningSyntax reasoning_syntax = ReasoningSyntax::kNone;
  bool starts_in_reasoning = false;
};

std::string r1_call(const std::string& name, const std::string& args) {
  return std::string(markers::kR1CallBegin) + "function" + std::string(markers::kR1Sep) + name + "\n```json\n" + args +
         "\n```" + std::string(markers::kR1CallEnd);
}

std::vector<Case> cases() {
  const std::string r1_calls = std::string(markers::kR1CallsBegin) + r1_call("get_weather", R"({"city": "Paris"})") +
                               "\n" + r1_call("get_time", "{}") + std::string(markers::kR1CallsEnd);
  return {
      {"hermes one call",
       ToolFamily::kHermes,
       "I'll check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
       "I'll check.",
       {{"get_weather", R"({"city": "Paris"})"}}},
      {"hermes parallel",
       ToolFamily::kHermes,
       "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": [1, {\"y\": \"}\"}]}}\n</tool_call>\n<tool_call>\n"
       "{\"name\": \"b\", \"arguments\": {}}\n</tool_call>",
       "",
       {{"a", R"({"x": [1, {"y": "}"}]})"}, {"b", "{}"}}},
      {"hermes arguments before the name",
       ToolFamily::kHermes,
       "<tool_call>{\"arguments\": {\"q\": \"\\u00e9\"}, \"name\": \"search\"}</tool_call>",
       "",
       {{"search", R"({"q": "\u00e9"})"}}},
      {"hermes arguments as a string",
       ToolFamily::kHermes,
       "<tool_call>\n{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}\n</tool_call>",
       "",
       {{"f", R"({"a": 1})"}}},
      {"hermes missing close at the end",
       ToolFamily::kHermes,
       "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}",
       "",
       {{"f", R"({"a": 1})"}}},
      {"hermes text after the calls",
       ToolFamily::kHermes,
       "<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>\n\nDone.",
       "Done.",
       {{"f", "{}"}}},
      {"builtin is hermes", ToolFamily::kBuiltin, "<tool_call>\n{\"name\": \"f\"}\n</tool_call>", "", {{"f", "{}"}}},
      {"plain content", ToolFamily::kHermes, "Hello <b>world</b> <tool", "Hello <b>world</b> <tool", {}},
      {"llama3 json",
       ToolFamily::kLlama3,
       "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
       "",
       {{"get_weather", R"({"city": "Paris"})"}}},
      {"llama3 python tag",
       ToolFamily::kLlama3,
       "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
       "",
       {{"get_weather", R"({"city": "Paris"})"}}},
      {"llama3 built-in tool",
       ToolFamily::kLlama3,
       "<|python_tag|>brave_search.call(query=\"weather in \\\"Paris\\\"\")",
       "",
       {{"brave_search", R"({"query": "weather in \"Paris\""})"}}},
      {"llama3 two calls",
       ToolFamily::kLlama3,
       "{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"k\": null}}",
       "",
       {{"a", "{}"}, {"b", R"({"k": null})"}}},
      {"llama3 json content", ToolFamily::kLlama3, "{\"answer\": 42}", "{\"answer\": 42}", {}},
      {"llama3 text", ToolFamily::kLlama3, "The weather is {fine}.", "The weather is {fine}.", {}},
      {"mistral",
       ToolFamily::kMistral,
       "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"x\": 1}}, {\"name\": \"b\", \"arguments\": {}, \"id\": "
       "\"abcdefghi\"}]",
       "",
       {{"a", R"({"x": 1})"}, {"b", "{}"}}},
      {"mistral after text",
       ToolFamily::kMistral,
       "Sure. [TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {}}]",
       "Sure.",
       {{"a", "{}"}}},
      {"functionary v3.1",
       ToolFamily::kFunctionaryV31,
       "Checking.<function=get_weather>{\"city\": \"Paris\"}</function><function=get_time>{}</function>",
       "Checking.",
       {{"get_weather", R"({"city": "Paris"})"}, {"get_time", "{}"}}},
      {"functionary v3.1 python",
       ToolFamily::kFunctionaryV31,
       "<|python_tag|>print(\"hi\")\nx = 1",
       "",
       {{"python", R"({"code": "print(\"hi\")\nx = 1"})"}}},
      {"functionary v3.2",
       ToolFamily::kFunctionaryV32,
       "all\nLet me check.>>>get_weather\n{\"city\": \"Paris\"}>>>get_time\n{}",
       "Let me check.",
       {{"get_weather", R"({"city": "Paris"})"}, {"get_time", "{}"}}},
      {"functionary v3.2 call first",
       ToolFamily::kFunctionaryV32,
       "get_weather\n{\"city\": \"Paris\"}",
       "",
       {{"get_weather", R"({"city": "Paris"})"}}},
      {"functionary v3.2 content only", ToolFamily::kFunctionaryV32, "all\nHello!", "Hello!", {}},
      {"functionary v3.2 no recipient", ToolFamily::kFunctionaryV32, "Hello there, friend", "Hello there, friend", {}},
      {"command r",
       ToolFamily::kCommandR,
       "Action:\n```json\n[\n    {\n        \"tool_name\": \"get_weather\",\n        \"parameters\": {\"city\": "
       "\"Paris\"}\n    }\n]\n```",
       "",
       {{"get_weather", R"({"city": "Paris"})"}}},
      {"command r7b",
       ToolFamily::kCommandR7B,
       "<|START_THINKING|>I should call it.<|END_THINKING|><|START_ACTION|>[\n    {\"tool_call_id\": \"0\", "
       "\"tool_name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}\n]<|END_ACTION|>",
       "",
       {{"get_weather", R"({"city": "Paris"})"}},
       "I should call it.",
       ReasoningSyntax::kCommandR7B},
      {"command r7b response",
       ToolFamily::kCommandR7B,
       "<|START_RESPONSE|>Hi there<|END_RESPONSE|>",
       "Hi there",
       {},
       "",
       ReasoningSyntax::kCommandR7B},
      {"firefunction",
       ToolFamily::kFireFunction,
       "Let me look. functools[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, {\"name\": \"x\", "
       "\"arguments\": {}}]",
       "Let me look.",
       {{"get_weather", R"({"city": "Paris"})"}, {"x", "{}"}}},
      {"deepseek r1",
       ToolFamily::kDeepSeekR1,
       "Let me think.\n</think>\n\n" + r1_calls,
       "",
       {{"get_weather", R"({"city": "Paris"})"}, {"get_time", "{}"}},
       "Let me think.",
       ReasoningSyntax::kThinkTags,
       true},
      {"deepseek r1 answer",
       ToolFamily::kDeepSeekR1,
       "Hmm.</think>It is sunny.",
       "It is sunny.",
       {},
       "Hmm.",
       ReasoningSyntax::kThinkTags,
       true},
      {"generic",
       ToolFamily::kGeneric,
       "{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, {\"name\": \"b\", "
       "\"arguments\": {}}]}",
       "",
       {{"get_weather", R"({"city": "Paris"})"}, {"b", "{}"}}},
      {"generic content", ToolFamily::kGeneric, "{\"response\": \"hi\"}", "{\"response\": \"hi\"}", {}},
      {"qwen3 thinking with a call",
       ToolFamily::kHermes,
       "<think>\nThe user wants weather.\n</think>\n\n<tool_call>\n{\"name\": \"w\", \"arguments\": {}}\n</tool_call>",
       "",
       {{"w", "{}"}},
       "The user wants weather.",
       ReasoningSyntax::kThinkTags},
  };
}

void check(const Case& c, bool hold) {
  SCOPED_TRACE(std::string(c.what) + (hold ? " (held)" : " (streamed)"));
  OutputParserOptions o = tool_options(c.family, hold);
  o.reasoning = c.reasoning_syntax;
  o.starts_in_reasoning = c.starts_in_reasoning;
  const testing::ParseRun r = expect_split_invariant(o, c.text);
  EXPECT_EQ(r.out.content, c.content);
  EXPECT_EQ(r.out.reasoning, c.reasoning);
  ASSERT_EQ(r.out.tool_calls.size(), c.calls.size()) << testing::describe(r.events);
  for (std::size_t i = 0; i < c.calls.size(); ++i) {
    EXPECT_EQ(r.out.tool_calls[i].name, c.calls[i].name);
    EXPECT_EQ(r.out.tool_calls[i].arguments, c.calls[i].arguments);
    EXPECT_EQ(r.out.tool_calls[i].id, "call_" + std::to_string(i));
  }
}

TEST(FamilyParsers, HandWrittenOutputsOfEveryFamily) {
  for (const Case& c : cases()) {
    check(c, true);
    check(c, false);
  }
}

struct Malformed {
  ToolFamily family;
  std::string text;
};

TEST(FamilyParsers, MalformedCallsComeBackAsContent) {
  const Malformed cases[] = {
      {ToolFamily::kHermes, "<tool_call>\nnot json\n</tool_call>"},
      {ToolFamily::kHermes, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": }}\n</tool_call>"},
      {ToolFamily::kHermes, "<tool_call>{\"nam\": \"f\"}</tool_call>"},
      {ToolFamily::kHermes, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1"},
      {ToolFamily::kHermes, "<tool_call>{\"name\": 3}</tool_call>"},
      {ToolFamily::kHermes, "<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>"},
      {ToolFamily::kHermes, "<tool_call>{\"name\": \"f\", \"arguments\": \"not json\"}</tool_call>"},
      {ToolFamily::kHermes, "<tool_call>{\"name\": \"f\", \"arguments\": \"[1, 2]\"}</tool_call>"},
      {ToolFamily::kLlama3, "<|python_tag|>import os"},
      {ToolFamily::kLlama3, "{\"name\": \"f\", \"parameters\": {\"a\": 1}"},
      {ToolFamily::kMistral, "[TOOL_CALLS] sorry, no."},
      {ToolFamily::kMistral, "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {}}, oops]"},
      {ToolFamily::kFunctionaryV31, "<function=bad name>{}</function>"},
      {ToolFamily::kFunctionaryV31, "<function=f>not json</function>"},
      {ToolFamily::kFunctionaryV32, "f\n[1, 2]"},
      {ToolFamily::kCommandR, "Action: I will answer directly."},
      {ToolFamily::kCommandR7B, "<|START_ACTION|>[{\"tool_name\": }]<|END_ACTION|>"},
      {ToolFamily::kFireFunction, "functools[{\"name\": \"x\"}, {]"},
      {ToolFamily::kDeepSeekR1, std::string(markers::kR1CallsBegin) + std::string(markers::kR1CallBegin) + "function" +
                                    std::string(markers::kR1Sep) + "f\n```json\n{\"a\": \n```"},
      {ToolFamily::kGeneric, "{\"tool_calls\": [{\"name\": \"f\", \"arguments\": 5}]}"},
  };
  for (const Malformed& m : cases) {
    SCOPED_TRACE(m.text);
    const testing::ParseRun r = expect_split_invariant(tool_options(m.family, /*hold=*/true), m.text);
    EXPECT_TRUE(r.out.tool_calls.empty()) << testing::describe(r.events);
    // The text comes back (leading whitespace aside, for the families whose calls start the output).
    EXPECT_EQ(r.out.content, m.text.substr(m.text.find_first_not_of(" \n")));
  }
}

TEST(FamilyParsers, AMalformedCallBetweenGoodOnesIsContent) {
  const std::string text =
      "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>\n<tool_call>oops</tool_call>\n"
      "<tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call>";
  const testing::ParseRun r = expect_split_invariant(tool_options(ToolFamily::kHermes), text);
  ASSERT_EQ(r.out.tool_calls.size(), 2u);
  EXPECT_EQ(r.out.tool_calls[0].name, "a");
  EXPECT_EQ(r.out.tool_calls[1].name, "b");
  EXPECT_EQ(r.out.tool_calls[1].id, "call_1");  // the malformed one took no index
  EXPECT_EQ(r.out.content, "<tool_call>oops</tool_call>");
}

TEST(FamilyParsers, AStreamedCallThatGoesWrongIsTheSameHoweverSplit) {
  // Found by toolcall_parser_fuzz: the arguments read before the error were emitted only when a
  // piece of text ended inside them.
  OutputParserOptions o = tool_options(ToolFamily::kLlama3, /*hold=*/false);
  o.reasoning = ReasoningSyntax::kThinkTags;
  o.starts_in_reasoning = true;
  const testing::ParseRun r = expect_split_invariant(o, "hm</think>{\"name\": \"f\", \"parameters\": {?\"q\": 1}}");
  ASSERT_EQ(r.out.tool_calls.size(), 1u);
  EXPECT_EQ(r.out.tool_calls[0].arguments, "{");
  EXPECT_EQ(r.out.content, "?\"q\": 1}}");
}

TEST(FamilyParsers, GarbageNeverCrashes) {
  // Random mixes of the families' markers and JSON pieces: every parser survives every split.
  const std::vector<std::string> pieces = {"<tool_call>",
                                           "</tool_call>",
                                           "{",
                                           "}",
                                           "[",
                                           "]",
                                           "\"name\"",
                                           ":",
                                           "\"f\"",
                                           ",",
                                           "\"arguments\"",
                                           "\"",
                                           "\\",
                                           "[TOOL_CALLS]",
                                           "<function=",
                                           "f>",
                                           "</function>",
                                           ">>>",
                                           "all\n",
                                           "\n",
                                           "Action:",
                                           "```json",
                                           "functools[",
                                           "<|python_tag|>",
                                           std::string(markers::kR1CallsBegin),
                                           std::string(markers::kR1CallBegin),
                                           std::string(markers::kR1Sep),
                                           "<think>",
                                           "</think>",
                                           " ",
                                           "x",
                                           "1",
                                           "<|START_ACTION|>",
                                           "\xE2\x96"};
  std::uint64_t seed = 12345;
  const auto next = [&seed] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::size_t>(seed >> 33);
  };
  for (int round = 0; round < 60; ++round) {
    std::string text;
    const std::size_t n = 1 + next() % 24;
    for (std::size_t i = 0; i < n; ++i) text += pieces[next() % pieces.size()];
    for (const ToolFamily f :
         {ToolFamily::kHermes, ToolFamily::kLlama3, ToolFamily::kMistral, ToolFamily::kFunctionaryV31,
          ToolFamily::kFunctionaryV32, ToolFamily::kCommandR, ToolFamily::kCommandR7B, ToolFamily::kFireFunction,
          ToolFamily::kDeepSeekR1, ToolFamily::kGeneric}) {
      for (const bool hold : {true, false}) {
        OutputParserOptions o = tool_options(f, hold);
        o.reasoning = ReasoningSyntax::kThinkTags;
        const testing::ParseRun r = testing::parse_text(o, text);
        testing::expect_well_ordered(r.events);
        if (hold) {
          const testing::ParseRun bytes = testing::parse_pieces(o, [&] {
            std::vector<std::string_view> v;
            for (std::size_t i = 0; i < text.size(); ++i) v.push_back(std::string_view(text).substr(i, 1));
            return v;
          }());
          EXPECT_EQ(testing::describe(bytes.events), testing::describe(r.events)) << text;
        }
      }
    }
  }
}

}  // namespace
}  // namespace parley
