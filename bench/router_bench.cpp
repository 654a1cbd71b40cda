// Routing decisions: what one RoutePolicy::choose() costs with 3, 64 and 1,000 candidate workers,
// and the whole Router-side decision of affinity (prefix-block hashes of a 2,000-token prompt, the
// lookup, the index update). Prints ns per decision (Google Benchmark's time column).
#include <benchmark/benchmark.h>

#include <numeric>
#include <vector>

#include "base/rng.h"
#include "router/route_policy.h"

namespace parley {
namespace {

std::vector<RouteCandidate> candidates(std::size_t n) {
  Rng rng(7);
  std::vector<RouteCandidate> c(n);
  // Loads 2..5: a busy, balanced cluster, every worker under affinity's bound.
  for (std::size_t i = 0; i < n; ++i) c[i] = {static_cast<WorkerId>(i + 1), 2.0 + static_cast<double>(rng.below(4))};
  return c;
}

std::vector<TokenId> prompt(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<TokenId> p(n);
  for (TokenId& t : p) t = static_cast<TokenId>(rng.below(32000));
  return p;
}

void run_policy(benchmark::State& state, const char* name, bool warm_index) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  auto policy = make_route_policy(name, {.seed = 1});
  const auto c = candidates(n);
  // 256 conversations of 2,000 tokens, already routed (affinity's index holds them).
  std::vector<std::vector<std::uint64_t>> blocks;
  for (std::uint64_t conv = 0; conv < 256; ++conv) {
    blocks.push_back(prefix_block_hashes(prompt(2000, conv + 1), "acct:" + std::to_string(conv)));
    if (warm_index) (*policy)->on_routed({blocks.back()}, c[conv % n].worker);
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const RouteRequest r{blocks[i++ % blocks.size()]};
    benchmark::DoNotOptimize((*policy)->choose(r, c));
  }
}

void BM_RoundRobin(benchmark::State& state) {
  run_policy(state, "round_robin", false);
}
void BM_LeastLoaded(benchmark::State& state) {
  run_policy(state, "least_loaded", false);
}
// A hit: the conversation's blocks are in the index (the longest match is found first).
void BM_AffinityHit(benchmark::State& state) {
  run_policy(state, "affinity", true);
}
// A miss: every one of the 125 blocks is looked up, then least_loaded under the bound.
void BM_AffinityMiss(benchmark::State& state) {
  run_policy(state, "affinity", false);
}

// What the Router adds around affinity's choose(): hashing the prompt's blocks and recording them.
void BM_AffinityHashAndRecord(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  auto policy = make_route_policy("affinity", {.seed = 1});
  const auto c = candidates(n);
  std::vector<std::vector<TokenId>> prompts;
  for (std::uint64_t conv = 0; conv < 64; ++conv) prompts.push_back(prompt(2000, conv + 1));
  std::size_t i = 0;
  for (auto _ : state) {
    const std::vector<std::uint64_t> blocks = prefix_block_hashes(prompts[i % prompts.size()], "acct:1");
    const RouteRequest r{blocks};
    const std::size_t pick = (*policy)->choose(r, c);
    (*policy)->on_routed(r, c[pick].worker);
    ++i;
  }
}

BENCHMARK(BM_RoundRobin)->Arg(3)->Arg(64)->Arg(1000);
BENCHMARK(BM_LeastLoaded)->Arg(3)->Arg(64)->Arg(1000);
BENCHMARK(BM_AffinityHit)->Arg(3)->Arg(64)->Arg(1000);
BENCHMARK(BM_AffinityMiss)->Arg(3)->Arg(64)->Arg(1000);
BENCHMARK(BM_AffinityHashAndRecord)->Arg(3)->Arg(64)->Arg(1000);

}  // namespace
}  // namespace parley

BENCHMARK_MAIN();
