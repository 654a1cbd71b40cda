// Attention of the CPU backend (the Backend::attention contract of kernels/backend.h) on AVX2
// processors: plans tiles of queries that share their keys and values, runs them on the pool.
// Internal to kernels/cpu.
#pragma once

#include <span>

#include "kernels/backend.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/thread_pool.h"

namespace parley::cpu {

// Work items: for each sequence and KV head, tiles of consecutive rows times the query heads of
// the KV head's group (group x rows queries, e.g. 8 x 8), run by the tile kernel of
// attention_kernels.h. Rows are split into tiles, and a group's heads into parts, until there are
// enough items for the threads; items are claimed largest first (a causal chunk's late rows see
// more keys). Items of fewer than 4 queries (one row of a small group: decode without GQA) run the
// same kernel with the keys in the lanes, to the same bits: a query's output never depends on its
// tile (batch invariance, serving-engine.md). Head sizes that are not a multiple of 8 take the row
// path: one query against its keys, vectorized over head_dim. `scratch` (a buffer owned by the
// backend) holds every thread's part.
void attention(ThreadPool& pool, MatmulScratch& scratch, float* out, const float* q, const KvCacheView& kv, int layer,
               std::span<const AttentionSeq> seqs, const AttentionParams& p);

}  // namespace parley::cpu
