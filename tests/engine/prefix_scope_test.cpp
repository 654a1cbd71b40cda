// Prefix-cache scopes with no model: blocks are shared within a cache scope, never across scopes
// unless declared public, and a hash collision is a miss, never someone else's block.
#include <gtest/gtest.h>

#include <vector>

#include "engine_rig.h"

namespace parley {
namespace {

using testing::iota_tokens;
using testing::RecordingSink;
using testing::Rig;
using testing::solo;

constexpr SchedulerConfig kRoomy{.max_batch_tokens = 100, .max_running = 4};

GenerateRequest request(std::vector<TokenId> prompt, std::string scope, std::int32_t shared = 0,
                        std::int32_t max_tokens = 4) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.cache_scope = std::move(scope);
  r.cache_shared_tokens = shared;
  return r;
}

// Runs one request to the end in `rig`; its sink.
std::shared_ptr<RecordingSink> run(Rig& rig, RequestId id, GenerateRequest r) {
  auto sink = rig.submit_request(id, std::move(r));
  rig.run_to_completion();
  EXPECT_TRUE(sink->finished);
  return sink;
}

TEST(PrefixScope, SamePromptInAnotherScopeIsAMissAndInTheSameScopeAHit) {
  Rig rig(64, 4, kRoomy);
  const auto p = iota_tokens(18);
  EXPECT_EQ(run(rig, 1, request(p, "alice"))->finish.cached_prompt_tokens, 0);
  const std::size_t before = rig.runner.batches.size();
  auto bob = run(rig, 2, request(p, "bob"));
  EXPECT_EQ(bob->finish.cached_prompt_tokens, 0);
  EXPECT_EQ(rig.runner.batches[before].n_tokens(), 18);  // bob's prompt was computed in full
  EXPECT_EQ(bob->tokens, solo(p, 4));
  EXPECT_EQ(run(rig, 3, request(p, "alice"))->finish.cached_prompt_tokens, 16);
  EXPECT_EQ(run(rig, 4, request(p, "bob"))->finish.cached_prompt_tokens, 16);
  EXPECT_EQ(rig.pool.n_in_use(), 0);
}

TEST(PrefixScope, EmptyScopeIsAScopeLikeAnyOther) {
  Rig rig(64, 4, kRoomy);
  const auto p = iota_tokens(12);
  run(rig, 1, request(p, ""));
  EXPECT_EQ(run(rig, 2, request(p, "x"))->finish.cached_prompt_tokens, 0);
  EXPECT_EQ(run(rig, 3, request(p, ""))->finish.cached_prompt_tokens, 11);
}

TEST(PrefixScope, SharedLeadingTokensHitAcrossScopesButThePrivateRestDoesNot) {
  Rig rig(64, 4, kRoomy);
  // 10 public tokens: blocks 0 and 1 (tokens 0..7) lie wholly inside them; block 2 (8..11)
  // holds private tokens too, so it stays in the scope.
  auto p = iota_tokens(10, 3);
  for (const TokenId t : iota_tokens(8, 20)) p.push_back(t);
  EXPECT_EQ(run(rig, 1, request(p, "alice", 10))->finish.cached_prompt_tokens, 0);
  auto bob = run(rig, 2, request(p, "bob", 10));
  EXPECT_EQ(bob->finish.cached_prompt_tokens, 8);
  EXPECT_EQ(bob->tokens, solo(p, 4));
  EXPECT_EQ(run(rig, 3, request(p, "alice", 10))->finish.cached_prompt_tokens, 16);
  // A request that declares nothing public still reuses what others declared public.
  EXPECT_EQ(run(rig, 4, request(p, "carol"))->finish.cached_prompt_tokens, 8);
}

TEST(PrefixScope, APromptDeclaredSharedIsReusedByEveryScopeAndTheirRestStaysTheirs) {
  Rig rig(64, 4, kRoomy);
  const auto system = iota_tokens(16, 5);
  run(rig, 1, request(system, "admin", 16));
  auto p = system;
  for (const TokenId t : iota_tokens(6, 30)) p.push_back(t);
  auto bob = run(rig, 2, request(p, "bob"));
  EXPECT_EQ(bob->finish.cached_prompt_tokens, 16);
  EXPECT_EQ(bob->tokens, solo(p, 4));
  // bob's continuation (block 4) went into bob's scope: carol gets the public part only.
  EXPECT_EQ(run(rig, 3, request(p, "carol"))->finish.cached_prompt_tokens, 16);
  EXPECT_EQ(run(rig, 4, request(p, "bob"))->finish.cached_prompt_tokens, 20);
}

TEST(PrefixScope, GeneratedTokensAreNeverShared) {
  Rig rig(64, 4, kRoomy);
  const auto p = iota_tokens(8);
  auto alice = run(rig, 1, request(p, "alice", 1000, 10));  // past the prompt: the prompt only
  auto next = p;
  next.insert(next.end(), alice->tokens.begin(), alice->tokens.end());  // 18 tokens
  EXPECT_EQ(run(rig, 2, request(next, "bob"))->finish.cached_prompt_tokens, 8);
  EXPECT_EQ(run(rig, 3, request(next, "alice"))->finish.cached_prompt_tokens, 16);
}

TEST(PrefixScope, NegativeSharedTokensAreRefused) {
  Rig rig(64, 4, kRoomy);
  EXPECT_FALSE(rig.engine->validate(request(iota_tokens(8), "a", -1)).ok());
}

TEST(PrefixScope, AHashCollisionIsAMissNotAWrongBlock) {
  Rig rig(64, 4, kRoomy);
  rig.pool.set_hash_for_testing([](const BlockContent&) { return BlockHash{42}; });  // everything collides
  const auto p1 = iota_tokens(9, 1);
  const auto p2 = iota_tokens(9, 2);
  run(rig, 1, request(p1, "a"));  // block 0 takes hash 42; block 1 loses the collision
  const std::size_t before = rig.runner.batches.size();
  auto b = run(rig, 2, request(p2, "a"));
  EXPECT_EQ(b->finish.cached_prompt_tokens, 0);
  EXPECT_EQ(rig.runner.batches[before].n_tokens(), 9);
  EXPECT_EQ(b->tokens, solo(p2, 4));  // with p1's block its output would differ
  EXPECT_GT(rig.pool.stats().collisions, 0);
  EXPECT_EQ(run(rig, 3, request(p1, "a"))->finish.cached_prompt_tokens, 4);  // block 0 is still p1's
}

TEST(PrefixScope, HitsAreVerifiedAgainstScopeEvenWhenTheHashIgnoresIt) {
  Rig rig(64, 4, kRoomy);
  // An index hash of the tokens alone (as before scopes): verification keeps scopes apart.
  rig.pool.set_hash_for_testing([](const BlockContent& c) {
    BlockHash h = c.parent;
    for (const std::int32_t t : c.tokens) h = h * 1000003u + static_cast<std::uint32_t>(t);
    return h;
  });
  const auto p = iota_tokens(12);
  run(rig, 1, request(p, "alice"));
  auto bob = run(rig, 2, request(p, "bob"));
  EXPECT_EQ(bob->finish.cached_prompt_tokens, 0);
  EXPECT_EQ(bob->tokens, solo(p, 4));
  EXPECT_EQ(run(rig, 3, request(p, "alice"))->finish.cached_prompt_tokens, 11);
}

}  // namespace
}  // namespace parley
