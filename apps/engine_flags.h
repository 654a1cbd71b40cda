// Flags that `parley serve` and `parley worker` share: the models and their engine settings, and
// the cluster token of the internal API.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "gateway/serve_config.h"

namespace CLI {
class App;
}  // namespace CLI

namespace parley::cli {

struct ModelFlags {
  std::vector<std::string> models;  // --model (replaces the config's [[models]])
  std::vector<std::string> ids;     // --model-id, one per --model
  ServedModelOptions engine;        // -t/--threads, --ctx, --max-batch-tokens, --max-running, --max-waiting,
                                    // --target-itl-ms, --max-prefill-per-tenant, --kv-cache-mib (in MiB here)
  double kv_disk_gib = 0;           // --kv-disk-gib
  std::string kv_disk_dir;          // --kv-disk-dir
  std::string kv_type;              // --kv-type (f16 | q8_0)
  std::string models_dir;           // --models-dir
  std::string idle_unload;          // --model-idle-unload DURATION
  double memory_gib = 0;            // --models-memory-gib
};

// --kv-disk-gib and --kv-disk-dir (registered by add_model_flags); applying them also gives a
// model with a disk tier and no directory the default, DATA/kv-tier.
void add_kv_disk_flags(CLI::App* cmd, ModelFlags* flags);
void apply_kv_disk_flags(const CLI::App& cmd, const ModelFlags& flags, const std::string& data_dir,
                         ServedModelOptions* model);

// Registers --model, --model-id and the engine flags on `cmd`.
void add_model_flags(CLI::App* cmd, ModelFlags* flags);
// --model replaces the config's models; every engine flag given on the command line overrides
// that setting of the defaults and of every model; then each model is validated.
Status apply_model_flags(const CLI::App& cmd, const ModelFlags& flags, ServeConfig* config);

// The cluster token: --cluster-token-file, else the environment's PARLEY_CLUSTER_TOKEN, else
// [cluster] token_file; "" when none is set. A file's first line is the token (at least 16
// characters, no spaces: a short token is refused).
Result<std::string> cluster_token(const std::string& token_file_flag, const ClusterConfig& config);

}  // namespace parley::cli
