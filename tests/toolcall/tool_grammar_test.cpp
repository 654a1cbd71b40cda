// The tool-call grammars: random walks through the masks (a weak model at its worst) always give
// text that the family's parser reads back as well-formed calls to the allowed tools, whose
// arguments validate against the tools' schemas (python3-jsonschema, validate_samples.py). On a
// vocabulary where the markers are control tokens, the grammar uses those tokens and the triggers
// are found.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "gguf/gguf_file.h"
#include "grammar/compiled_grammar.h"
#include "grammar/grammar_matcher.h"
#include "parser_test_util.h"
#include "test_support.h"
#include "tokenizer/cached_tokenizer.h"
#include "toolcall/json_scan.h"
#include "toolcall/markers.h"
#include "toolcall/tool_syntax.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

const char* const kSchemaFiles[] = {"weather_tool_args.json", "sql_query_tool.json", "search_query.json",
                                    "calendar_event.json"};

std::string schema_path(const std::string& file) {
  return std::string(PARLEY_GRAMMAR_TEST_DIR) + "/schemas/" + file;
}

std::vector<ToolSpec> tools() {
  std::vector<ToolSpec> out;
  for (const char* f : kSchemaFiles) {
    std::string name = fs::path(f).stem().string();
    out.push_back({name, testing::read_file(schema_path(f)), false});
  }
  out.push_back({"no_args", "", false});
  return out;
}

// Llama 3's vocabulary with some reserved special tokens renamed to the families' markers: control
// tokens, and <tool_call> and the think tags as user-defined tokens (as in Qwen's vocabulary).
const Tokenizer& marker_tokenizer() {
  static std::unique_ptr<Tokenizer> tok = [] {
    auto file = GgufFile::open(testing::vocab_path("llama-bpe"));
    CHECK(file.ok(), "{}", file.status().to_string());
    auto vocab = load_vocab(**file);
    CHECK(vocab.ok(), "{}", vocab.status().to_string());
    Vocab& v = **vocab;
    const std::pair<std::string_view, TokenType> renames[] = {
        {markers::kPythonTag, TokenType::kControl},       {markers::kMistralCalls, TokenType::kControl},
        {markers::kR7BActionOpen, TokenType::kControl},   {markers::kR7BActionClose, TokenType::kControl},
        {markers::kR1CallsBegin, TokenType::kControl},    {markers::kR1CallsEnd, TokenType::kControl},
        {markers::kR1CallBegin, TokenType::kControl},     {markers::kR1CallEnd, TokenType::kControl},
        {markers::kR1Sep, TokenType::kControl},           {markers::kHermesOpen, TokenType::kUserDefined},
        {markers::kHermesClose, TokenType::kUserDefined}, {markers::kThinkClose, TokenType::kUserDefined},
    };
    TokenId id = 128010;
    for (const auto& [text, type] : renames) {
      v.tokens[static_cast<std::size_t>(id)] = std::string(text);
      v.types[static_cast<std::size_t>(id)] = type;
      ++id;
    }
    v.index.clear();
    for (std::int32_t i = 0; i < v.size(); ++i) v.index[v.tokens[static_cast<std::size_t>(i)]] = i;
    auto t = Tokenizer::from_vocab(std::move(*vocab));
    CHECK(t.ok(), "{}", t.status().to_string());
    return std::move(*t);
  }();
  return *tok;
}

std::shared_ptr<const TokenVocabulary> token_vocab(const Tokenizer& t) {
  static std::map<const Tokenizer*, std::shared_ptr<const TokenVocabulary>> cache;
  auto& v = cache[&t];
  if (!v) v = TokenVocabulary::create(t);
  return v;
}

