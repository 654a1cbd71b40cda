#include "tokenizer/detokenizer.h"

#include <gtest/gtest.h>

#include "base/utf8.h"
#include "gguf/gguf_file.h"
#include "test_support.h"

namespace parley {
namespace {

struct Loaded {
  std::unique_ptr<GgufFile> file;
  std::unique_ptr<Tokenizer> tok;
};

Loaded load(const std::string& name) {
  auto f = GgufFile::open(testing::vocab_path(name));
  CHECK(f.ok());
  auto t = Tokenizer::from_gguf(**f);
  CHECK(t.ok());
  return {std::move(*f), std::move(*t)};
}

TEST(StreamingDetokenizer, HoldsBackSplitCharacters) {
  const Loaded l = load("llama-spm");
  // The llama emoji has no token in Llama 2: it is four byte-fallback tokens.
  const auto ids = l.tok->encode("🦙", {.add_special = false});
  ASSERT_EQ(ids.size(), 5u);  // "▁" + 4 bytes
  StreamingDetokenizer d(*l.tok);
  std::vector<std::string> chunks;
  for (const TokenId id : ids) chunks.push_back(d.push(id));
  EXPECT_EQ(chunks[0], "");  // the prefixed space of the first word is dropped
  EXPECT_EQ(chunks[1], "");
  EXPECT_EQ(chunks[2], "");
  EXPECT_EQ(chunks[3], "");
  EXPECT_EQ(chunks[4], "🦙");
  EXPECT_EQ(d.finish(), "");
}

TEST(StreamingDetokenizer, IncompleteTailBecomesReplacementAtFinish) {
  const Loaded l = load("llama-spm");
  const auto ids = l.tok->encode("🦙", {.add_special = false});
  StreamingDetokenizer d(*l.tok);
  std::string out;
  for (std::size_t i = 0; i + 1 < ids.size(); ++i) out += d.push(ids[i]);  // drop the last byte
  EXPECT_EQ(out, "");
  EXPECT_EQ(d.pending_bytes(), 3u);
  EXPECT_EQ(d.finish(), "\xEF\xBF\xBD");
}

TEST(StreamingDetokenizer, InvalidBytesAreReplacedNotHeld) {
  const Loaded l = load("gpt-2");
  // A lone continuation byte can never start a character: replaced at once.
  const auto ids = l.tok->encode(
      "\x80"
      "abc",
      {.add_special = false});
  StreamingDetokenizer d(*l.tok);
  std::string out;
  for (const TokenId id : ids) out += d.push(id);
  out += d.finish();
  EXPECT_EQ(out,
            "\xEF\xBF\xBD"
            "abc");
}

// For every vocabulary: chunks are always valid UTF-8 and concatenate to the decoded text.
TEST(StreamingDetokenizer, ChunksAreValidAndConcatenateToDecode) {
  const std::string text =
      "Hello, y'all! 🙂 ?我想在apple工作1314151天～ Привет ⌘ éè 🦙🦙 \n\tend";
  for (const char* name : {"llama-spm", "phi-3", "llama-bpe", "qwen2", "gpt-2", "deepseek-llm", "falcon", "mpt"}) {
    const Loaded l = load(name);
    const auto ids = l.tok->encode(text, {.add_special = true});
    StreamingDetokenizer d(*l.tok);
    std::string all;
    for (const TokenId id : ids) {
      const std::string chunk = d.push(id);
      EXPECT_TRUE(utf8_is_valid(chunk)) << name;
      all += chunk;
    }
    all += d.finish();
    EXPECT_EQ(all, sanitize_utf8(l.tok->decode(ids))) << name;
    EXPECT_EQ(all, text) << name;
  }
}

TEST(SanitizeUtf8, ReplacesEachInvalidByte) {
  EXPECT_EQ(sanitize_utf8("ok"), "ok");
  EXPECT_EQ(sanitize_utf8("a\xFF"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

}  // namespace
}  // namespace parley
