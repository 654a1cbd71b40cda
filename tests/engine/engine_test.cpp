// The engine's bookkeeping with no model: scheduling, chunked prefill, prefix caching,
// copy-on-write, eviction, preemption, cancellation, admission control, fairness, stop rules.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "engine_rig.h"

namespace parley {
namespace {

using testing::iota_tokens;
using testing::kEos;
using testing::kVocab;
using testing::RecordingSink;
using testing::Rig;
using testing::solo;

TEST(Engine, ChunkedPrefillSplitsLongPromptsByTheBudget) {
  Rig rig(64, 4, {.max_batch_tokens = 8, .max_running = 4});
  auto sink = rig.submit(1, iota_tokens(20), 3);
  rig.run_to_completion();
  std::vector<std::int64_t> sizes;
  for (const auto& b : rig.runner.batches) sizes.push_back(b.n_tokens());
  EXPECT_EQ(sizes, (std::vector<std::int64_t>{8, 8, 4, 1, 1}));
  EXPECT_EQ(sink->tokens.size(), 3u);
  EXPECT_EQ(sink->finish.reason, FinishReason::kLength);
  EXPECT_EQ(sink->tokens, solo(iota_tokens(20), 3));
  EXPECT_EQ(rig.pool.n_in_use(), 0);
}

TEST(Engine, DecodesGoFirstAndPromptsTakeTheRestOfTheBudget) {
  Rig rig(64, 4, {.max_batch_tokens = 6, .max_running = 4});
  auto a = rig.submit(1, iota_tokens(3), 10);
  auto b = rig.submit(2, iota_tokens(2, 5), 10);
  rig.engine->step();  // both prompts (3 + 2 tokens)
  auto c = rig.submit(3, iota_tokens(30, 9), 2);
  rig.engine->step();
  const auto& last = rig.runner.batches.back();
  ASSERT_EQ(last.seqs.size(), 3u);
  EXPECT_EQ(last.seqs[0].n_tokens, 1);  // a decoding
  EXPECT_EQ(last.seqs[1].n_tokens, 1);  // b decoding
  EXPECT_EQ(last.seqs[2].n_tokens, 4);  // c: a chunk of what is left
  EXPECT_FALSE(last.seqs[2].want_logits);
  rig.run_to_completion();
  EXPECT_EQ(a->tokens, solo(iota_tokens(3), 10));
  EXPECT_EQ(b->tokens, solo(iota_tokens(2, 5), 10));
  EXPECT_EQ(c->tokens, solo(iota_tokens(30, 9), 2));
}

TEST(Engine, PrefixHitOnWholeBlocksSkipsThemAndGivesTheSameTokens) {
  Rig rig(64, 4, {.max_batch_tokens = 100, .max_running = 4});
  const auto shared = iota_tokens(16);
  auto a = rig.submit(1, shared, 4);
  rig.run_to_completion();
  // b shares 18 tokens with a: 4 full blocks (16) hit, the rest is computed.
  auto prompt_b = shared;
  for (TokenId t : {3, 4, 5, 6, 7}) prompt_b.push_back(t);
  const std::size_t before = rig.runner.batches.size();
  auto b = rig.submit(2, prompt_b, 4);
  rig.run_to_completion();
  EXPECT_EQ(b->finish.cached_prompt_tokens, 16);
  EXPECT_EQ(rig.runner.batches[before].n_tokens(), 5);  // only the tokens after the hit
  EXPECT_EQ(b->tokens, solo(prompt_b, 4));
  EXPECT_GT(rig.engine->stats().prefix_hit_rate(), 0.0);
}

TEST(Engine, PartialBlockIsRecomputed) {
  Rig rig(64, 4, {.max_batch_tokens = 100, .max_running = 4});
  auto a = rig.submit(1, iota_tokens(10), 2);
  rig.run_to_completion();
  // Same first 10 tokens, different 11th: only the 2 full blocks (8 tokens) can be reused.
  auto p = iota_tokens(10);
  p.push_back(42);
  auto b = rig.submit(2, p, 2);
  rig.run_to_completion();
  EXPECT_EQ(b->finish.cached_prompt_tokens, 8);
  EXPECT_EQ(b->tokens, solo(p, 2));
}

TEST(Engine, FullHitCopiesTheSharedLastBlockBeforeWritingIt) {
  Rig rig(64, 4, {.max_batch_tokens = 100, .max_running = 4});
  const auto p = iota_tokens(12);  // exactly 3 blocks
  auto a = rig.submit(1, p, 6);
  rig.engine->step();                // a's prompt is in; its blocks are registered
  auto b = rig.submit(2, p, 6);      // same prompt while a still runs
  rig.run_to_completion();
  EXPECT_EQ(b->finish.cached_prompt_tokens, 11);  // all but the last token, whose logits are needed
  EXPECT_GE(rig.runner.copies, 1);                // the last shared block was copied, not written
  EXPECT_EQ(a->tokens, solo(p, 6));
  EXPECT_EQ(b->tokens, solo(p, 6));
  EXPECT_EQ(rig.pool.n_in_use(), 0);
}

TEST(Engine, CachedBlocksAreEvictedLeastRecentlyUsedFirst) {
  BlockPool pool(4, 4);
  const std::vector<std::vector<std::int32_t>> tokens = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};
  const auto content = [&](int i) {
    return BlockContent{kRootSerial, kSharedScope, tokens[static_cast<std::size_t>(i)]};
  };
  std::vector<std::int32_t> blocks;
  ASSERT_TRUE(pool.allocate_n(3, &blocks));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(pool.register_block(blocks[static_cast<std::size_t>(i)], content(i)).has_value());
  pool.release(blocks[1]);  // cached first: least recently used
  pool.release(blocks[0]);
  pool.release(blocks[2]);
  EXPECT_EQ(pool.n_cached(), 3);
  EXPECT_EQ(pool.n_available(), 4);
  // One free block goes first, then the LRU order: blocks[1], blocks[0], blocks[2].
  const auto f = pool.allocate();
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(pool.lookup(content(1)).has_value());
  EXPECT_EQ(*pool.allocate(), blocks[1]);
  EXPECT_FALSE(pool.lookup(content(1)).has_value());  // evicted: unregistered
  // Reusing a cached block takes it out of the LRU.
  pool.retain(pool.lookup(content(0))->block);
  EXPECT_EQ(*pool.allocate(), blocks[2]);
  EXPECT_FALSE(pool.allocate().has_value());
  EXPECT_EQ(pool.stats().evictions, 2);
}

TEST(Engine, PreemptedRequestsResumeWithoutLosingOrRepeatingTokens) {
  // 9 blocks of 4 tokens: three requests of 8-token prompts cannot all grow to 8 + 12 tokens.
  Rig rig(9, 4, {.max_batch_tokens = 64, .max_running = 3});
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  std::vector<std::vector<TokenId>> prompts;
  for (int i = 0; i < 3; ++i) {
    prompts.push_back(iota_tokens(8, 3 * i + 1));
    sinks.push_back(rig.submit(static_cast<RequestId>(i + 1), prompts.back(), 12));
  }
  rig.run_to_completion();
  EXPECT_GT(rig.engine->stats().preemptions, 0);
  int preempted = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(sinks[static_cast<std::size_t>(i)]->finished);
    EXPECT_EQ(sinks[static_cast<std::size_t>(i)]->tokens, solo(prompts[static_cast<std::size_t>(i)], 12)) << i;
    EXPECT_EQ(sinks[static_cast<std::size_t>(i)]->finish.completion_tokens, 12);
    preempted += sinks[static_cast<std::size_t>(i)]->finish.preemptions;
  }
  EXPECT_GT(preempted, 0);
  EXPECT_EQ(rig.pool.n_in_use(), 0);
}

