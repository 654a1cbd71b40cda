// ModelDirectory: `parley serve --models-dir DIR` (docs/serving-engine.md, "Model lifecycle").
// Every GGUF file under DIR is a served model whose engine is a ModelPool slot (engine/model_pool.h):
// listed at once, loaded on its first request, unloaded when idle or when another needs the
// memory. The directory is scanned again every `rescan` and on a request for an unknown model
// (at most once a second): new files appear, removed or replaced ones are retired (their streams
// finish first). Models given as files (`--model`) are served the same way, pinned.
//
// A model's vocabulary (tokenizer, chat template, grammar vocabulary) is read when its file is
// found and stays in memory while it is listed; its weights and KV cache only while it is loaded.
// A file whose header cannot be read is not listed: a request for it gets the error.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/model_files.h"
#include "engine/model_pool.h"
#include "gateway/model_catalog.h"
#include "gateway/served_model.h"
#include "obs/metrics.h"
#include "obs/model_metrics.h"

namespace parley {

struct ModelDirectoryOptions {
  std::string dir;                           // "": only pinned models (add_pinned)
  ServedModelOptions model;                  // engine settings of the directory's models (path and id unused)
  ModelPoolOptions pool;                     // memory bound, idle unload, load timeout, waiters
  std::chrono::milliseconds rescan{30'000};  // 0: only on a request for an unknown model
  // A request for an unknown model rescans when the last scan is at least this old (a client
  // asking for a wrong id in a loop must not scan the disk for every request).
  std::chrono::milliseconds miss_rescan_interval{1000};
};

class ModelDirectory final : public ModelControl, public std::enable_shared_from_this<ModelDirectory> {
 public:
  // Scans the directory once (kNotFound when it is not one).
  static Result<std::shared_ptr<ModelDirectory>> create(ModelDirectoryOptions options);
  ~ModelDirectory() override;  // stops rescanning, then every engine

  // A model file (`--model`): pinned and loaded now (fails as ServedModel::load would), or, not
  // pinned, loaded on demand as the directory's files are.
  Status add_file(const ServedModelOptions& options, bool pinned);
  // Serves the models through `catalog` from now on (its refresher and status source are set, and
  // it holds this directory so that the engines stop before the models go); starts the rescans.
  void attach(ModelCatalog& catalog);
  // Scans the directory now: new files are added, vanished or replaced ones retired.
  Status rescan();
  // /v1/models' extra fields and the admin API's.
  std::optional<ModelStatus> status(const std::string& id) const;
  // Why `id` is not served, when a file of that name failed (its header could not be read).
  std::optional<Status> failure(const std::string& id) const;
  // The lifecycle metrics in `registry` (obs/model_metrics.h); once.
  void attach_metrics(MetricsRegistry& registry);
  ModelPool& pool() { return *pool_; }

  // ModelControl (the admin API).
  std::vector<ModelAdminInfo> admin_list() const override;
  std::int64_t memory_used() const override { return pool_->memory_used(); }
  std::int64_t memory_limit() const override { return pool_->options().memory_bytes; }
  Status load(const std::string& id) override { return pool_->load(id); }
  Status unload(const std::string& id) override { return pool_->unload(id, UnloadReason::kAdmin); }
  Status pin(const std::string& id, bool pinned) override { return pool_->pin(id, pinned); }

 private:
  explicit ModelDirectory(ModelDirectoryOptions options);
  Result<std::shared_ptr<ServedModel>> make_model(const ModelFile& file, const ServedModelOptions& options,
                                                  bool pinned);
  Status add_scanned(const ModelFile& file);           // ModelDirHooks::add
  Status publish(std::shared_ptr<ServedModel> model);  // to the catalog, or pending until attach()
  void retire(const std::string& id);                  // ModelDirHooks::retire

  ModelDirectoryOptions options_;
  std::unique_ptr<ModelPool> pool_;
  mutable std::mutex mu_;  // catalog_, pending_, metrics_owned_
  ModelCatalog* catalog_ = nullptr;
  std::vector<std::shared_ptr<ServedModel>> pending_;  // made before attach()
  std::unique_ptr<ModelMetrics> metrics_owned_;
  std::atomic<ModelMetrics*> metrics_{nullptr};  // read by the pool's hooks, which take no lock
  std::unique_ptr<ModelDirWatch> watch_;         // the files served and failed, the rescans
};

}  // namespace parley
