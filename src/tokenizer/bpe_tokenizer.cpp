// Byte-level BPE (the "gpt2" vocabularies: Llama 3, Qwen2, GPT-2, DeepSeek, Falcon, ...): the
// pre-tokenizer splits text into words; each word's bytes are mapped to the byte alphabet and
// merged pairwise by merge rank (lowest first, leftmost on ties) until no ranked pair is left.
//
// Symbols are token ids. A merge whose parts or result are not tokens (inconsistent vocabularies
// exist) gets a "virtual" id above the vocabulary, which reproduces string-based merging exactly;
// a virtual symbol left at the end is emitted as the tokens of its characters.
#include <algorithm>
#include <array>
#include <unordered_map>

#include "base/utf8.h"
#include "tokenizer/byte_encoding.h"
#include "tokenizer/encoders.h"
#include "tokenizer/pre_tokenizer.h"

namespace parley {
namespace {

class BpeTokenizer final : public Tokenizer {
 public:
  static Result<std::unique_ptr<Tokenizer>> create(std::unique_ptr<Vocab> vocab) {
    ASSIGN_OR_RETURN(std::unique_ptr<PreTokenizer> pre, PreTokenizer::for_name(vocab->pre));
    std::unique_ptr<BpeTokenizer> t(new BpeTokenizer(std::move(vocab), std::move(pre)));
    t->build_tables();
    return std::unique_ptr<Tokenizer>(std::move(t));
  }

 private:
  struct Merge {
    std::int32_t rank;
    TokenId result;
  };
  struct Symbol {
    TokenId id;
    std::int32_t prev;
    std::int32_t next;
  };
  struct Candidate {
    std::int32_t rank;
    std::int32_t left;
    TokenId left_id;
    TokenId right_id;
    TokenId result;
  };
  struct CandidateOrder {
    bool operator()(const Candidate& a, const Candidate& b) const {
      return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    }
  };

  BpeTokenizer(std::unique_ptr<Vocab> vocab, std::unique_ptr<PreTokenizer> pre)
      : Tokenizer(std::move(vocab)), pre_(std::move(pre)) {}

  static std::uint64_t key(TokenId a, TokenId b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }

  TokenId symbol_for(const std::string& text) {
    const TokenId id = vocab_->find(text);
    if (id != kNoToken) return id;
    const auto [it, inserted] =
        virtual_index_.emplace(text, vocab_->size() + static_cast<TokenId>(virtual_text_.size()));
    if (inserted) virtual_text_.push_back(text);
    return it->second;
  }

  void build_tables() {
    const ByteEncoding& enc = ByteEncoding::get();
    for (int b = 0; b < 256; ++b)
      byte_symbol_[static_cast<std::size_t>(b)] =
          symbol_for(std::string(enc.encode_byte(static_cast<std::uint8_t>(b))));
    merges_.reserve(vocab_->merges.size());
    for (std::size_t rank = 0; rank < vocab_->merges.size(); ++rank) {
      const auto& [a, b] = vocab_->merges[rank];
      const TokenId ia = symbol_for(a);
      const TokenId ib = symbol_for(b);
      const TokenId ir = symbol_for(a + b);
      merges_.emplace(key(ia, ib), Merge{static_cast<std::int32_t>(rank), ir});  // first (lowest) rank wins
    }
  }

  void encode_fragment(std::string_view text, bool /*starts_text*/, std::size_t out_max,
                       std::vector<TokenId>* out) const override {
    std::vector<std::string_view> words;
    pre_->split(text, &words);
    std::string encoded;
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
    for (const std::string_view word : words) {
      if (out->size() > out_max) return;
      if (word.empty()) continue;
      if (vocab_->ignore_merges) {
        encoded.clear();
        ByteEncoding::get().encode(word, &encoded);
        const TokenId id = vocab_->find(encoded);
        if (id != kNoToken) {
          out->push_back(id);
          continue;
        }
      }
      merge_word(word, &symbols, &heap);
      for (std::int32_t i = 0; i != -1; i = symbols[static_cast<std::size_t>(i)].next)
        emit(symbols[static_cast<std::size_t>(i)].id, out);
    }
  }

  // Leaves the merged symbols of a non-empty word in a linked list starting at index 0.
  // `heap` is scratch space (a min-heap under CandidateOrder), reused across words.
  void merge_word(std::string_view word, std::vector<Symbol>* symbols_out, std::vector<Candidate>* heap_out) const {
    std::vector<Symbol>& symbols = *symbols_out;
    symbols.clear();
    const auto n = static_cast<std::int32_t>(word.size());
    for (std::int32_t i = 0; i < n; ++i) {
      symbols.push_back(
          {byte_symbol_[static_cast<unsigned char>(word[static_cast<std::size_t>(i)])], i - 1, i + 1 < n ? i + 1 : -1});
    }
    std::vector<Candidate>& heap = *heap_out;
    heap.clear();
    auto try_add = [&](std::int32_t left) {
      if (left < 0) return;
      const std::int32_t right = symbols[static_cast<std::size_t>(left)].next;
      if (right < 0) return;
      const TokenId a = symbols[static_cast<std::size_t>(left)].id;
      const TokenId b = symbols[static_cast<std::size_t>(right)].id;
      const auto it = merges_.find(key(a, b));
      if (it == merges_.end()) return;
      heap.push_back({it->second.rank, left, a, b, it->second.result});
      std::push_heap(heap.begin(), heap.end(), CandidateOrder{});
    };
    for (std::int32_t i = 0; i + 1 < n; ++i) try_add(i);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), CandidateOrder{});
      const Candidate c = heap.back();
      heap.pop_back();
      Symbol& l = symbols[static_cast<std::size_t>(c.left)];
      if (l.id != c.left_id || l.next < 0) continue;
      Symbol& r = symbols[static_cast<std::size_t>(l.next)];
      if (r.id != c.right_id) continue;  // stale: a neighbour changed since this was queued
      l.id = c.result;
      r.id = kNoToken;
      l.next = r.next;
      if (r.next >= 0) symbols[static_cast<std::size_t>(r.next)].prev = c.left;
      try_add(l.prev);
      try_add(c.left);
    }
  }

  void emit(TokenId id, std::vector<TokenId>* out) const {
    if (id < vocab_->size()) {
      out->push_back(id);
      return;
    }
    // A virtual symbol: emit the token of each of its characters.
    const std::string& text = virtual_text_[static_cast<std::size_t>(id - vocab_->size())];
    for (std::size_t pos = 0; pos < text.size();) {
      const std::size_t start = pos;
      utf8_decode(text, &pos);
      const TokenId t = vocab_->find(std::string_view(text).substr(start, pos - start));
      if (t != kNoToken)
        out->push_back(t);
      else if (vocab_->unk != kNoToken)
        out->push_back(vocab_->unk);
    }
  }

  std::unique_ptr<PreTokenizer> pre_;
  std::array<TokenId, 256> byte_symbol_{};
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::vector<std::string> virtual_text_;
  std::unordered_map<std::string, TokenId> virtual_index_;
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> make_bpe_tokenizer(std::unique_ptr<Vocab> vocab) {
  return BpeTokenizer::create(std::move(vocab));
}

}  // namespace parley
