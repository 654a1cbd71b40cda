// OutputParser: reasoning split or inline, content with no tools, calls streamed (name first,
// arguments in pieces) or held, release_calls, ids.
#include <gtest/gtest.h>

#include "parser_test_util.h"

namespace parley {
namespace {

using testing::expect_split_invariant;
using testing::parse_pieces;
using testing::tool_options;

OutputParserOptions reasoning_options(bool starts_open = false, bool inline_ = false) {
  OutputParserOptions o;
  o.reasoning = ReasoningSyntax::kThinkTags;
  o.starts_in_reasoning = starts_open;
  o.reasoning_inline = inline_;
  return o;
}

TEST(OutputParser, WithoutToolsOrReasoningTheTextIsContent) {
  const std::string text = "  Hello <tool_call> {\"name\": \"f\"} </think>  \n";
  const testing::ParseRun r = expect_split_invariant({}, text);
  EXPECT_EQ(r.out.content, text);
  EXPECT_TRUE(r.out.reasoning.empty());
}

TEST(OutputParser, ThinkingIsSplitFromTheAnswer) {
  const testing::ParseRun r =
      expect_split_invariant(reasoning_options(), "<think>\nStep 1.\nStep 2.\n</think>\n\nThe answer.");
  EXPECT_EQ(r.out.reasoning, "Step 1.\nStep 2.");
  EXPECT_EQ(r.out.content, "The answer.");
}

TEST(OutputParser, ThinkingOpenedByThePrompt) {
  const testing::ParseRun r = expect_split_invariant(reasoning_options(true), "Hmm, 2 + 2.\n</think>\n\n4");
  EXPECT_EQ(r.out.reasoning, "Hmm, 2 + 2.");
  EXPECT_EQ(r.out.content, "4");
  // Never closed (max_tokens): all of it is reasoning.
  const testing::ParseRun open = expect_split_invariant(reasoning_options(true), "Still thinking </thi");
  EXPECT_EQ(open.out.reasoning, "Still thinking </thi");
  EXPECT_TRUE(open.out.content.empty());
}

TEST(OutputParser, ThinkTagsAreReasoningOnlyAtTheStart) {
  const testing::ParseRun r = expect_split_invariant(reasoning_options(), "Answer first. <think>no</think>");
  EXPECT_EQ(r.out.content, "Answer first. <think>no</think>");
  EXPECT_TRUE(r.out.reasoning.empty());
}

TEST(OutputParser, InlineReasoningStaysInTheContent) {
  const std::string text = "<think>\nStep.\n</think>\n\nAnswer.";
  const testing::ParseRun r = expect_split_invariant(reasoning_options(false, true), text);
  EXPECT_EQ(r.out.content, text);
  EXPECT_TRUE(r.out.reasoning.empty());
}

TEST(OutputParser, StreamedCallsSendTheNameFirstThenArgumentsInPieces) {
  OutputParserOptions o = tool_options(ToolFamily::kHermes, /*hold=*/false);
  OutputParser p(o);
  std::vector<OutputEvent> ev;
  p.feed("<tool_call>\n{\"name\": \"get_", ev);
  EXPECT_TRUE(ev.empty());  // the name is not complete
  p.feed("weather\", \"arguments\": {\"ci", ev);
  ASSERT_EQ(ev.size(), 2u) << testing::describe(ev);
  EXPECT_EQ(ev[0].kind, OutputEvent::Kind::kToolCallStart);
  EXPECT_EQ(ev[0].text, "get_weather");
  EXPECT_TRUE(ev[0].id.starts_with("call_"));
  EXPECT_EQ(ev[0].id.size(), 29u);
  EXPECT_EQ(ev[1].kind, OutputEvent::Kind::kToolCallArguments);
  EXPECT_EQ(ev[1].text, "{\"ci");
  ev.clear();
  p.feed("ty\": \"Paris\"}}\n</tool_call>", ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].text, "ty\": \"Paris\"}");
  EXPECT_TRUE(p.has_tool_calls());
  ev.clear();
  p.finish(ev);
  EXPECT_TRUE(ev.empty());
}

TEST(OutputParser, HeldCallsComeOutWhole) {
  OutputParser p(tool_options(ToolFamily::kHermes, /*hold=*/true));
  std::vector<OutputEvent> ev;
  p.feed("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": ", ev);
  EXPECT_TRUE(ev.empty());
  p.feed("1}}\n</tool_call>", ev);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].text, "{\"a\": 1}");
}