TEST(Engine, LongPromptsThatFillThePoolTogetherDoNotDeadlock) {
  // Two 24-token prompts in chunks of 8 with 8 blocks of 4 (32 tokens): each can hold only part.
  Rig rig(8, 4, {.max_batch_tokens = 8, .max_running = 2});
  auto a = rig.submit(1, iota_tokens(24, 1), 2);
  auto b = rig.submit(2, iota_tokens(24, 2), 2);
  rig.run_to_completion();
  EXPECT_EQ(a->tokens, solo(iota_tokens(24, 1), 2));
  EXPECT_EQ(b->tokens, solo(iota_tokens(24, 2), 2));
}

TEST(Engine, CancelMidPrefillAndMidDecodeFreesBlocks) {
  Rig rig(64, 4, {.max_batch_tokens = 8, .max_running = 4});
  auto a = rig.submit(1, iota_tokens(40), 5);  // needs 5 steps of prefill
  auto b = rig.submit(2, iota_tokens(4, 3), 50);
  rig.engine->step();
  rig.engine->step();
  rig.engine->cancel(1);  // mid-prefill
  EXPECT_TRUE(a->finished);
  EXPECT_EQ(a->finish.reason, FinishReason::kCancelled);
  EXPECT_TRUE(a->tokens.empty());
  for (int i = 0; i < 5; ++i) rig.engine->step();
  EXPECT_FALSE(b->tokens.empty());
  rig.engine->cancel(2);  // mid-decode
  EXPECT_EQ(b->finish.reason, FinishReason::kCancelled);
  EXPECT_EQ(b->finish.completion_tokens, static_cast<std::int32_t>(b->tokens.size()));
  EXPECT_FALSE(rig.engine->has_work());
  EXPECT_EQ(rig.pool.n_in_use(), 0);
  rig.engine->cancel(2);  // twice, or unknown: ignored
  rig.engine->cancel(99);
}

