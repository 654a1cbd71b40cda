// Model files on demand: the GGUF files of a models directory (`--models-dir`), and how the
// ModelPool (engine/model_pool.h) loads one of them as a LocalModel and counts its memory.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/local_model.h"
#include "engine/model_pool.h"
#include "gguf/gguf_file.h"

namespace parley {

struct ModelFile {
  std::string id;  // the file name without ".gguf"
  std::string path;
  std::int64_t size_bytes = 0;
  std::int64_t mtime = 0;  // unix seconds
  // The same file: a changed size or modification time is a new file (copied over the old one).
  bool same_file(const ModelFile& o) const { return path == o.path && size_bytes == o.size_bytes && mtime == o.mtime; }
};

// Every regular file named *.gguf under `dir` (subdirectories included; names starting with '.'
// skipped, so that a file copied in under a hidden name and renamed appears only once complete),
// sorted by path. The id is the file name's stem; a second file with an id already taken is left
// out (the warning is logged once per path in `warned`, when given). kNotFound when `dir` is not a
// directory.
Result<std::vector<ModelFile>> scan_model_dir(const std::string& dir, std::vector<std::string>* warned = nullptr);

// The memory a loaded model holds as the pool counts it: its weights (the file's size) plus its
// KV cache bound (kv_cache_bytes).
std::int64_t model_memory_bytes(std::int64_t file_bytes, const LocalModelOptions& options);

// A loader that binds `file`'s weights and starts its engine (LocalModel::start with `options`).
EngineLoader local_model_loader(std::shared_ptr<const GgufFile> file, LocalModelOptions options,
                                std::vector<std::int32_t> eog_tokens);

// The context a model serves with `options` (its training context when options.n_ctx is 0), read
// from the file's metadata without binding the weights.
Result<std::int32_t> model_context_length(const GgufFile& file, const LocalModelOptions& options);

}  // namespace parley
