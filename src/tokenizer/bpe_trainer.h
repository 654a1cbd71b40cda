// Learns byte-level BPE merges from a text: the classic algorithm (count adjacent symbol pairs
// over the pre-tokenized words, merge the most frequent pair, repeat). Deterministic: ties go to
// the lexicographically smallest pair. Used to build the self-contained "builtin:bytes" vocabulary
// of the demo model; small corpora only (it recounts all pairs after every merge).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace parley {

class PreTokenizer;

struct BpeMerge {
  std::string left;   // in the byte alphabet of tokenizer/byte_encoding.h
  std::string right;
};

// Up to `n_merges` merges in rank order; fewer when no pair occurs at least twice any more.
std::vector<BpeMerge> train_bpe_merges(std::string_view corpus, const PreTokenizer& pre, int n_merges);

}  // namespace parley
