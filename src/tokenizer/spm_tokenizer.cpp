// SentencePiece BPE (the "llama" vocabularies of Llama 2, Mistral, Phi-3): spaces become "▁",
// a space is prepended to text that starts a fragment, then adjacent pieces are merged greedily,
// highest score first (leftmost on ties), as long as the merged text is a token. Characters that
// end up outside the vocabulary fall back to <0xXX> byte tokens.
#include <algorithm>
#include <array>

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
      if (b >= 0 && byte_tokens_[static_cast<std::size_t>(b)] == kNoToken)
        byte_tokens_[static_cast<std::size_t>(b)] = id;
    }
    // When no token has "▁" right after another character, no merge can cross the point before
    // a "▁" that follows another character, so words can be merged one at a time with exactly
    // the same result as merging the whole text at once (merges in disjoint spans commute), and
    // without one priority queue over the whole text. True for Llama 2, Mistral and Phi-3.
    split_words_ = true;
    for (const std::string& t : vocab_->tokens) {
      for (std::size_t pos = t.find(kSpaceMark, 1); pos != std::string::npos; pos = t.find(kSpaceMark, pos + 1)) {
        if (pos < kSpaceMark.size() || t.compare(pos - kSpaceMark.size(), kSpaceMark.size(), kSpaceMark) != 0) {
          split_words_ = false;
        }
      }
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
  // Buffers reused across the spans of one encode call.
  struct Scratch {
    std::vector<Symbol> symbols;
    std::vector<Bigram> heap;  // a max-heap under BigramOrder
  };

  void encode_fragment(std::string_view text, bool starts_text, std::size_t out_max,
                       std::vector<TokenId>* out) const override {
    std::string s;
    s.reserve(text.size() + 16);
    if (vocab_->add_space_prefix && starts_text) s += kSpaceMark;
    for (const char c : text) {
      if (c == ' ')
        s += kSpaceMark;
      else
        s += c;
    }
    if (s.empty()) return;
    Scratch scratch;
    if (!split_words_) {
      encode_span(s, &scratch, out);
      return;
    }
    std::size_t begin = 0;
    for (std::size_t pos = s.find(kSpaceMark, 1); pos != std::string::npos; pos = s.find(kSpaceMark, pos + 1)) {
      if (s.compare(pos - kSpaceMark.size(), kSpaceMark.size(), kSpaceMark) == 0) continue;  // inside a run of "▁"
      if (out->size() > out_max) return;
      encode_span(std::string_view(s).substr(begin, pos - begin), &scratch, out);
      begin = pos;
    }
    encode_span(std::string_view(s).substr(begin), &scratch, out);
  }

  // Merges one span of escaped text and appends its tokens.
  void encode_span(std::string_view s, Scratch* scratch, std::vector<TokenId>* out) const {
    std::vector<Symbol>& symbols = scratch->symbols;
    std::vector<Bigram>& heap = scratch->heap;
    symbols.clear();
    heap.clear();
    for (std::size_t pos = 0; pos < s.size();) {
      // A character per symbol; a byte that does not start a valid one stands alone (and will
      // fall back to a byte token), so invalid input never swallows the next "▁".
      std::size_t n = utf8_valid_prefix_char_length(s.substr(pos));
      if (n == 0) n = 1;
      const auto idx = static_cast<std::int32_t>(symbols.size());
      symbols.push_back({static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(n), idx - 1, idx + 1});
      pos += n;
    }
    symbols.back().next = -1;

    auto try_add = [&](std::int32_t left, std::int32_t right) {
      if (left < 0 || right < 0) return;
      const Symbol& l = symbols[static_cast<std::size_t>(left)];
      const Symbol& r = symbols[static_cast<std::size_t>(right)];
      const std::string_view merged(s.data() + l.begin, l.length + r.length);
      const TokenId id = vocab_->find(merged);
      if (id == kNoToken) return;
      heap.push_back({vocab_->scores[static_cast<std::size_t>(id)], left, right, l.length + r.length});
      std::push_heap(heap.begin(), heap.end(), BigramOrder{});
    };
    for (std::size_t i = 1; i < symbols.size(); ++i)
      try_add(static_cast<std::int32_t>(i - 1), static_cast<std::int32_t>(i));

    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), BigramOrder{});
      const Bigram b = heap.back();
      heap.pop_back();
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
        if (b != kNoToken)
          out->push_back(b);
        else if (vocab_->unk != kNoToken)
          out->push_back(vocab_->unk);
      }
    }
  }

  std::array<TokenId, 256> byte_tokens_{};
  bool split_words_ = false;
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> make_spm_tokenizer(std::unique_ptr<Vocab> vocab) {
  return std::unique_ptr<Tokenizer>(new SpmTokenizer(std::move(vocab)));
}

}  // namespace parley
