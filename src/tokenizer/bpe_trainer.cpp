#include "tokenizer/bpe_trainer.h"

#include <map>
#include <tuple>
#include <unordered_map>

#include "tokenizer/byte_encoding.h"
#include "tokenizer/pre_tokenizer.h"

namespace parley {

std::vector<BpeMerge> train_bpe_merges(std::string_view corpus, const PreTokenizer& pre, int n_merges) {
  // Symbols are indices into `names`; the first 256 are the bytes.
  std::vector<std::string> names;
  const ByteEncoding& enc = ByteEncoding::get();
  for (int b = 0; b < 256; ++b) names.emplace_back(enc.encode_byte(static_cast<std::uint8_t>(b)));

  std::vector<std::string_view> pieces;
  pre.split(corpus, &pieces);
  std::map<std::string_view, int> counts;  // ordered: deterministic word order
  for (const auto p : pieces) ++counts[p];
  struct Word {
    std::vector<int> symbols;
    int count;
  };
  std::vector<Word> words;
  words.reserve(counts.size());
  for (const auto& [text, count] : counts) {
    Word w{{}, count};
    for (const char c : text) w.symbols.push_back(static_cast<unsigned char>(c));
    words.push_back(std::move(w));
  }

  std::vector<BpeMerge> merges;
  std::unordered_map<std::uint64_t, long> pair_counts;
  auto key = [](int a, int b) { return (static_cast<std::uint64_t>(a) << 32) | static_cast<std::uint32_t>(b); };
  while (static_cast<int>(merges.size()) < n_merges) {
    pair_counts.clear();
    for (const Word& w : words) {
      for (std::size_t i = 0; i + 1 < w.symbols.size(); ++i) pair_counts[key(w.symbols[i], w.symbols[i + 1])] += w.count;
    }
    long best_count = 1;
    int best_a = -1;
    int best_b = -1;
    for (const auto& [k, c] : pair_counts) {
      const int a = static_cast<int>(k >> 32);
      const int b = static_cast<int>(k & 0xFFFFFFFFu);
      const bool better = c > best_count ||
                          (c == best_count && best_a >= 0 &&
                           std::tie(names[static_cast<std::size_t>(a)], names[static_cast<std::size_t>(b)]) <
                               std::tie(names[static_cast<std::size_t>(best_a)], names[static_cast<std::size_t>(best_b)]));
      if (better) {
        best_count = c;
        best_a = a;
        best_b = b;
      }
    }
    if (best_a < 0) break;  // nothing occurs twice any more
    const int merged = static_cast<int>(names.size());
    names.push_back(names[static_cast<std::size_t>(best_a)] + names[static_cast<std::size_t>(best_b)]);
    merges.push_back({names[static_cast<std::size_t>(best_a)], names[static_cast<std::size_t>(best_b)]});
    for (Word& w : words) {
      std::size_t out = 0;
      for (std::size_t i = 0; i < w.symbols.size(); ++i) {
        if (i + 1 < w.symbols.size() && w.symbols[i] == best_a && w.symbols[i + 1] == best_b) {
          w.symbols[out++] = merged;
          ++i;
        } else {
          w.symbols[out++] = w.symbols[i];
        }
      }
      w.symbols.resize(out);
    }
  }
  return merges;
}

}  // namespace parley
