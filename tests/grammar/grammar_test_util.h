// Helpers of the grammar tests: the reference vocabularies as TokenVocabulary (built once per
// binary), compiling with a CHECK, and whole-text matching.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>

#include "grammar/compiled_grammar.h"
#include "grammar/grammar_matcher.h"
#include "grammar/json_schema.h"
#include "grammar/reference_matcher.h"
#include "tokenizer/cached_tokenizer.h"

namespace parley::testing {

inline std::shared_ptr<const TokenVocabulary> grammar_vocab(const std::string& name) {
  static std::map<std::string, std::shared_ptr<const TokenVocabulary>> cache;
  auto& v = cache[name];
  if (!v) v = TokenVocabulary::create(cached_tokenizer(name));
  return v;
}

inline std::shared_ptr<const CompiledGrammar> compile_or_die(const Grammar& g, const std::string& vocab = "llama-spm",
                                                             const GrammarLimits& limits = {}) {
  auto c = compile_grammar(g, grammar_vocab(vocab), limits);
  CHECK(c.ok(), "{}", c.status().to_string());
  return *c;
}

// Whether the whole of `text` is in the language (bytes fed at once, not at the output start).
inline bool matches(const std::shared_ptr<const CompiledGrammar>& g, std::string_view text) {
  GrammarMatcher m(g, /*at_output_start=*/false);
  if (text.empty()) return m.can_end();
  return m.accept_bytes(text) && m.can_end();
}

// Walks `steps` random tokens (uniform over the mask) and checks that the matcher's mask equals
// the reference's at every step. Returns the text produced.
inline std::string compare_walk(const std::shared_ptr<const CompiledGrammar>& g, std::uint32_t seed, int steps,
                                bool at_output_start = true) {
  GrammarMatcher m(g, at_output_start);
  ReferenceMatcher r(g, at_output_start);
  std::mt19937 rng(seed);
  TokenMask mask, ref;
  std::string text;
  const TokenVocabulary& vocab = g->vocabulary();
  for (int step = 0; step < steps && !m.is_complete(); ++step) {
    m.fill_mask(mask);
    r.fill_mask(ref);
    if (!(mask == ref)) {
      int shown = 0;
      for (TokenId t = 0; t < mask.n_tokens() && shown < 8; ++t) {
        if (mask.test(t) != ref.test(t)) {
          ADD_FAILURE() << "step " << step << " after '" << text << "': token " << t << " '" << vocab.bytes(t)
                        << "' matcher " << mask.test(t) << " reference " << ref.test(t);
          ++shown;
        }
      }
      return text;
    }
    std::vector<TokenId> allowed;
    mask.for_each([&](TokenId t) { allowed.push_back(t); });
    if (allowed.empty()) {
      ADD_FAILURE() << "empty mask after '" << text << "'";
      return text;
    }
    const TokenId t = allowed[rng() % allowed.size()];
    const bool first = step == 0 && at_output_start;
    EXPECT_TRUE(m.accept(t));
    EXPECT_TRUE(r.accept(t));
    if (!vocab.is_eog(t)) text += first ? vocab.start_bytes(t) : vocab.bytes(t);
  }
  return text;
}

}  // namespace parley::testing