// A walk that leans towards finishing (a third of the steps pick a closer when there is one);
// other steps pick uniformly among the allowed tokens (by rejection first: masks inside strings
// allow most of a 128k vocabulary).
std::optional<std::string> walk(const std::shared_ptr<const CompiledGrammar>& g, const ToolSyntax& syntax,
                                std::uint32_t seed, bool at_start) {
  GrammarMatcher m(g, at_start);
  std::mt19937 rng(seed);
  TokenMask mask;
  std::string text;
  const TokenVocabulary& vocab = g->vocabulary();
  std::vector<TokenId> closers;
  for (TokenId t = 0; t < vocab.n_tokens(); ++t) {
    if (vocab.is_eog(t) || vocab.bytes(t).find_first_of("\"]}>@.") != std::string_view::npos) closers.push_back(t);
  }
  std::vector<TokenId> allowed;
  for (int step = 0; step < 3000; ++step) {
    if (m.is_complete()) return text;
    m.fill_mask(mask);
    allowed.clear();
    for (const TokenId t : closers) {
      if (mask.test(t)) allowed.push_back(t);
    }
    TokenId pick = kNoToken;
    if (!allowed.empty() && rng() % 3 == 0) {
      pick = allowed[rng() % allowed.size()];
    } else {
      for (int tries = 0; tries < 256 && pick == kNoToken; ++tries) {
        const auto t = static_cast<TokenId>(rng() % static_cast<std::uint32_t>(vocab.n_tokens()));
        if (mask.test(t)) pick = t;
      }
      if (pick == kNoToken) {
        allowed.clear();
        mask.for_each([&](TokenId t) { allowed.push_back(t); });
        if (allowed.empty()) {
          ADD_FAILURE() << "empty mask after " << text;
          return std::nullopt;
        }
        pick = allowed[rng() % allowed.size()];
      }
    }
    EXPECT_TRUE(m.accept(pick));
    if (vocab.is_eog(pick)) return text;
    if (const auto marker = syntax.marker_text(pick)) {
      text += *marker;
    } else {
      text += step == 0 && at_start ? vocab.start_bytes(pick) : vocab.bytes(pick);
    }
  }
  std::printf("unfinished walk: ...%s\n", text.substr(text.size() > 400 ? text.size() - 400 : 0).c_str());
  return std::nullopt;
}

struct Samples {
  std::string json = "[";
  int n = 0;
  void add(const std::string& schema_file, const std::string& text) {
    json += (n++ > 0 ? ",\n" : "\n") + std::string("{\"schema\": ") + json_quote(schema_file) +
            ", \"text\": " + json_quote(text) + "}";
  }
};

struct Mode {
  const char* name;
  bool parallel;
  bool named;  // only the first tool
  bool after_trigger;
  bool close_thinking;
  bool few_tools = false;  // weather and no_args only (a 128k vocabulary compiles the others slowly)
};

