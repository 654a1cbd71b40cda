// WorkerModelDirectory: `parley worker --models-dir DIR`: every GGUF file under DIR is a model of
// the WorkerService whose engine is a ModelPool slot (engine/model_pool.h): listed at once (with
// `loaded` and `size_bytes` in /internal/v1/models, so that routers prefer a worker that has it
// loaded), loaded on its first generate call, unloaded when idle or for memory. The directory is
// scanned again every `rescan`: new files appear, removed or replaced ones are retired. Gateways
// pick up new models from the list they poll (gateway/cluster_models.h).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/model_files.h"
#include "engine/model_pool.h"
#include "obs/model_metrics.h"
#include "worker/worker_model.h"
#include "worker/worker_service.h"

namespace parley {

struct WorkerModelDirOptions {
  std::string dir;          // "": only the files given to add_file()
  LocalModelOptions model;  // engine settings of the directory's models (path unused)
  ModelPoolOptions pool;
  std::chrono::milliseconds rescan{30'000};  // 0: never again
};

class WorkerModelDirectory : public std::enable_shared_from_this<WorkerModelDirectory> {
 public:
  // Scans the directory once; its models go to `service` (which then holds this directory, and
  // reports each model's state). kNotFound when `dir` is not a directory.
  static Result<std::shared_ptr<WorkerModelDirectory>> create(WorkerModelDirOptions options,
                                                              std::shared_ptr<WorkerService> service);
  ~WorkerModelDirectory();

  // A model file (`--model`): pinned and loaded now, or loaded on demand.
  Status add_file(const WorkerModelOptions& options, bool pinned);
  // Scans now: adds new files, retires vanished or replaced ones.
  Status rescan();
  void start_rescans();
  ModelPool& pool() { return *pool_; }

 private:
  WorkerModelDirectory(WorkerModelDirOptions options, std::shared_ptr<WorkerService> service);
  Status add(const ModelFile& file, const LocalModelOptions& options, bool demo, bool pinned);  // ModelDirHooks::add
  void retire(const std::string& id);                                                           // ModelDirHooks::retire
  void fill(WorkerModelInfo* info) const;

  WorkerModelDirOptions options_;
  std::weak_ptr<WorkerService> service_;
  std::unique_ptr<ModelPool> pool_;
  std::unique_ptr<ModelMetrics> metrics_;
  std::unique_ptr<ModelDirWatch> watch_;  // the files served and failed, the rescans
};

}  // namespace parley
