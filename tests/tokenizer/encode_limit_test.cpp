// Tokenizer::encode_at_most: a text that cannot fit a token budget is refused before any work,
// encoding stops once the budget is passed, and within the budget the result is encode()'s.
#include <gtest/gtest.h>

#include <map>

#include "cached_tokenizer.h"
#include "gguf/gguf_file.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

namespace parley {
namespace {

const Tokenizer& tokenizer(const std::string& name) {
  return testing::cached_tokenizer(name);
}

// A tokenizer over a real vocabulary whose plain-text encoder emits one token per byte and counts
// the bytes it was given: what encode_at_most tokenizes is what it costs.
class CountingTokenizer final : public Tokenizer {
 public:
  explicit CountingTokenizer(std::unique_ptr<Vocab> vocab) : Tokenizer(std::move(vocab)) {}
  mutable std::size_t bytes_encoded = 0;

 private:
  void encode_fragment(std::string_view text, bool, std::size_t out_max, std::vector<TokenId>* out) const override {
    for (const char c : text) {
      if (out->size() > out_max) return;
      ++bytes_encoded;
      out->push_back(static_cast<unsigned char>(c));
    }
  }
};

std::unique_ptr<CountingTokenizer> counting(const std::string& name) {
  auto f = GgufFile::open(testing::vocab_path(name));
  CHECK(f.ok(), "{}", f.status().to_string());
  auto v = load_vocab(**f);
  CHECK(v.ok(), "{}", v.status().to_string());
  return std::make_unique<CountingTokenizer>(std::move(*v));
}

TEST(EncodeAtMost, MaxTokenBytesIsTheLongestPiece) {
  for (const std::string name : {"llama-bpe", "qwen2", "llama-spm", "phi-3", "gpt-2"}) {
    const Tokenizer& t = tokenizer(name);
    std::size_t longest = 0;
    for (TokenId id = 0; id < t.n_tokens(); ++id) longest = std::max(longest, t.token_piece(id, true).size());
    EXPECT_EQ(t.max_token_bytes(), std::max<std::size_t>(longest, 4)) << name;
    EXPECT_GE(t.max_token_bytes(), 4u) << name;
    EXPECT_LE(t.max_token_bytes(), 1024u) << name;
  }
}

TEST(EncodeAtMost, ATextOverTheByteBoundIsRefusedWithoutTokenizing) {
  const auto t = counting("llama-bpe");
  const std::size_t budget = 100;
  const std::string text(budget * t->max_token_bytes() + 1, 'a');
  EXPECT_FALSE(t->encode_at_most(text, budget, {.add_special = false}).has_value());
  EXPECT_FALSE(t->encode_at_most(text, budget, {.add_special = true, .parse_special = true}).has_value());
  EXPECT_EQ(t->bytes_encoded, 0u);
  // 15 MiB, as in the probe that found it.
  EXPECT_FALSE(t->encode_at_most(std::string(15 << 20, 'x'), 4096).has_value());
  EXPECT_EQ(t->bytes_encoded, 0u);
}

TEST(EncodeAtMost, EncodingStopsOnceTheBudgetIsPassed) {
  const auto t = counting("llama-bpe");
  // Under the byte bound (every byte could be its own token here), in fragments split by special
  // tokens: the encoder is not called once the budget is passed.
  std::string text;
  for (int i = 0; i < 900; ++i) text += "0123456789<|eot_id|>";
  const std::size_t budget = 300;
  ASSERT_LE(text.size(), budget * t->max_token_bytes());
  EXPECT_FALSE(t->encode_at_most(text, budget, {.add_special = false, .parse_special = true}).has_value());
  EXPECT_LE(t->bytes_encoded, budget + 10) << "encoded past the budget";
}

TEST(EncodeAtMost, WithinTheBudgetTheResultIsEncodes) {
  for (const std::string name : {"llama-bpe", "qwen2", "llama-spm", "phi-3"}) {
    const Tokenizer& t = tokenizer(name);
    const std::string text = "Hello world! <|im_start|>user\n<s>Some text</s> 12345 \xF0\x9F\x98\x80 done. ";
    for (const bool special : {false, true}) {
      const EncodeOptions o{.add_special = true, .parse_special = special};
      const std::vector<TokenId> all = t.encode(text, o);
      const auto exact = t.encode_at_most(text, all.size(), o);
      ASSERT_TRUE(exact.has_value()) << name;
      EXPECT_EQ(*exact, all) << name;
      EXPECT_FALSE(t.encode_at_most(text, all.size() - 1, o).has_value()) << name;
      EXPECT_FALSE(t.encode_at_most(text, 1, o).has_value()) << name;
    }
  }
}

TEST(EncodeAtMost, BpeStopsWithinALongFragment) {
  // One fragment of many words under the byte bound: the real encoder stops after a word past the
  // budget (the result is refused either way; this checks it does not crash or return tokens).
  const Tokenizer& t = tokenizer("llama-bpe");
  std::string text;
  while (text.size() < 100000) text += "lorem ipsum dolor sit amet ";
  EXPECT_FALSE(t.encode_at_most(text, 1000).has_value());
  const auto all = t.encode(text);
  EXPECT_TRUE(t.encode_at_most(text, all.size()).has_value());
}

}  // namespace
}  // namespace parley
