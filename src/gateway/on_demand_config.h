// [on_demand] and the flags --models-dir, --model-idle-unload, --models-memory-gib: models loaded
// on demand by `parley serve` and `parley worker` (gateway/model_directory.h, engine/model_pool.h;
// docs/configuration.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "engine/model_pool.h"

namespace parley {

struct OnDemandConfig {
  std::string dir;                           // every GGUF under it is served on demand ("": none)
  std::chrono::milliseconds idle_unload{0};  // unload a model idle this long (0: never)
  double memory_gib = 0;                     // bound on the loaded models' weights + KV (0: none)
  std::chrono::milliseconds load_timeout{300'000};
  std::int32_t max_waiters = 64;             // requests waiting for one model's load
  std::chrono::milliseconds rescan{30'000};  // directory rescan period (0: only on unknown ids)
  bool pin_model_files = true;               // --model / [[models]] files are pinned (loaded for good)

  // Whether models are managed by a pool (a directory, or bounds that --model files obey).
  bool enabled() const { return !dir.empty() || idle_unload.count() > 0 || memory_gib > 0; }
  ModelPoolOptions pool_options() const;
};

// "90s", "15m", "2h", "1d", "500ms" or a number of seconds; "0" is zero. kInvalidArgument otherwise.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace parley