void walk_family(const Tokenizer& tok, ToolFamily family, const Mode& mode, Samples& samples, int seeds,
                 int* finished) {
  SCOPED_TRACE(std::string(tool_family_name(family)) + " " + mode.name);
  const ToolSyntax syntax = ToolSyntax::create("", tok, family);
  ToolGrammarOptions o;
  o.tools = tools();
  if (mode.named) o.tools.resize(1);
  if (mode.few_tools) o.tools = {o.tools.front(), o.tools.back()};
  o.parallel = mode.parallel;
  o.after_trigger = mode.after_trigger;
  o.close_thinking = mode.close_thinking;
  Result<Grammar> g = syntax.grammar(o);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  const auto vocab = token_vocab(tok);
  const auto t0 = std::chrono::steady_clock::now();
  auto compiled = compile_grammar(*g, vocab);
  std::printf("compile %s %s: %.1f ms\n", std::string(tool_family_name(family)).c_str(), mode.name,
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  ASSERT_TRUE(compiled.ok()) << compiled.status().to_string();
  const std::string key = tool_grammar_key(o);
  for (int seed = 0; seed < seeds; ++seed) {
    std::optional<std::string> text =
        walk(*compiled, syntax, static_cast<std::uint32_t>(seed * 7919 + 17), !mode.after_trigger);
    if (!text) {
      std::printf("unfinished: %s %s seed %d\n", std::string(tool_family_name(family)).c_str(), mode.name, seed);
      continue;
    }
    ++*finished;
    if (mode.after_trigger) {
      const std::vector<TokenId>& triggers = syntax.trigger_tokens();
      ASSERT_EQ(triggers.size(), 1u);
      const auto marker = syntax.marker_text(triggers[0]);
      *text = std::string(marker ? *marker : tok.token_piece(triggers[0])) + *text;
    }
    OutputParserOptions po = testing::tool_options(family, /*hold=*/true);
    po.reasoning = mode.close_thinking ? ReasoningSyntax::kThinkTags : ReasoningSyntax::kNone;
    po.starts_in_reasoning = mode.close_thinking;
    const testing::ParseRun r = testing::parse_text(po, *text);
    ASSERT_GE(r.out.tool_calls.size(), 1u) << *text << "\n" << testing::describe(r.events);
    if (!mode.parallel || !family_allows_parallel(family)) {
      EXPECT_EQ(r.out.tool_calls.size(), 1u) << *text;
    }
    EXPECT_EQ(r.out.content, "") << *text;
    EXPECT_EQ(r.out.reasoning, "") << *text;
    for (const ParsedToolCall& c : r.out.tool_calls) {
      const auto it = std::find_if(o.tools.begin(), o.tools.end(), [&](const ToolSpec& t) { return t.name == c.name; });
      ASSERT_NE(it, o.tools.end()) << c.name << " in " << *text;
      EXPECT_TRUE(is_json_value(c.arguments)) << c.arguments;
      const auto all = tools();
      const std::size_t i = static_cast<std::size_t>(
          std::find_if(all.begin(), all.end(), [&](const ToolSpec& t) { return t.name == c.name; }) - all.begin());
      const std::string file = i < std::size(kSchemaFiles)
                                   ? schema_path(kSchemaFiles[i])
                                   : std::string(PARLEY_GRAMMAR_TEST_DIR) + "/schemas/free_object.json";
      samples.add(file, c.arguments);
    }
  }
  // The rest of the classification (in the background and on first use during the walks).
  (*compiled)->wait_classified();
  const CompileStats st = (*compiled)->stats();
  std::printf("  %s %s: %lld nodes classified in %.1f ms in all\n", std::string(tool_family_name(family)).c_str(),
              mode.name, static_cast<long long>(st.n_classified), st.masks_ms + st.background_ms);
}

void validate(Samples& samples) {
  samples.json += "\n]\n";
  const std::string path =
      (fs::temp_directory_path() / fmt::format("parley_tool_samples_{}.json", ::getpid())).string();
  std::ofstream(path) << samples.json;
  const std::string command =
      "python3 " + std::string(PARLEY_GRAMMAR_TEST_DIR) + "/validate_samples.py " + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << output;
  if (status == 0) fs::remove(path);
  std::printf("%d argument samples: %s", samples.n, output.c_str());
}

constexpr ToolFamily kAllFamilies[] = {
    ToolFamily::kBuiltin,        ToolFamily::kHermes,         ToolFamily::kLlama3,   ToolFamily::kMistral,
    ToolFamily::kFunctionaryV31, ToolFamily::kFunctionaryV32, ToolFamily::kCommandR, ToolFamily::kCommandR7B,
    ToolFamily::kFireFunction,   ToolFamily::kDeepSeekR1,     ToolFamily::kGeneric};

TEST(ToolGrammar, RandomWalksGiveValidCallsInEveryFamily) {
  const Mode modes[] = {{"required", true, false, false, false},
                        {"single", false, false, false, false},
                        {"named", false, true, false, false}};
  Samples samples;
  int finished = 0, walks = 0;
  for (const ToolFamily f : kAllFamilies) {
    for (const Mode& m : modes) {
      walk_family(testing::cached_tokenizer("llama-spm"), f, m, samples, 3, &finished);
      walks += 3;
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_GE(finished * 10, walks * 8) << "too many walks did not finish";
  validate(samples);
}

TEST(ToolGrammar, ControlTokenMarkersAndTriggers) {
  const Tokenizer& tok = marker_tokenizer();
  const ToolSyntax hermes = ToolSyntax::create("", tok, ToolFamily::kHermes);
  ASSERT_EQ(hermes.trigger_tokens().size(), 1u);
  EXPECT_EQ(tok.token_piece(hermes.trigger_tokens()[0]), "<tool_call>");
  EXPECT_FALSE(hermes.marker_text(hermes.trigger_tokens()[0]).has_value());  // user-defined: plain text
  const ToolSyntax llama = ToolSyntax::create("", tok, ToolFamily::kLlama3);
  ASSERT_EQ(llama.trigger_tokens().size(), 1u);
  EXPECT_EQ(llama.marker_text(llama.trigger_tokens()[0]), markers::kPythonTag);
  EXPECT_TRUE(ToolSyntax::create("", tok, ToolFamily::kFunctionaryV31).trigger_tokens().empty());
  EXPECT_TRUE(
      ToolSyntax::create("", testing::cached_tokenizer("llama-bpe"), ToolFamily::kHermes).trigger_tokens().empty());

  const Mode modes[] = {{"required", true, false, false, false}, {"after trigger", true, false, true, false}};
  Samples samples;
  int finished = 0;
  for (const ToolFamily f : {ToolFamily::kHermes, ToolFamily::kLlama3, ToolFamily::kMistral, ToolFamily::kCommandR7B,
                             ToolFamily::kDeepSeekR1}) {
    for (const Mode& m : modes) {
      walk_family(tok, f, m, samples, 2, &finished);
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_GE(finished, 16);
  validate(samples);
}

TEST(ToolGrammar, ControlMarkersCannotBeSpelledInText) {
  const Tokenizer& tok = marker_tokenizer();
  const ToolSyntax mistral = ToolSyntax::create("", tok, ToolFamily::kMistral);
  ToolGrammarOptions o;
  o.tools = {{"f", "", false}};
  Result<Grammar> g = mistral.grammar(o);
  ASSERT_TRUE(g.ok());
  auto compiled = compile_grammar(*g, token_vocab(tok));
  ASSERT_TRUE(compiled.ok());
  GrammarMatcher m(*compiled);
  EXPECT_FALSE(m.accept_bytes("[TOOL_CALLS]"));  // only the control token opens the calls
  EXPECT_TRUE(m.accept(tok.vocab().find(markers::kMistralCalls)));
}

TEST(ToolGrammar, ThinkingClosedFirstWhenThePromptOpenedIt) {
  Samples samples;
  int finished = 0;
  walk_family(testing::cached_tokenizer("llama-spm"), ToolFamily::kDeepSeekR1,
              {"close thinking", true, false, false, true}, samples, 2, &finished);
  walk_family(testing::cached_tokenizer("llama-spm"), ToolFamily::kBuiltin,
              {"close thinking", false, true, false, true}, samples, 2, &finished);
  EXPECT_GE(finished, 3);
  validate(samples);
}

TEST(ToolGrammar, ErrorsNameTheTool) {
  const ToolSyntax s = ToolSyntax::create("", testing::cached_tokenizer("llama-spm"), ToolFamily::kHermes);
  ToolGrammarOptions o;
  EXPECT_FALSE(s.grammar(o).ok());  // no tools
  o.tools = {{"f", R"({"type": "object", "properties": {"n": {"type": "integer", "multipleOf": 3}}})", true}};
  Result<Grammar> strict = s.grammar(o);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(strict.status().message().find("tool 'f'"), std::string::npos) << strict.status().message();
  EXPECT_EQ(strict.status().detail("param"), "tools[f]/properties/n/multipleOf");
  o.tools[0].strict = false;  // not strict: the keyword is ignored
  EXPECT_TRUE(s.grammar(o).ok());
  o.tools[0].parameters_json = "{\"type\": ";
  EXPECT_FALSE(s.grammar(o).ok());
}

TEST(ToolGrammar, KeysIdentifyTheGrammar) {
  ToolGrammarOptions a;
  a.tools = {{"ab", "{}", false}};
  ToolGrammarOptions b = a;
  b.tools = {{"a", "b{}", false}};
  EXPECT_NE(tool_grammar_key(a), tool_grammar_key(b));
  b = a;
  b.parallel = false;
  EXPECT_NE(tool_grammar_key(a), tool_grammar_key(b));
  b = a;
  b.after_trigger = true;
  EXPECT_NE(tool_grammar_key(a), tool_grammar_key(b));
  b = a;
  b.family = ToolFamily::kMistral;
  EXPECT_NE(tool_grammar_key(a), tool_grammar_key(b));
  EXPECT_EQ(tool_grammar_key(a), tool_grammar_key(ToolGrammarOptions(a)));
}

}  // namespace
}  // namespace parley
