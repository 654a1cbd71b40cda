// Sequence: the engine's state of one request. Owned by the Engine; touched only on the engine
// thread. "Tokens computed and tokens wanted": `tokens` is the prompt followed by the output so
// far; `n_computed` of them have their K/V in the cache. Each step computes some of the rest; when
// all are computed, the logits of the last one give the next token.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "engine/request.h"
#include "grammar/grammar_matcher.h"
#include "kv/block_pool.h"
#include "kv/kv_tier.h"

namespace parley {

enum class SeqStatus { kWaiting, kRunning, kFinished };

struct Sequence {
  RequestId id = 0;
  GenerateRequest request;
  std::shared_ptr<RequestSink> sink;
  std::int32_t max_output = 0;  // resolved max_tokens

  std::vector<TokenId> tokens;  // prompt, then output
  std::int32_t n_prompt = 0;
  std::int32_t n_computed = 0;
  std::vector<std::int32_t> blocks;       // block table: position / block_size -> block
  // Per leading full block, the serial naming its content in the prefix index (kNoSerial: none).
  std::vector<BlockSerial> block_serials;
  BlockHash cache_scope_key = kSharedScope;  // the pool's key of request.cache_scope
  std::int32_t n_shared = 0;                 // leading tokens cached without the scope
  // With a KV tier (kv/kv_tier.h): the scope's id there, and per leading full block (as
  // block_serials) the chained digest that names it in the tier.
  TierDigest tier_scope{};
  std::vector<TierDigest> tier_digests;
  std::optional<Sampler> sampler;
  // Where the output stands in request.grammar, once the grammar constrains (from the start, or
  // after a trigger token). It depends only on the generated tokens, so preemption (which keeps
  // them) and prefix-cache hits leave it right.
  std::optional<GrammarMatcher> matcher;

  SeqStatus status = SeqStatus::kWaiting;
  std::uint64_t arrival_order = 0;  // tie-breaker: earlier arrivals first
  bool admitted_once = false;
  std::int32_t cached_prompt_tokens = 0;
  std::int32_t preemptions = 0;
  double arrival_s = 0;
  double first_scheduled_s = -1;
  double first_token_s = -1;

  std::int32_t n_output() const { return static_cast<std::int32_t>(tokens.size()) - n_prompt; }
  std::int32_t n_uncomputed() const { return static_cast<std::int32_t>(tokens.size()) - n_computed; }
  // Generating: the prompt is computed and only the newest token is not.
  bool decoding() const { return n_computed >= n_prompt && n_uncomputed() == 1; }
};

}  // namespace parley
