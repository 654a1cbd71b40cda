// libFuzzer target for the tokenizers (src/tokenizer): any bytes, for every reference vocabulary in
// $PARLEY_SHARED_DIR/vocab (default ../shared/vocab) that Parley loads. The first byte picks the
// vocabulary, the second the options; the rest is the text. Whatever the text:
//  - every id is a token of the vocabulary;
//  - encode_at_most() agrees with encode() on both sides of the exact count (but for texts over its
//    byte bound, which it refuses unread);
//  - byte-level BPE vocabularies that have a token for every byte give the text back byte for byte
//    (decode(encode(x)) == x; for valid UTF-8 only when they have added tokens), as do SentencePiece ones with byte
//    fallback for valid UTF-8; vocabularies whose added tokens strip whitespace around them (Phi-3) are exempt;
//  - decoding arbitrary ids (from the text's bytes) does not crash.
// Build and run it with scripts/fuzz --target tokenizer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/utf8.h"
#include "gguf/gguf_file.h"
#include "tokenizer/byte_encoding.h"
#include "tokenizer/tokenizer.h"

namespace {

const char* g_vocab = "";  // the vocabulary of the input being run, for the failure message

void expect(bool cond, const char* what) {
  if (cond) return;
  std::fprintf(stderr, "tokenizer_fuzz: %s: violated: %s\n", g_vocab, what);
  std::abort();
}

struct Loaded {
  std::string path;
  std::unique_ptr<parley::GgufFile> file;
  std::unique_ptr<parley::Tokenizer> tokenizer;
  bool strips = false;  // some token swallows whitespace next to it
  bool byte_fallback = false;
  bool user_defined = false;  // has user-defined (added) tokens
  bool all_bytes = true;      // BPE: every byte's symbol is a token (StarCoder lacks "ÿ")
};

std::vector<Loaded>& tokenizers() {
  static std::vector<Loaded> loaded;
  return loaded;
}

void load_all() {
  const char* env = std::getenv("PARLEY_SHARED_DIR");
  const std::string dir = std::string(env != nullptr && *env ? env : "../shared") + "/vocab";
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".gguf") paths.push_back(e.path().string());
  }
  std::sort(paths.begin(), paths.end());
  for (const std::string& p : paths) {
    auto f = parley::GgufFile::open(p);
    if (!f.ok()) continue;
    auto t = parley::Tokenizer::from_gguf(**f);
    if (!t.ok()) continue;  // e.g. a WordPiece vocabulary Parley does not serve
    Loaded l;
    l.path = p;
    l.file = std::move(*f);
    l.tokenizer = std::move(*t);
    const parley::Vocab& v = l.tokenizer->vocab();
    for (const std::uint8_t a : v.attrs) l.strips = l.strips || a != 0;
    for (const parley::TokenType type : v.types) {
      l.byte_fallback = l.byte_fallback || type == parley::TokenType::kByte;
      l.user_defined = l.user_defined || type == parley::TokenType::kUserDefined;
    }
    if (v.kind == parley::VocabKind::kBpe) {
      for (int b = 0; b < 256; ++b) {
        l.all_bytes = l.all_bytes &&
                      v.find(parley::ByteEncoding::get().encode_byte(static_cast<std::uint8_t>(b))) != parley::kNoToken;
      }
    }
    tokenizers().push_back(std::move(l));
  }
  if (tokenizers().empty()) {
    std::fprintf(stderr, "tokenizer_fuzz: no vocabulary loaded from %s (set PARLEY_SHARED_DIR)\n", dir.c_str());
    std::abort();
  }
}

// SentencePiece writes spaces as U+2581 and decodes U+2581 as a space, so a text that holds one
// does not come back as it was (the reference tokenizer does the same).
bool has_spm_space(std::string_view text) {
  return text.find("\xE2\x96\x81") != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  load_all();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2 || size > 4096) return 0;
  const Loaded& l = tokenizers()[data[0] % tokenizers().size()];
  const parley::Tokenizer& tok = *l.tokenizer;
  g_vocab = l.path.c_str();
  const std::uint8_t flags = data[1];
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  parley::EncodeOptions o;
  o.add_special = (flags & 1) != 0;
  o.parse_special = (flags & 2) != 0;
  const std::vector<parley::TokenId> ids = tok.encode(text, o);
  for (const parley::TokenId id : ids) expect(id >= 0 && id < tok.n_tokens(), "ids are tokens");

  const auto same = tok.encode_at_most(text, ids.size(), o);
  // A text longer than n x max_token_bytes() is refused unread, even when it has fewer tokens than
  // its bytes imply (characters without a token, as Falcon's byte 0xFF: documented).
  const bool over_byte_bound = text.size() > ids.size() * tok.max_token_bytes();
  expect((same.has_value() && *same == ids) || (!same.has_value() && over_byte_bound), "encode_at_most(n) == encode");
  if (!ids.empty()) expect(!tok.encode_at_most(text, ids.size() - 1, o).has_value(), "encode_at_most(n - 1) refuses");

  if (!o.add_special && !o.parse_special && !l.strips) {
    const parley::Vocab& v = tok.vocab();
    // An added token that is also a byte's symbol (DeepSeek Coder's "÷" for byte 0xF7) decodes to
    // its text, so a lone invalid byte comes back as that character: valid UTF-8 only there.
    const bool valid = parley::utf8_is_valid(text);
    const bool round_trips = v.kind == parley::VocabKind::kBpe ? l.all_bytes && (valid || !l.user_defined)
                                                               : l.byte_fallback && valid && !has_spm_space(text);
    if (round_trips) expect(tok.decode(ids) == text, "decode(encode(x)) == x");
  }

  // Arbitrary ids, including invalid ones: decode and token_piece must cope.
  std::vector<parley::TokenId> junk;
  for (std::size_t i = 0; i + 2 <= text.size() && junk.size() < 64; i += 2) {
    const auto id = static_cast<parley::TokenId>((static_cast<unsigned char>(text[i]) << 8) |
                                                 static_cast<unsigned char>(text[i + 1]));
    junk.push_back((flags & 4) != 0 ? id % tok.n_tokens() : id - 128);
  }
  parley::DecodeOptions d;
  d.render_special = (flags & 8) != 0;
  d.drop_controls = (flags & 16) != 0;
  (void)tok.decode(junk, d);
  for (const parley::TokenId id : junk) (void)tok.token_piece(id, d.render_special);
  return 0;
}
