// SentencePiece BPE (the "llama" vocabularies of Llama 2, Mistral, Phi-3): spaces become "▁",
// a space is prepended to text that starts a fragment, then adjacent pieces are merged greedily,
// highest score first (leftmost on ties), as long as the merged text is a token. Characters that
// end up outside the vocabulary fall back to <0xXX> byte tokens.
#include <array>
#include <queue>

#include "base/utf8.h"
#include "tokenizer/encoders.h"

namespace parley {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

class SpmTokenizer final : public Tokenizer {
 public:
  explicit SpmTokenizer(std::unique_ptr<Vocab> vocab) : Tokenizer(std::move(vocab)) {
    byte_tokens_.fill(kNoToken);
    for (TokenId id = 0; id < vocab_->size(); ++id) {
      if (vocab_->types[static_cast<std::size_t>(id)] != TokenType::kByte) continue;
      const int b = parse_byte_token(vocab_->tokens[static_cast<std::size_t>(id)]);
      if (b >= 0 && byte_tokens_[static_cast<std::size_t>(b)] == kNoToken) byte_tokens_[static_cast<std::size_t>(b)] = id;
    }
  }

 private:
  struct Symbol {
    std::uint32_t begin;
    std::uint32_t length;  // 0 once merged into its left neighbour
    std::int32_t prev;
    std::int32_t next;
  };
  struct Bigram {
    float score;
    std::int32_t left;
    std::int32_t right;
    std::uint32_t length;
  };
  struct BigramOrder {
    bool operator()(const Bigram& a, const Bigram& b) const {
      return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
  };
  using Queue = std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder>;

  void encode_fragment(std::string_view text, bool starts_text, std::vector<TokenId>* out) const override {
    std::string s;
    s.reserve(text.size() + 16);
    if (vocab_->add_space_prefix && starts_text) s += kSpaceMark;
    for (const char c : text) {
      if (c == ' ') s += kSpaceMark;
      else s += c;
    }
    if (s.empty()) return;

    std::vector<Symbol> symbols;
    symbols.reserve(s.size());
    for (std::size_t pos = 0; pos < s.size();) {
      // A character per symbol; a byte that does not start a valid one stands alone (and will
      // fall back to a byte token), so invalid input never swallows the next "▁".
      std::size_t n = utf8_valid_prefix_char_length(std::string_view(s).substr(pos));
      if (n == 0) n = 1;
      const auto idx = static_cast<std::int32_t>(symbols.size());
      symbols.push_back({static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(n), idx - 1, idx + 1});
      pos += n;
    }
    symbols.back().next = -1;

    Queue queue;
    auto try_add = [&](std::int32_t left, std::int32_t right) {
      if (left < 0 || right < 0) return;
      const Symbol& l = symbols[static_cast<std::size_t>(left)];
      const Symbol& r = symbols[static_cast<std::size_t>(right)];
      const std::string_view merged(s.data() + l.begin, l.length + r.length);
      const TokenId id = vocab_->find(merged);
      if (id == kNoToken) return;
      queue.push({vocab_->scores[static_cast<std::size_t>(id)], left, right, l.length + r.length});
    };
    for (std::size_t i = 1; i < symbols.size(); ++i) try_add(static_cast<std::int32_t>(i - 1), static_cast<std::int32_t>(i));

    while (!queue.empty()) {
      const Bigram b = queue.top();
      queue.pop();
      Symbol& l = symbols[static_cast<std::size_t>(b.left)];
      Symbol& r = symbols[static_cast<std::size_t>(b.right)];
      if (l.length == 0 || r.length == 0 || l.length + r.length != b.length) continue;  // stale
      l.length += r.length;
      r.length = 0;
      l.next = r.next;
      if (r.next >= 0) symbols[static_cast<std::size_t>(r.next)].prev = b.left;
      try_add(l.prev, b.left);
      try_add(b.left, l.next);
    }

    // Every merged symbol is a token by construction; a lone character may not be.
    for (std::int32_t i = 0; i != -1; i = symbols[static_cast<std::size_t>(i)].next) {
      const Symbol& sym = symbols[static_cast<std::size_t>(i)];
      const std::string_view piece(s.data() + sym.begin, sym.length);
      const TokenId id = vocab_->find(piece);
      if (id != kNoToken) {
        out->push_back(id);
        continue;
      }
      for (const char c : piece) {
        const TokenId b = byte_tokens_[static_cast<unsigned char>(c)];
        if (b != kNoToken) out->push_back(b);
        else if (vocab_->unk != kNoToken) out->push_back(vocab_->unk);
      }
    }
  }

  std::array<TokenId, 256> byte_tokens_{};
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> make_spm_tokenizer(std::unique_ptr<Vocab> vocab) {
  return std::unique_ptr<Tokenizer>(new SpmTokenizer(std::move(vocab)));
}

}  // namespace parley
