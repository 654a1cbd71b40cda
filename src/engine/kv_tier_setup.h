// Opening the disk KV tier of a model served in this process (kv/disk_kv_tier.h): its identity
// and KV format name the tier's directory and root every block digest, so a tier is never read
// by another model, another KV type or another layout.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "gguf/gguf_file.h"
#include "kv/kv_cache.h"
#include "kv/kv_tier.h"

namespace parley {

// The identity of a model file: BLAKE2b-256 of its size, its header (metadata and tensor table,
// everything before the tensor data) and a digest of the tensor data: per tensor its first,
// middle and last 64 KiB. Read with pread (the file's pages are not mapped into this process
// again). Two files that differ only inside the unsampled parts of a tensor's data would share an
// identity; a quantisation, fine-tune or conversion changes every sample.
Result<TierDigest> model_identity(const GgufFile& file);

// "f16/22x4x64/16": KV type, layers x KV heads x head size, tokens per block, bytes per block.
std::string kv_format_name(const KvLayout& layout, std::size_t block_bytes);

// Opens (creating) the disk tier under `dir` bounded by `max_bytes`.
Result<std::unique_ptr<KvTier>> open_disk_kv_tier(const GgufFile& file, const KvLayout& layout, std::size_t block_bytes,
                                                  const std::string& dir, std::uint64_t max_bytes);

}  // namespace parley
