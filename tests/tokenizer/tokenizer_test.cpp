// Tokenizer behaviour beyond the reference vectors: special tokens, BOS/EOS, decoding, hostile
// and large inputs, and byte-exact round trips.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <map>

#include "base/rng.h"
#include "base/utf8.h"
#include "cached_tokenizer.h"
#include "gguf/gguf_file.h"
#include "test_support.h"

namespace parley {
namespace {

const Tokenizer& tokenizer(const std::string& name) {
  return testing::cached_tokenizer(name);
}

constexpr EncodeOptions kRaw{.add_special = false, .parse_special = false};
constexpr EncodeOptions kSpecial{.add_special = false, .parse_special = true};

TEST(Tokenizer, AddsBosPerVocabularyFlag) {
  const Tokenizer& llama3 = tokenizer("llama-bpe");
  const auto ids = llama3.encode("Hello world");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 128000);
  EXPECT_EQ(std::vector<TokenId>(ids.begin() + 1, ids.end()), (std::vector<TokenId>{9906, 1917}));
  // Qwen2 does not add BOS.
  const Tokenizer& qwen = tokenizer("qwen2");
  EXPECT_EQ(qwen.encode("Hello world"), qwen.encode("Hello world", kRaw));
  // Llama 2 SPM adds <s> = 1.
  EXPECT_EQ(tokenizer("llama-spm").encode("Hello").front(), 1);
}

TEST(Tokenizer, ControlTokensAreParsedOnlyWhenAsked) {
  const Tokenizer& qwen = tokenizer("qwen2");
  const std::string text = "<|im_start|>user\nHi<|im_end|>";
  const auto parsed = qwen.encode(text, kSpecial);
  ASSERT_GE(parsed.size(), 3u);
  EXPECT_EQ(parsed.front(), 151644);
  EXPECT_EQ(parsed.back(), 151645);
  const auto plain = qwen.encode(text, kRaw);
  for (const TokenId id : plain) {
    EXPECT_NE(id, 151644);
    EXPECT_NE(id, 151645);
  }
  // Unparsed, the markup is ordinary text and decodes back to itself.
  EXPECT_EQ(qwen.decode(plain), text);
  // Parsed, the control tokens are hidden unless rendered.
  EXPECT_EQ(qwen.decode(parsed), "user\nHi");
  EXPECT_EQ(qwen.decode(parsed, {.render_special = true}), text);
}

TEST(Tokenizer, SpmPrefixesASpaceAfterSpecialTokens) {
  const Tokenizer& spm = tokenizer("llama-spm");
  // "<s>Hello" -> <s>, "▁Hello": the fragment after a special token starts a new text.
  EXPECT_EQ(spm.encode("<s>Hello", kSpecial), (std::vector<TokenId>{1, 15043}));
  EXPECT_EQ(spm.encode("Hello", kRaw), (std::vector<TokenId>{15043}));
  // Without parsing, "<s>" is text.
  const auto plain = spm.encode("<s>Hello", kRaw);
  EXPECT_NE(plain.front(), 1);
  EXPECT_EQ(spm.decode(plain), "<s>Hello");
}

// Phi-3's added tokens swallow the whitespace after them as Hugging Face does it: Unicode
// White_Space (char::is_whitespace), not only ASCII. A no-break space mixed with ordinary spaces
// after <|end|> used to stay in the text and change the tokens.
TEST(Tokenizer, AddedTokensStripUnicodeWhitespace) {
  const Tokenizer& phi = tokenizer("phi-3");
  const auto bare = phi.encode("<|end|>Hi", kSpecial);
  EXPECT_EQ(phi.encode("<|end|> \n Hi", kSpecial), bare);
  EXPECT_EQ(phi.encode("<|end|>\u00a0 Hi", kSpecial), bare);
  EXPECT_EQ(phi.encode("<|end|> \u00a0\u3000\u2009Hi", kSpecial), bare);
  // Not past other characters (U+200B is not whitespace), and <s> strips nothing.
  EXPECT_NE(phi.encode("<|end|>\u200bHi", kSpecial), bare);
  EXPECT_NE(phi.encode("<s>\u00a0Hi", kSpecial), phi.encode("<s>Hi", kSpecial));
}

// Found by tokenizer_fuzz: Falcon has no token for byte 0xFB (nor <unk>), so the fragment after
// <|endoftext|> gives no token; encode_at_most() refused the text at its exact count, assuming at
// least one token per fragment.
TEST(Tokenizer, EncodeAtMostWithBytesThatHaveNoToken) {
  const Tokenizer& falcon = tokenizer("falcon");
  const std::string text = std::string("\0\xff\xff<|endoftext|>\xfb", 17);
  const auto ids = falcon.encode(text, kSpecial);
  const auto at_most = falcon.encode_at_most(text, ids.size(), kSpecial);
  ASSERT_TRUE(at_most.has_value());
  EXPECT_EQ(*at_most, ids);
  EXPECT_FALSE(falcon.encode_at_most(text, ids.size() - 1, kSpecial).has_value());
}

TEST(Tokenizer, LlamaBpeSpecialTokens) {
  const Tokenizer& t = tokenizer("llama-bpe");
  const auto ids = t.encode("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", kSpecial);
  ASSERT_GE(ids.size(), 5u);
  EXPECT_EQ(ids[0], 128000);
  EXPECT_EQ(ids[1], 128006);
  EXPECT_EQ(ids.back(), 128009);
  EXPECT_TRUE(t.vocab().is_eog(128009));  // <|eot_id|> ends a turn
  EXPECT_TRUE(t.vocab().is_eog(128001));
  EXPECT_FALSE(t.vocab().is_eog(9906));
}

TEST(Tokenizer, EmptyAndWhitespaceInputs) {
  for (const char* name : {"llama-spm", "llama-bpe", "qwen2", "gpt-2"}) {
    const Tokenizer& t = tokenizer(name);
    EXPECT_TRUE(t.encode("", kRaw).empty()) << name;
    for (const std::string s : {" ", "\n", "\t\t", "   \n \n"}) EXPECT_EQ(t.decode(t.encode(s, kRaw)), s) << name;
  }
}

// Whether every byte value has a token that decodes to exactly that byte. Several published
// vocabularies lack tokens for bytes that never occur in UTF-8 (0xC0, 0xC1, 0xF5..0xFF) or for
// rare control bytes (Falcon); invalid input cannot round-trip there, it becomes <unk> or nothing.
bool covers_all_bytes(const Tokenizer& t) {
  for (int b = 0; b < 256; ++b) {
    const std::string byte(1, static_cast<char>(b));
    const auto ids = t.encode(byte, kRaw);
    if (t.decode(ids) != byte) return false;
  }
  return true;
}

// Text comes back exactly (byte-level BPE, SPM byte fallback), and so does invalid UTF-8 where
// the vocabulary has a token for every byte.
TEST(Tokenizer, RoundTripsRandomBytes) {
  Rng rng(42);
  const std::vector<std::string> alphabet = {"a",    "Z",    " ",    "  ",  "\n",    "\t",    "1",          "23",
                                             "'s",   "é",    "ß",    "中",  "文",    "🦙",  "🙂",       "\xF0\x9F",
                                             "\x80", "\xFF", "!",    "?",   "...",   "<s>",   "<|im_end|>", "ال",
                                             "Ж",    "\r\n", "\xC3", "0.5", "Hello", " world"};
  for (const char* name : {"llama-spm", "phi-3", "llama-bpe", "qwen2", "gpt-2", "deepseek-llm", "deepseek-coder",
                           "falcon", "starcoder", "refact", "mpt"}) {
    const Tokenizer& t = tokenizer(name);
    const bool all_bytes = covers_all_bytes(t);
    const std::string_view n_name(name);
    const bool expect_all =
        n_name == "llama-spm" || n_name == "phi-3" || n_name == "llama-bpe" || n_name == "qwen2" || n_name == "gpt-2";
    EXPECT_EQ(all_bytes, expect_all) << name;
    for (int iter = 0; iter < 200; ++iter) {
      std::string s;
      const auto n = rng.below(24);
      for (std::uint64_t i = 0; i < n; ++i) s += alphabet[rng.below(alphabet.size())];
      if (!all_bytes && !utf8_is_valid(s)) continue;
      const auto ids = t.encode(s, kRaw);
      for (const TokenId id : ids) ASSERT_TRUE(id >= 0 && id < t.n_tokens()) << name;
      ASSERT_EQ(t.decode(ids), s) << name << " on '" << s << "'";
    }
  }
}

TEST(Tokenizer, LargeInputsFinishAndRoundTrip) {
  // One giant word, a long whitespace run and a long digit run exercise the merge queue and the
  // regex engine's backtracking limits.
  const std::string word(200000, 'a');
  const std::string spaces(100000, ' ');
  const std::string digits(50000, '7');
  for (const char* name : {"llama-bpe", "qwen2", "gpt-2", "llama-spm"}) {
    const Tokenizer& t = tokenizer(name);
    for (const std::string* s : {&word, &spaces, &digits}) {
      const auto ids = t.encode(*s, kRaw);
      EXPECT_LE(ids.size(), s->size() + 1) << name;  // at most a token per byte, plus SPM's "▁"
      EXPECT_EQ(t.decode(ids), *s) << name;
    }
  }
}

TEST(Tokenizer, PiecesAndTexts) {
  const Tokenizer& spm = tokenizer("llama-spm");
  EXPECT_EQ(spm.token_text(15043), "▁Hello");
  EXPECT_EQ(spm.token_piece(15043), " Hello");
  EXPECT_EQ(spm.token_piece(13), "\n");  // <0x0A>
  EXPECT_EQ(spm.token_piece(1), "");     // <s> is a control token
  EXPECT_EQ(spm.token_piece(1, true), "<s>");
  EXPECT_EQ(spm.token_piece(-1), "");
  EXPECT_EQ(spm.token_piece(1 << 30), "");
  const Tokenizer& gpt2 = tokenizer("gpt-2");
  EXPECT_EQ(gpt2.token_piece(gpt2.encode(" world", kRaw).at(0)), " world");
}

TEST(Tokenizer, UserDefinedTokensMatchEvenWithoutParseSpecial) {
  // deepseek-coder stores some single characters as user-defined tokens; they match as units.
  const Tokenizer& t = tokenizer("deepseek-coder");
  const Vocab& v = t.vocab();
  TokenId user_defined = kNoToken;
  for (TokenId id = 0; id < v.size() && user_defined == kNoToken; ++id) {
    if (v.types[static_cast<std::size_t>(id)] == TokenType::kUserDefined) user_defined = id;
  }
  ASSERT_NE(user_defined, kNoToken);
  const std::string text = "x" + v.tokens[static_cast<std::size_t>(user_defined)] + "y";
  const auto ids = t.encode(text, kRaw);
  EXPECT_NE(std::find(ids.begin(), ids.end(), user_defined), ids.end());
  EXPECT_EQ(t.decode(ids), text);
}

}  // namespace
}  // namespace parley