TEST(OutputParser, ReleaseStreamsTheCallInProgress) {
  OutputParser p(tool_options(ToolFamily::kHermes, /*hold=*/true));
  std::vector<OutputEvent> ev;
  p.feed("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\"", ev);
  EXPECT_TRUE(ev.empty());
  p.release_calls(ev);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].text, "f");
  EXPECT_EQ(ev[1].text, "{\"a\"");
  ev.clear();
  p.feed(": 1}", ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].text, ": 1}");
}

TEST(OutputParser, TruncatedStreamedCallStaysACall) {
  // Constrained generation cut by max_tokens: the call was already streamed; it is reported as it
  // stands, and so in the summed output.
  const testing::ParseRun r = parse_pieces(tool_options(ToolFamily::kHermes, /*hold=*/false),
                                           {"<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1"});
  ASSERT_EQ(r.out.tool_calls.size(), 1u);
  EXPECT_EQ(r.out.tool_calls[0].arguments, "{\"a\": 1");
}

TEST(OutputParser, ReasoningThenCallsThenNothingElse) {
  OutputParserOptions o = tool_options(ToolFamily::kDeepSeekR1, /*hold=*/false);
  o.reasoning = ReasoningSyntax::kThinkTags;
  o.starts_in_reasoning = true;
  const testing::ParseRun r = expect_split_invariant(o, "Think.</think>Plain answer, no calls.");
  EXPECT_EQ(r.out.reasoning, "Think.");
  EXPECT_EQ(r.out.content, "Plain answer, no calls.");
  EXPECT_TRUE(r.out.tool_calls.empty());
}

TEST(OutputParser, ManyParallelCallsKeepTheirIndices) {
  std::string text;
  for (int i = 0; i < 12; ++i) {
    text += "<tool_call>\n{\"name\": \"t" + std::to_string(i) + "\", \"arguments\": {\"i\": " + std::to_string(i) +
            "}}\n</tool_call>\n";
  }
  for (const bool hold : {true, false}) {
    const testing::ParseRun r = expect_split_invariant(tool_options(ToolFamily::kHermes, hold), text);
    ASSERT_EQ(r.out.tool_calls.size(), 12u);
    for (int i = 0; i < 12; ++i) {
      EXPECT_EQ(r.out.tool_calls[static_cast<std::size_t>(i)].name, "t" + std::to_string(i));
      EXPECT_EQ(r.out.tool_calls[static_cast<std::size_t>(i)].arguments, "{\"i\": " + std::to_string(i) + "}");
    }
  }
}

TEST(OutputParser, IdsPerFamily) {
  const std::string a = new_tool_call_id(ToolFamily::kHermes);
  EXPECT_EQ(a.size(), 29u);
  EXPECT_TRUE(a.starts_with("call_"));
  EXPECT_NE(a, new_tool_call_id(ToolFamily::kHermes));
  const std::string m = new_tool_call_id(ToolFamily::kMistral);
  EXPECT_EQ(m.size(), 9u);
  for (const char c : m) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << m;
}

TEST(OutputEvents, MergeAndSum) {
  std::vector<OutputEvent> ev;
  append_event(ev, {OutputEvent::Kind::kContent, 0, "a", {}});
  append_event(ev, {OutputEvent::Kind::kContent, 0, "b", {}});
  append_event(ev, {OutputEvent::Kind::kContent, 0, "", {}});
  append_event(ev, {OutputEvent::Kind::kToolCallStart, 0, "f", "call_x"});
  append_event(ev, {OutputEvent::Kind::kToolCallArguments, 0, "{", {}});
  append_event(ev, {OutputEvent::Kind::kToolCallArguments, 0, "}", {}});
  append_event(ev, {OutputEvent::Kind::kToolCallStart, 1, "g", "call_y"});
  append_event(ev, {OutputEvent::Kind::kToolCallArguments, 1, "{}", {}});
  ASSERT_EQ(ev.size(), 5u);
  ParsedOutput out;
  out.apply(ev);
  EXPECT_EQ(out.content, "ab");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  EXPECT_EQ(out.tool_calls[0].arguments, "{}");
  EXPECT_EQ(out.tool_calls[1].id, "call_y");
}

}  // namespace
}  // namespace parley
