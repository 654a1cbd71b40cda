// The prefix index's cost per block: a verified hit (SipHash-2-4 of the content under the pool's
// secret, the index probe, the comparison of tokens, parent and scope), a miss (hash and probe
// only: the difference to a hit is roughly what verification costs), and the unkeyed chained hash
// the index used before scopes, for comparison. Per block of `block_size` tokens.
//   build/bench/block_pool_bench
#include <benchmark/benchmark.h>

#include <cstdint>
#include <span>
#include <vector>

#include "base/rng.h"
#include "kv/block_pool.h"

namespace parley {
namespace {

constexpr std::int32_t kBlocks = 4096;

std::vector<std::int32_t> random_tokens(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::int32_t> t(n);
  for (auto& x : t) x = static_cast<std::int32_t>(rng.below(32000));
  return t;
}

// A pool whose index holds one chain of kBlocks blocks of `tokens`; returns each block's serial.
std::vector<BlockSerial> fill(BlockPool& pool, const std::vector<std::int32_t>& tokens, BlockHash scope) {
  const auto bs = static_cast<std::size_t>(pool.block_size());
  std::vector<BlockSerial> serials;
  BlockSerial parent = kRootSerial;
  for (std::int32_t b = 0; b < kBlocks; ++b) {
    const std::int32_t block = *pool.allocate();
    parent =
        *pool.register_block(block, {parent, scope, std::span(tokens).subspan(static_cast<std::size_t>(b) * bs, bs)});
    serials.push_back(parent);
  }
  return serials;
}

void BM_LookupHitVerified(benchmark::State& state) {
  const auto bs = static_cast<std::int32_t>(state.range(0));
  BlockPool pool(kBlocks, bs);
  const auto tokens = random_tokens(static_cast<std::size_t>(kBlocks * bs), 1);
  const BlockHash scope = pool.scope_key("user:bench");
  const std::vector<BlockSerial> serials = fill(pool, tokens, scope);
  std::size_t b = 0;
  for (auto _ : state) {
    const BlockSerial parent = b == 0 ? kRootSerial : serials[b - 1];
    auto hit = pool.lookup(
        {parent, scope, std::span(tokens).subspan(b * static_cast<std::size_t>(bs), static_cast<std::size_t>(bs))});
    benchmark::DoNotOptimize(hit);
    b = (b + 1) % kBlocks;
  }
  if (pool.stats().hits != pool.stats().lookups) state.SkipWithError("a lookup missed");
}
BENCHMARK(BM_LookupHitVerified)->Arg(16)->Arg(32);

void BM_LookupMiss(benchmark::State& state) {
  const auto bs = static_cast<std::int32_t>(state.range(0));
  BlockPool pool(kBlocks, bs);
  const auto tokens = random_tokens(static_cast<std::size_t>(kBlocks * bs), 1);
  const auto other = random_tokens(static_cast<std::size_t>(kBlocks * bs), 2);
  const BlockHash scope = pool.scope_key("user:bench");
  const std::vector<BlockSerial> serials = fill(pool, tokens, scope);
  std::size_t b = 0;
  for (auto _ : state) {
    const BlockSerial parent = b == 0 ? kRootSerial : serials[b - 1];
    auto hit = pool.lookup(
        {parent, scope, std::span(other).subspan(b * static_cast<std::size_t>(bs), static_cast<std::size_t>(bs))});
    benchmark::DoNotOptimize(hit);
    b = (b + 1) % kBlocks;
  }
}
BENCHMARK(BM_LookupMiss)->Arg(16)->Arg(32);

void BM_ScopeKey(benchmark::State& state) {
  BlockPool pool(1, 16);
  for (auto _ : state) benchmark::DoNotOptimize(pool.scope_key("user:usr_01hzx3k4m5n6p7q8r9s0t1v2w3"));
}
BENCHMARK(BM_ScopeKey);

// The index hash before scopes (hash_block, chained over token ids, no key), kept here only as
// the baseline of the figures above.
std::uint64_t legacy_hash_block(std::uint64_t parent, std::span<const std::int32_t> tokens) {
  std::uint64_t h = parent ^ (static_cast<std::uint64_t>(tokens.size()) * 0xD6E8FEB86659FD93ull);
  for (const std::int32_t t : tokens) {
    h ^= static_cast<std::uint32_t>(t) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
    h ^= h >> 31;
  }
  return h;
}

void BM_LegacyUnkeyedHash(benchmark::State& state) {
  const auto bs = static_cast<std::size_t>(state.range(0));
  const auto tokens = random_tokens(kBlocks * bs, 1);
  std::size_t b = 0;
  std::uint64_t parent = 0x9E3779B97F4A7C15ull;
  for (auto _ : state) {
    parent = legacy_hash_block(parent, std::span(tokens).subspan(b * bs, bs));
    benchmark::DoNotOptimize(parent);
    b = (b + 1) % kBlocks;
  }
}
BENCHMARK(BM_LegacyUnkeyedHash)->Arg(16)->Arg(32);

}  // namespace
}  // namespace parley

BENCHMARK_MAIN();
