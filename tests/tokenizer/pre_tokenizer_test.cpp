#include "tokenizer/pre_tokenizer.h"

#include <gtest/gtest.h>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "test_support.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/builtin_vocab.h"
#include "tokenizer/tokenizer.h"

namespace parley {
namespace {

std::vector<std::string> split(std::string_view pre, std::string_view text) {
  auto p = PreTokenizer::for_name(pre);
  CHECK(p.ok(), "{}", p.status().to_string());
  std::vector<std::string_view> pieces;
  (*p)->split(text, &pieces);
  return {pieces.begin(), pieces.end()};
}

using Pieces = std::vector<std::string>;

TEST(PreTokenizer, Gpt2) {
  EXPECT_EQ(split("gpt-2", "Hello world's 123  end"), (Pieces{"Hello", " world", "'s", " 123", " ", " end"}));
}

TEST(PreTokenizer, Llama3GroupsDigitsByThree) {
  EXPECT_EQ(split("llama-bpe", "12345 ok"), (Pieces{"123", "45", " ok"}));
  EXPECT_EQ(split("llama-bpe", "I'M here\n\n"), (Pieces{"I", "'M", " here", "\n\n"}));
}

TEST(PreTokenizer, Qwen2SplitsDigitsOneByOne) {
  EXPECT_EQ(split("qwen2", "123"), (Pieces{"1", "2", "3"}));
}

// DeepSeek LLM with no-break spaces mixed with ordinary ones (issue 18): the reference's regexes
// (Oniguruma, \s = Unicode White_Space) count U+00A0 as whitespace, as PCRE2 with UCP does: a
// no-break space before a word joins it like a space, and runs of both are one piece.
TEST(PreTokenizer, DeepseekLlmNoBreakSpaces) {
  const std::string nb = "\u00a0";
  EXPECT_EQ(split("deepseek-llm", "a" + nb + " b"), (Pieces{"a", nb, " b"}));
  EXPECT_EQ(split("deepseek-llm", "a " + nb + "b"), (Pieces{"a", " ", nb + "b"}));
  EXPECT_EQ(split("deepseek-llm", "a " + nb + " b"), (Pieces{"a", " " + nb, " b"}));
  EXPECT_EQ(split("deepseek-llm", "x " + nb), (Pieces{"x", " " + nb}));
  EXPECT_EQ(split("deepseek-llm", "1" + nb + "000 et"), (Pieces{"1", nb, "000", " et"}));
}

TEST(PreTokenizer, CoversEveryByteEvenInvalidUtf8) {
  for (const auto name : PreTokenizer::known_names()) {
    const std::string text = "ab\xFF\xFE c\xC3 12\xE2\x82 ok \xF0\x9F\x99\x82";
    std::string joined;
    for (const auto& p : split(name, text)) {
      EXPECT_FALSE(p.empty()) << name;
      joined += p;
    }
    EXPECT_EQ(joined, text) << name;
  }
}

TEST(PreTokenizer, UnknownNameIsAClearError) {
  auto p = PreTokenizer::for_name("no-such-model");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), ErrorCode::kUnimplemented);
  EXPECT_NE(p.status().message().find("llama-bpe"), std::string_view::npos);  // lists the supported ones
}

TEST(BpeTrainer, MergesMostFrequentPairsDeterministically) {
  auto pre = PreTokenizer::for_name("gpt-2");
  ASSERT_TRUE(pre.ok());
  const auto merges = train_bpe_merges("aab aab aab xy xy", **pre, 10);
  ASSERT_GE(merges.size(), 2u);
  // "a a" occurs 3 times, as do "a b" and "Ġ a"; ties go to the smallest pair, "a a".
  EXPECT_EQ(merges[0].left, "a");
  EXPECT_EQ(merges[0].right, "a");
  // No pair occurs twice any more after a few merges: training stops early.
  EXPECT_LT(merges.size(), 10u);
  const auto again = train_bpe_merges("aab aab aab xy xy", **pre, 10);
  ASSERT_EQ(again.size(), merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i)
    EXPECT_EQ(again[i].left + " " + again[i].right, merges[i].left + " " + merges[i].right);
}

