// GrammarCompiler: turns a constraint as the API states it (a GrammarSpec: JSON Schema, any JSON
// object, a regex, a list of choices, a GBNF grammar, or a grammar the caller built) into a
// CompiledGrammar for one vocabulary, with a cache so that a repeated constraint costs nothing.
//
// The gateway owns one per served model and calls compile() on its worker pool (never on the
// engine thread: compiling takes milliseconds); the result goes into GenerateRequest::grammar.
// Thread-safe: concurrent calls for the same key compile once and share the result (errors are
// cached too: a bad schema sent again is refused at once). The cache keeps the most recently
// used entries, at most `cache_capacity` of them and `cache_bytes` of precomputed masks (a
// compiled grammar holds from a few KiB to tens of MiB of them on a 128k vocabulary; a grammar a
// request still uses stays alive through its shared pointer when evicted).
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "grammar/compiled_grammar.h"
#include "grammar/grammar_spec.h"
#include "grammar/json_schema.h"

namespace parley {

// The vocabulary-independent grammar of a spec (errors: kInvalidArgument, see the front ends).
Result<Grammar> build_grammar(const GrammarSpec& spec, const GrammarLimits& limits = {});

// The grammar whose text is exactly one of `choices` (at least one).
Result<Grammar> choice_grammar(const std::vector<std::string>& choices, const GrammarLimits& limits = {});

using CompiledGrammarPtr = std::shared_ptr<const CompiledGrammar>;

class GrammarCompiler {
 public:
  explicit GrammarCompiler(std::shared_ptr<const TokenVocabulary> vocab, const GrammarLimits& limits = {},
                           std::size_t cache_capacity = 256, std::int64_t cache_bytes = std::int64_t{512} << 20);

  // The result's source() is the spec (what a remote worker needs to compile it again).
  Result<CompiledGrammarPtr> compile(const GrammarSpec& spec);
  // A grammar the caller builds (e.g. a tool-call syntax around several schemas); `key` must
  // identify it completely (it is the cache key, within this vocabulary). Its source() is null;
  // its built() keeps the grammar and the key (for a remote worker).
  Result<CompiledGrammarPtr> compile(const std::string& key, const std::function<Result<Grammar>()>& build);

  struct Stats {
    std::int64_t hits = 0;
    std::int64_t misses = 0;
    std::int64_t entries = 0;
    std::int64_t bytes = 0;  // masks held by the cached grammars
  };
  Stats stats() const;
  const std::shared_ptr<const TokenVocabulary>& vocabulary() const { return vocab_; }
  const GrammarLimits& limits() const { return limits_; }

 private:
  struct Entry {
    std::shared_future<Result<CompiledGrammarPtr>> result;
    std::list<std::string>::iterator lru;
    std::int64_t bytes = 0;  // known once compiled
  };
  Result<CompiledGrammarPtr> compile_keyed(const std::string& key, const std::function<Result<Grammar>()>& build,
                                           std::shared_ptr<const GrammarSpec> source);
  // Drops least recently used entries beyond the bounds (mutex_ held).
  void evict();

  std::shared_ptr<const TokenVocabulary> vocab_;
  GrammarLimits limits_;
  std::size_t capacity_;
  std::int64_t max_bytes_;
  mutable std::mutex mutex_;
  std::list<std::string> lru_;  // most recent first
  std::map<std::string, Entry> cache_;
  Stats stats_;
};

}  // namespace parley
