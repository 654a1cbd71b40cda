// Model files on demand: the GGUF files of a models directory (`--models-dir`), and how the
// ModelPool (engine/model_pool.h) loads one of them as a LocalModel and counts its memory.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
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

// What a server serves from a models directory, for `parley serve` (gateway/model_directory.h) and
// `parley worker` (worker/worker_model_dir.h) alike: the files served (those given on the command
// line are never retired by a scan), the files that could not be served and why, and the rescans
// that add new files and retire vanished or replaced ones through the hooks. Logs
// `model_file_removed` and `model_file_unreadable`. Every method may be called from any thread;
// one scan (or add_file) runs at a time, and the hooks run under that, never under the lock the
// accessors take.
struct ModelDirHooks {
  std::function<Status(const ModelFile&)> add;        // serve a new file; an error marks it failed
  std::function<void(const std::string& id)> retire;  // stop serving it (its file went or changed)
};

class ModelDirWatch {
 public:
  ModelDirWatch(std::string dir, ModelDirHooks hooks) : dir_(std::move(dir)), hooks_(std::move(hooks)) {}
  ~ModelDirWatch() { stop(); }
  ModelDirWatch(const ModelDirWatch&) = delete;
  ModelDirWatch& operator=(const ModelDirWatch&) = delete;

  // A file given on the command line: `serve` serves it (no hook is called); kInvalidArgument when
  // its id is taken.
  Status add_file(const ModelFile& file, const std::function<Status()>& serve);
  // Scans the directory now ("" : nothing to scan).
  Status rescan();
  // Rescans when the last scan is at least `age` old (a request for an unknown id).
  void rescan_if_older(std::chrono::milliseconds age);
  // Rescans every `interval` on a thread of its own until stop() (a no-op without a directory or
  // an interval, or when started already).
  void start(std::chrono::milliseconds interval);
  void stop();

  std::optional<ModelFile> served(const std::string& id) const;
  std::optional<Status> failure(const std::string& id) const;  // why a file of that id is not served
  std::vector<std::pair<ModelFile, Status>> failures() const;

 private:
  struct Known {
    ModelFile file;
    bool given = false;  // on the command line: never retired by a scan
  };
  const std::string dir_;
  const ModelDirHooks hooks_;
  std::mutex scan_mu_;     // one scan or add_file at a time (taken before mu_)
  mutable std::mutex mu_;  // everything below
  std::map<std::string, Known> known_;
  std::map<std::string, std::pair<ModelFile, Status>> broken_;
  std::vector<std::string> warned_;  // paths left out, logged once
  std::chrono::steady_clock::time_point last_scan_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread rescanner_;
};

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