TEST(Engine, AdmissionControl) {
  Rig rig(64, 4, {.max_batch_tokens = 8, .max_running = 1}, /*n_ctx=*/32);
  for (int i = 0; i < 8; ++i) rig.submit(static_cast<RequestId>(i + 1), iota_tokens(4), 2);
  GenerateRequest r;
  r.prompt = iota_tokens(4);
  EXPECT_EQ(rig.engine->validate(r).code(), ErrorCode::kResourceExhausted);  // 8 waiting = the limit
  rig.engine->step();  // admits one
  EXPECT_TRUE(rig.engine->validate(r).ok());
  r.prompt = iota_tokens(32);
  EXPECT_EQ(rig.engine->validate(r).code(), ErrorCode::kInvalidArgument);  // no room left to generate
  r.prompt = iota_tokens(20);
  r.max_tokens = 13;
  EXPECT_EQ(rig.engine->validate(r).code(), ErrorCode::kInvalidArgument);  // 20 + 13 > 32
  r.max_tokens = 12;
  EXPECT_TRUE(rig.engine->validate(r).ok());
  r.prompt = {kVocab};
  EXPECT_EQ(rig.engine->validate(r).code(), ErrorCode::kInvalidArgument);
  r.prompt = {};
  EXPECT_EQ(rig.engine->validate(r).code(), ErrorCode::kInvalidArgument);
  r.prompt = {1};
  r.sampling.top_p = 0;
  EXPECT_EQ(rig.engine->validate(r).code(), ErrorCode::kInvalidArgument);
}

TEST(Engine, OneTenantsBurstDoesNotStarveAnother) {
  Rig rig(256, 4, {.max_batch_tokens = 16, .max_running = 2});
  std::vector<std::shared_ptr<RecordingSink>> heavy;
  for (int i = 0; i < 6; ++i) heavy.push_back(rig.submit(static_cast<RequestId>(i + 1), iota_tokens(64, i), 4, "heavy"));
  for (int i = 0; i < 3; ++i) rig.engine->step();
  auto light = rig.submit(100, iota_tokens(8, 40), 4, "light");
  int steps = 0;
  while (!light->finished && steps < 1000) {
    rig.engine->step();
    ++steps;
  }
  ASSERT_TRUE(light->finished);
  int heavy_done = 0;
  for (const auto& h : heavy) heavy_done += h->finished ? 1 : 0;
  // The light tenant was admitted at the first free slot, ahead of the heavy tenant's queue.
  EXPECT_LE(heavy_done, 2);
  rig.run_to_completion();
}

