// gateway/tool_calling.h without a server: what each tool_choice sets on the engine request
// (grammar, grammar triggers) and on the parser, and ChatOutput putting control-token markers back
// and streaming a call once its trigger token was generated. On Llama 3's vocabulary with
// <|python_tag|> as a control token (as in Llama 3.1's), with Llama 3.1's template.
#include "gateway/tool_calling.h"

#include <gtest/gtest.h>

#include "gguf/gguf_file.h"
#include "grammar/token_vocabulary.h"
#include "test_support.h"
#include "toolcall/markers.h"

namespace parley {
namespace {

constexpr TokenId kPythonTag = 128010;

const Tokenizer& llama31_tokenizer() {
  static std::unique_ptr<Tokenizer> tok = [] {
    auto file = GgufFile::open(testing::vocab_path("llama-bpe"));
    CHECK(file.ok(), "{}", file.status().to_string());
    auto vocab = load_vocab(**file);
    CHECK(vocab.ok(), "{}", vocab.status().to_string());
    Vocab& v = **vocab;
    v.tokens[kPythonTag] = std::string(markers::kPythonTag);  // reserved in Llama 3, the tag in 3.1
    v.types[kPythonTag] = TokenType::kControl;
    v.index[v.tokens[kPythonTag]] = kPythonTag;
    auto t = Tokenizer::from_vocab(std::move(*vocab));
    CHECK(t.ok(), "{}", t.status().to_string());
    return std::move(*t);
  }();
  return *tok;
}

struct Fixture {
  const Tokenizer& tok = llama31_tokenizer();
  ToolSyntax syntax = ToolSyntax::create(
      testing::read_file(testing::shared_dir() + "/templates/meta-llama-Llama-3.1-8B-Instruct.jinja"), tok);
  GrammarCompiler compiler{TokenVocabulary::create(tok)};
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

ChatCompletionRequest request(ToolChoice::Mode mode, std::string function = {}) {
  ChatCompletionRequest r;
  r.tools = {
      {"get_time", "", R"({"type": "object", "properties": {"tz": {"type": "integer"}}, "required": ["tz"]})", false}};
  r.tool_choice = {mode, std::move(function)};
  return r;
}

TEST(AttachTools, EachToolChoice) {
  Fixture& f = fixture();
  ASSERT_EQ(f.syntax.family(), ToolFamily::kLlama3);
  ASSERT_EQ(f.syntax.trigger_tokens(), std::vector<TokenId>{kPythonTag});

  GenerateRequest g;
  Result<ChatOutputPlan> none = attach_tools(request(ToolChoice::Mode::kNone), f.syntax, f.tok, f.compiler, &g);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->parser.parse_tools);
  EXPECT_FALSE(g.grammar);

  // auto: free until <|python_tag|>, then the call grammar; calls held until then.
  g = {};
  Result<ChatOutputPlan> automatic = attach_tools(request(ToolChoice::Mode::kAuto), f.syntax, f.tok, f.compiler, &g);
  ASSERT_TRUE(automatic.ok()) << automatic.status().to_string();
  EXPECT_TRUE(automatic->parser.parse_tools);
  EXPECT_TRUE(automatic->parser.hold_calls);
  EXPECT_TRUE(g.grammar);
  EXPECT_EQ(g.grammar_triggers, std::vector<TokenId>{kPythonTag});
  EXPECT_EQ(automatic->release_on, std::vector<TokenId>{kPythonTag});

  // auto with response_format: the format's grammar stays (the caller set it), no triggers.
  g = {};
  ChatCompletionRequest with_format = request(ToolChoice::Mode::kAuto);
  with_format.response_format = ResponseFormat{ResponseFormat::Type::kJsonObject, "", "", false};
  ASSERT_TRUE(attach_tools(with_format, f.syntax, f.tok, f.compiler, &g).ok());
  EXPECT_FALSE(g.grammar);
  EXPECT_TRUE(g.grammar_triggers.empty());

  // required and named: the grammar from the first token, calls streamed.
  for (const auto& r : {request(ToolChoice::Mode::kRequired), request(ToolChoice::Mode::kFunction, "get_time")}) {
    g = {};
    Result<ChatOutputPlan> forced = attach_tools(r, f.syntax, f.tok, f.compiler, &g);
    ASSERT_TRUE(forced.ok());
    EXPECT_FALSE(forced->parser.hold_calls);
    EXPECT_TRUE(g.grammar);
    EXPECT_TRUE(g.grammar_triggers.empty());
    EXPECT_TRUE(forced->release_on.empty());
  }
  g = {};
  Result<ChatOutputPlan> unknown =
      attach_tools(request(ToolChoice::Mode::kFunction, "nope"), f.syntax, f.tok, f.compiler, &g);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().detail("param"), "tool_choice");
}

TEST(ChatOutput, ControlMarkersComeBackAndATriggerStreamsTheCall) {
  Fixture& f = fixture();
  GenerateRequest g;
  Result<ChatOutputPlan> plan = attach_tools(request(ToolChoice::Mode::kAuto), f.syntax, f.tok, f.compiler, &g);
  ASSERT_TRUE(plan.ok());
  ChatOutput out(*plan);
  EXPECT_EQ(out.marker_text(kPythonTag), markers::kPythonTag);  // the detokenizer drops it
  EXPECT_EQ(out.marker_text(1000), "");
  EXPECT_TRUE(out.releases(kPythonTag));
  EXPECT_FALSE(out.releases(1000));
  // What GenerationJob does: the marker's text, then release, then the constrained call streams.
  std::vector<OutputEvent> ev;
  out.feed(out.marker_text(kPythonTag), ev);
  out.release(ev);
  out.feed("{\"name\": \"get_time\", \"parameters\": {\"tz\"", ev);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, OutputEvent::Kind::kToolCallStart);
  EXPECT_EQ(ev[0].text, "get_time");
  EXPECT_EQ(ev[1].text, "{\"tz\"");
  ev.clear();
  out.feed(": 3}}", ev);
  out.finish(ev);
  ASSERT_EQ(out.parsed().tool_calls.size(), 1u);
  EXPECT_EQ(out.parsed().tool_calls[0].arguments, "{\"tz\": 3}");
  EXPECT_TRUE(out.has_tool_calls());
  EXPECT_EQ(out.parsed().content, "");
}

}  // namespace
}  // namespace parley
