#include "tokenizer/detokenizer.h"

#include <gtest/gtest.h>

#include "base/utf8.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "test_support.h"
#include "tokenizer/builtin_vocab.h"

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

// The demo model's vocabulary: its first 256 tokens are the bytes, token 0 the byte 0x00.
struct BytesVocab {
  std::vector<std::byte> image;
  std::unique_ptr<GgufFile> file;
  std::unique_ptr<Tokenizer> tok;
};

BytesVocab load_bytes_vocab() {
  BytesVocab v;
  auto md = builtin_vocab_metadata("bytes");
  CHECK(md.ok());
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  for (const auto& [k, val] : *md) w.set(k, val);
  auto image = w.write_memory();
  CHECK(image.ok());
  v.image = std::move(*image);
  auto f = GgufFile::from_memory(v.image);
  CHECK(f.ok());
  v.file = std::move(*f);
  auto t = Tokenizer::from_gguf(*v.file);
  CHECK(t.ok());
  v.tok = std::move(*t);
  return v;
}

TEST(StreamingDetokenizer, DropControlsLeavesTextForPeopleAndDatabases) {
  const BytesVocab v = load_bytes_vocab();
  ASSERT_EQ(v.tok->token_piece(0, false), std::string(1, '\0'));
  std::string text = "a";
  text += '\0';
  text +=
      "b\x1b[31mc\td\r\ne\x7f"
      "\x01"
      "f\u00e9\U0001F999\x1f";
  const auto ids = v.tok->encode(text, {.add_special = false});
  const auto detokenize = [&](DecodeOptions o) {
    StreamingDetokenizer d(*v.tok, o);
    std::string all;
    for (const TokenId id : ids) {
      const std::string chunk = d.push(id);
      EXPECT_TRUE(utf8_is_valid(chunk));
      all += chunk;
    }
    return all + d.finish();
  };
  EXPECT_EQ(detokenize({}), text);  // off by default: the tokenizer's own tests compare bytes
  // NUL, ESC, DEL, U+0001 and U+001F go; tab, CR, LF and every other character stay.
  const std::string clean = "ab[31mc\td\r\nef\u00e9\U0001F999";
  EXPECT_EQ(detokenize({.drop_controls = true}), clean);
  EXPECT_EQ(v.tok->decode(ids, {.drop_controls = true}), clean);
  // Token 0 alone, the demo model's favourite: nothing at all.
  StreamingDetokenizer d(*v.tok, {.drop_controls = true});
  EXPECT_EQ(d.push(0), "");
  EXPECT_EQ(d.push(0), "");
  EXPECT_EQ(d.finish(), "");
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