TEST(Engine, HigherPriorityIsAdmittedFirst) {
  Rig rig(256, 4, {.max_batch_tokens = 16, .max_running = 1});
  auto low = rig.submit(1, iota_tokens(4), 3, "a", Priority::kBatch);
  auto high = rig.submit(2, iota_tokens(4, 9), 3, "b", Priority::kInteractive);
  rig.engine->step();
  EXPECT_EQ(rig.runner.batches.back().tokens, iota_tokens(4, 9));
  rig.run_to_completion();
}

TEST(Engine, StopConditions) {
  {  // end-of-generation token: not emitted, counted
    Rig rig(64, 4, {.max_batch_tokens = 64, .max_running = 4});
    int n = 0;
    rig.runner.force_next = [&n](std::uint64_t, TokenId t) { return ++n == 4 ? kEos : (t == kEos ? 0 : t); };
    auto s = rig.submit(1, iota_tokens(5), 20);
    rig.run_to_completion();
    EXPECT_EQ(s->finish.reason, FinishReason::kStop);
    EXPECT_EQ(s->tokens.size(), 3u);
    EXPECT_EQ(s->finish.completion_tokens, 4);
  }
  {  // stop token ids, and ignore_eos
    Rig rig(64, 4, {.max_batch_tokens = 64, .max_running = 4});
    rig.runner.force_next = [](std::uint64_t, TokenId) { return kEos; };
    GenerateRequest r;
    r.prompt = iota_tokens(3);
    r.max_tokens = 5;
    r.sampling.temperature = 0;
    r.ignore_eos = true;
    auto sink = std::make_shared<RecordingSink>();
    rig.engine->add(1, r, sink);
    rig.run_to_completion();
    EXPECT_EQ(sink->finish.reason, FinishReason::kLength);
    EXPECT_EQ(sink->tokens, std::vector<TokenId>(5, kEos));
    r.stop_token_ids = {kEos};
    auto sink2 = std::make_shared<RecordingSink>();
    rig.engine->add(2, r, sink2);
    rig.run_to_completion();
    EXPECT_EQ(sink2->finish.reason, FinishReason::kStop);
    EXPECT_TRUE(sink2->tokens.empty());
  }
  {  // context length
    Rig rig(64, 4, {.max_batch_tokens = 64, .max_running = 4}, /*n_ctx=*/10);
    auto s = rig.submit(1, iota_tokens(7), 0);
    rig.run_to_completion();
    EXPECT_EQ(s->finish.reason, FinishReason::kLength);
    EXPECT_EQ(s->tokens.size(), 3u);
  }
}

TEST(Engine, ForwardFailureFailsTheStepsRequestsAndTheEngineGoesOn) {
  Rig rig(64, 4, {.max_batch_tokens = 64, .max_running = 4});
  auto a = rig.submit(1, iota_tokens(5), 3);
  rig.runner.fail_next = true;
  rig.engine->step();
  EXPECT_EQ(a->finish.reason, FinishReason::kError);
  EXPECT_EQ(rig.pool.n_in_use(), 0);
  auto b = rig.submit(2, iota_tokens(5), 3);
  rig.run_to_completion();
  EXPECT_EQ(b->finish.reason, FinishReason::kLength);
}

TEST(Engine, TimingsAndLogprobs) {
  Rig rig(64, 4, {.max_batch_tokens = 64, .max_running = 4});
  GenerateRequest r;
  r.prompt = iota_tokens(5);
  r.max_tokens = 3;
  r.sampling.temperature = 0;
  r.sampling.n_logprobs = 2;
  auto sink = std::make_shared<RecordingSink>();
  rig.engine->add(1, r, sink);
  rig.run_to_completion();
  ASSERT_EQ(sink->logprobs.size(), 3u);
  EXPECT_EQ(sink->logprobs[0].top.size(), 2u);
  EXPECT_EQ(sink->logprobs[0].token, sink->tokens[0]);
  EXPECT_GE(sink->finish.timings.ttft_s, sink->finish.timings.queue_s);
  EXPECT_GE(sink->finish.timings.total_s, sink->finish.timings.ttft_s);
  const EngineStats st = rig.engine->stats();
  EXPECT_EQ(st.generated_tokens, 3);
  EXPECT_EQ(st.requests_finished, 1);
  EXPECT_EQ(st.running, 0);
}

}  // namespace
}  // namespace parley
