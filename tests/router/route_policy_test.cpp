// The route policies with fake loads and a fake prefix index: deterministic decisions.
#include <gtest/gtest.h>

#include <numeric>

#include "router/affinity.h"
#include "router/least_loaded.h"
#include "router/prefix_index.h"
#include "router/round_robin.h"

namespace parley {
namespace {

std::vector<TokenId> tokens(std::size_t n, TokenId first = 1) {
  std::vector<TokenId> t(n);
  std::iota(t.begin(), t.end(), first);
  return t;
}

TEST(PrefixBlockHashes, FullBlocksChainedAndScoped) {
  const auto a = prefix_block_hashes(tokens(40), "acct:1");
  ASSERT_EQ(a.size(), 2u);  // 40 tokens: two full blocks of 16
  auto longer = tokens(40);
  longer.push_back(99);
  longer.resize(64, 7);
  const auto b = prefix_block_hashes(longer, "acct:1");
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[1], b[1]);
  EXPECT_NE(b[2], b[3]);
  const auto other_scope = prefix_block_hashes(tokens(40), "acct:2");
  EXPECT_NE(a[0], other_scope[0]);
  auto changed = tokens(40);
  changed[3] = 1000;  // a change in the first block changes every hash after it
  const auto c = prefix_block_hashes(changed, "acct:1");
  EXPECT_NE(a[0], c[0]);
  EXPECT_NE(a[1], c[1]);
  EXPECT_TRUE(prefix_block_hashes(tokens(15), "").empty());
}

TEST(PrefixIndex, LruBoundAndForget) {
  PrefixIndex index(3);
  const std::vector<std::uint64_t> blocks{1, 2, 3, 4};
  index.insert(7, blocks);
  EXPECT_EQ(index.size(7), 3u);
  EXPECT_EQ(index.holders(1), nullptr);  // evicted: the least recently used
  ASSERT_NE(index.holders(4), nullptr);
  index.insert(8, std::vector<std::uint64_t>{4});
  EXPECT_EQ(index.holders(4)->size(), 2u);
  index.forget(7);
  EXPECT_EQ(index.size(7), 0u);
  ASSERT_NE(index.holders(4), nullptr);
  EXPECT_EQ(*index.holders(4), std::vector<WorkerId>{8});
  EXPECT_EQ(index.holders(2), nullptr);
}

TEST(RoundRobin, EachCandidateInTurn) {
  RoundRobinPolicy p;
  const std::vector<RouteCandidate> c{{1, 0}, {2, 5}, {3, 9}};
  std::vector<std::size_t> picks;
  for (int i = 0; i < 6; ++i) picks.push_back(p.choose({}, c));
  EXPECT_EQ(picks, (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
}

TEST(LeastLoaded, TwoChoicesTakeTheLessLoaded) {
  LeastLoadedPolicy p(42);
  const std::vector<RouteCandidate> two{{1, 5}, {2, 1}};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(p.choose({}, two), 1u);  // both drawn: the lighter wins
  // With many candidates, the most loaded one is never chosen (it loses to any other).
  std::vector<RouteCandidate> many;
  for (WorkerId w = 1; w <= 8; ++w) many.push_back({w, w == 3 ? 100.0 : 1.0});
  for (int i = 0; i < 200; ++i) EXPECT_NE(p.choose({}, many), 2u);
  const std::vector<RouteCandidate> one{{4, 3}};
  EXPECT_EQ(p.choose({}, one), 0u);
}

TEST(Affinity, LongestPrefixWins) {
  AffinityPolicy p({.seed = 1, .load_bound_eps = 0.5});
  const std::vector<RouteCandidate> c{{1, 0}, {2, 0}, {3, 0}};
  const auto system = prefix_block_hashes(tokens(32), "s");  // 2 blocks
  const auto convo = prefix_block_hashes(tokens(80), "s");   // 5 blocks, the same first 2
  p.on_routed({system}, 1);
  p.on_routed({convo}, 3);
  EXPECT_EQ(p.match_blocks({convo}, 1), 2u);
  EXPECT_EQ(p.match_blocks({convo}, 3), 5u);
  auto next_turn = tokens(80);
  next_turn.resize(120, 3);
  const auto next = prefix_block_hashes(next_turn, "s");
  EXPECT_EQ(c[p.choose({next}, c)].worker, 3u);  // 5 blocks at worker 3 beat 2 at worker 1
  // Another scope matches nothing: the least loaded of two random candidates.
  const std::vector<RouteCandidate> loaded{{1, 4}, {2, 0}};
  EXPECT_EQ(loaded[p.choose({prefix_block_hashes(next_turn, "t")}, loaded)].worker, 2u);
}

TEST(Affinity, BoundedLoadSkipsAnOverloadedHolder) {
  AffinityPolicy p({.seed = 1, .load_bound_eps = 0.25});
  const auto blocks = prefix_block_hashes(tokens(64), "");
  p.on_routed({blocks}, 2);
  // Total load 10 over 3: cap = ceil(1.25 * 11 / 3) = 5. Worker 2 at 9 is skipped.
  const std::vector<RouteCandidate> hot{{1, 0}, {2, 9}, {3, 1}};
  EXPECT_NE(hot[p.choose({blocks}, hot)].worker, 2u);
  // Under the cap it keeps its prefix.
  const std::vector<RouteCandidate> fine{{1, 1}, {2, 2}, {3, 1}};  // cap = ceil(1.25 * 5 / 3) = 3
  EXPECT_EQ(fine[p.choose({blocks}, fine)].worker, 2u);
  // The next holder of a shorter prefix takes over when the longest one is full.
  p.on_routed({std::span(blocks).first(2)}, 3);
  EXPECT_EQ(hot[p.choose({blocks}, hot)].worker, 3u);
}

TEST(Affinity, ForgetAndAbsentCandidates) {
  AffinityPolicy p({.seed = 3});
  const auto blocks = prefix_block_hashes(tokens(48), "x");
  p.on_routed({blocks}, 5);
  const std::vector<RouteCandidate> without5{{1, 0}, {2, 0}};
  const std::size_t i = p.choose({blocks}, without5);  // its holder is not a candidate
  EXPECT_LT(i, 2u);
  p.forget(5);
  EXPECT_EQ(p.match_blocks({blocks}, 5), 0u);
}

TEST(PreferLoaded, WorkersWithTheModelLoadedComeFirstElseAll) {
  const std::vector<RouteCandidate> mixed{{1, 0, false}, {2, 5, true}, {3, 0, false}, {4, 1, true}};
  const std::vector<RouteCandidate> loaded = prefer_loaded(mixed);
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0].worker, 2u);  // the least loaded worker without the model is passed over
  EXPECT_EQ(loaded[1].worker, 4u);
  const std::vector<RouteCandidate> none{{1, 0, false}, {3, 2, false}};
  EXPECT_EQ(prefer_loaded(none).size(), 2u);  // nobody has it: any may load it
  EXPECT_TRUE(prefer_loaded({}).empty());
}

TEST(MakeRoutePolicy, Names) {
  for (const char* n : {"affinity", "least_loaded", "round_robin"}) {
    auto p = make_route_policy(n);
    ASSERT_TRUE(p.ok()) << n;
    EXPECT_EQ((*p)->name(), n);
  }
  EXPECT_FALSE(make_route_policy("random").ok());
}

}  // namespace
}  // namespace parley