TEST(BuiltinVocab, BytesVocabularyIsCompleteAndUsable) {
  auto md = builtin_vocab_metadata("bytes");
  ASSERT_TRUE(md.ok()) << md.status().to_string();
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  for (const auto& [k, v] : *md) w.set(k, v);
  auto bytes = w.write_memory();
  ASSERT_TRUE(bytes.ok());
  auto f = GgufFile::from_memory(*bytes);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  auto t = Tokenizer::from_gguf(**f);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->n_tokens(), kBuiltinBytesVocabSize);
  EXPECT_EQ((*t)->vocab().chat_template, kChatMlTemplate);
  // Common English words are single tokens; arbitrary bytes still round-trip.
  EXPECT_EQ((*t)->encode(" the", {.add_special = false}).size(), 1u);
  const std::string text = "Hello, 世界! \xFF\x01 the model";
  EXPECT_EQ((*t)->decode((*t)->encode(text)), text);
  const auto chat = (*t)->encode("<|im_start|>user\nhi<|im_end|>", {.add_special = false, .parse_special = true});
  EXPECT_EQ((*t)->token_text(chat.front()), "<|im_start|>");
  EXPECT_TRUE((*t)->vocab().is_eog(chat.back()));
  // Deterministic: built twice, identical.
  auto md2 = builtin_vocab_metadata("bytes");
  ASSERT_TRUE(md2.ok());
  GgufWriter w2;
  w2.set_string("general.architecture", "llama");
  for (const auto& [k, v] : *md2) w2.set(k, v);
  EXPECT_EQ(*w2.write_memory(), *bytes);
  EXPECT_FALSE(builtin_vocab_metadata("words").ok());
}

std::unique_ptr<Tokenizer> tokenizer_of(const std::vector<std::pair<std::string, GgufValue>>& md) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  for (const auto& [k, v] : md) w.set(k, v);
  auto bytes = w.write_memory();
  EXPECT_TRUE(bytes.ok());
  auto f = GgufFile::from_memory(*bytes);
  EXPECT_TRUE(f.ok()) << f.status().to_string();
  auto t = Tokenizer::from_gguf(**f);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return t.ok() ? std::move(*t) : nullptr;
}

// Added tokens, as a fine-tune adds them: user-defined ones are found in plain text (Qwen 2.5's
// <tool_call>), control ones only where special tokens are parsed.
TEST(BuiltinVocab, AddedTokensAreTokensOfTheirOwn) {
  auto md = builtin_vocab_metadata("bytes");
  ASSERT_TRUE(md.ok());
  ASSERT_TRUE(add_vocab_tokens(*md, {"<tool_call>"}, static_cast<std::int32_t>(TokenType::kUserDefined)).ok());
  ASSERT_TRUE(add_vocab_tokens(*md, {"<|python_tag|>"}, static_cast<std::int32_t>(TokenType::kControl)).ok());
  const std::unique_ptr<Tokenizer> t = tokenizer_of(*md);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->n_tokens(), kBuiltinBytesVocabSize + 2);
  EXPECT_EQ(t->encode("<tool_call>", {.add_special = false}), std::vector<TokenId>{kBuiltinBytesVocabSize});
  EXPECT_GT(t->encode("<|python_tag|>", {.add_special = false}).size(), 1u);
  EXPECT_EQ(t->encode("<|python_tag|>", {.add_special = false, .parse_special = true}),
            std::vector<TokenId>{kBuiltinBytesVocabSize + 1});
  // A token the vocabulary has already, and metadata without a token list, are refused.
  EXPECT_EQ(add_vocab_tokens(*md, {"<tool_call>"}, 4).code(), ErrorCode::kInvalidArgument);
  std::vector<std::pair<std::string, GgufValue>> empty;
  EXPECT_EQ(add_vocab_tokens(empty, {"x"}, 4).code(), ErrorCode::kInvalidArgument);
}

// A SentencePiece vocabulary has scores: they grow with the tokens.
TEST(BuiltinVocab, AddedTokensExtendTheScores) {
  const std::string path = testing::vocab_path("llama-spm");
  auto f = GgufFile::open(path);
  if (!f.ok()) GTEST_SKIP() << "no " << path;
  std::vector<std::pair<std::string, GgufValue>> md;
  for (const auto& [k, v] : (*f)->metadata()) {
    if (k.starts_with("tokenizer.")) md.emplace_back(k, v);
  }
  ASSERT_TRUE(add_vocab_tokens(md, {"<think>"}, static_cast<std::int32_t>(TokenType::kUserDefined)).ok());
  const std::unique_ptr<Tokenizer> t = tokenizer_of(md);
  ASSERT_NE(t, nullptr);
  const std::vector<TokenId> ids = t->encode("a<think>b", {.add_special = false});
  EXPECT_NE(std::find(ids.begin(), ids.end(), t->n_tokens() - 1), ids.end());
}

}  // namespace
}  // namespace parley
