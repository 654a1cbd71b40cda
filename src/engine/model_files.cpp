#include "engine/model_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "base/log.h"
#include "model/hparams.h"

namespace parley {

Result<std::vector<ModelFile>> scan_model_dir(const std::string& dir, std::vector<std::string>* warned) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return not_found_error("the models directory {} is not a directory", dir);
  std::vector<ModelFile> files;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) return io_error("cannot read the models directory {}: {}", dir, ec.message());
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return io_error("cannot read the models directory {}: {}", dir, ec.message());
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (name.starts_with(".")) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (p.extension() != ".gguf" || !it->is_regular_file(ec)) continue;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) continue;  // removed meanwhile
    files.push_back(
        {p.stem().string(), p.string(), static_cast<std::int64_t>(st.st_size), static_cast<std::int64_t>(st.st_mtime)});
  }
  std::sort(files.begin(), files.end(), [](const ModelFile& a, const ModelFile& b) { return a.path < b.path; });
  std::set<std::string> ids;
  std::vector<ModelFile> out;
  for (ModelFile& f : files) {
    if (ids.insert(f.id).second) {
      out.push_back(std::move(f));
      continue;
    }
    if (warned == nullptr || std::find(warned->begin(), warned->end(), f.path) == warned->end()) {
      log_warn("models directory: {} is left out: another file already has the id '{}'", f.path, f.id);
      if (warned != nullptr) warned->push_back(f.path);
    }
  }
  return out;
}

Status ModelDirWatch::add_file(const ModelFile& file, const std::function<Status()>& serve) {
  std::lock_guard<std::mutex> scan(scan_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (known_.count(file.id) != 0) {
      return invalid_argument_error("two models have the id '{}'; use --model-id", file.id);
    }
  }
  RETURN_IF_ERROR(serve());
  std::lock_guard<std::mutex> lock(mu_);
  known_[file.id] = Known{file, true};
  return {};
}

Status ModelDirWatch::rescan() {
  if (dir_.empty()) return {};
  std::lock_guard<std::mutex> scan(scan_mu_);
  std::vector<std::string> warned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_scan_ = std::chrono::steady_clock::now();
    warned = warned_;
  }
  ASSIGN_OR_RETURN(const std::vector<ModelFile> files, scan_model_dir(dir_, &warned));
  std::map<std::string, const ModelFile*> now;
  for (const ModelFile& f : files) now.emplace(f.id, &f);
  std::vector<std::string> gone;
  std::vector<const ModelFile*> fresh;
  {
    std::lock_guard<std::mutex> lock(mu_);
    warned_ = std::move(warned);
    for (const auto& [id, k] : known_) {
      const auto it = now.find(id);
      if (!k.given && (it == now.end() || !it->second->same_file(k.file))) gone.push_back(id);
    }
    std::erase_if(broken_, [&now](const auto& b) {
      const auto it = now.find(b.first);
      return it == now.end() || !it->second->same_file(b.second.first);
    });
    for (const std::string& id : gone) known_.erase(id);
    for (const auto& [id, f] : now) {
      const auto k = known_.find(id);
      if (k == known_.end() && broken_.count(id) == 0) fresh.push_back(f);
      if (k != known_.end() && k->second.given && !k->second.file.same_file(*f) &&
          std::find(warned_.begin(), warned_.end(), f->path) == warned_.end()) {
        log_warn("models directory: {} is left out: the model '{}' is served from {}", f->path, id,
                 k->second.file.path);
        warned_.push_back(f->path);
      }
    }
  }
  for (const std::string& id : gone) {
    hooks_.retire(id);
    log_event(LogLevel::kInfo, "model_file_removed", {{"model", id}});
  }
  for (const ModelFile* f : fresh) {
    const Status st = hooks_.add(*f);
    std::lock_guard<std::mutex> lock(mu_);
    if (st.ok()) {
      known_[f->id] = Known{*f, false};
      continue;
    }
    log_event(LogLevel::kError, "model_file_unreadable",
              {{"model", f->id}, {"path", f->path}, {"error", st.message()}});
    broken_.emplace(f->id, std::make_pair(*f, st));
  }
  return {};
}

void ModelDirWatch::rescan_if_older(std::chrono::milliseconds age) {
  if (dir_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (std::chrono::steady_clock::now() - last_scan_ < age) return;
  }
  if (Status st = rescan(); !st.ok()) log_warn("models directory: {}", st.message());
}

void ModelDirWatch::start(std::chrono::milliseconds interval) {
  std::lock_guard<std::mutex> lock(mu_);
  if (dir_.empty() || interval.count() <= 0 || rescanner_.joinable() || stop_) return;
  rescanner_ = std::thread([this, interval] {
    std::unique_lock<std::mutex> held(mu_);
    while (!stop_) {
      stop_cv_.wait_for(held, interval, [this] { return stop_; });
      if (stop_) break;
      held.unlock();
      if (Status st = rescan(); !st.ok()) log_warn("models directory: {}", st.message());
      held.lock();
    }
  });
}

void ModelDirWatch::stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    t = std::move(rescanner_);
  }
  stop_cv_.notify_all();
  if (t.joinable()) t.join();
}

std::optional<ModelFile> ModelDirWatch::served(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = known_.find(id);
  if (it == known_.end()) return std::nullopt;
  return it->second.file;
}

std::optional<Status> ModelDirWatch::failure(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = broken_.find(id);
  if (it == broken_.end()) return std::nullopt;
  return it->second.second;
}

std::vector<std::pair<ModelFile, Status>> ModelDirWatch::failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<ModelFile, Status>> out;
  for (const auto& [id, b] : broken_) out.push_back(b);
  return out;
}

std::int64_t model_memory_bytes(std::int64_t file_bytes, const LocalModelOptions& options) {
  return file_bytes + std::max<std::int64_t>(0, options.kv_cache_bytes);
}

EngineLoader local_model_loader(std::shared_ptr<const GgufFile> file, LocalModelOptions options,
                                std::vector<std::int32_t> eog_tokens) {
  return [file = std::move(file), options = std::move(options),
          eog = std::move(eog_tokens)]() -> Result<std::shared_ptr<EngineClient>> {
    ASSIGN_OR_RETURN(std::unique_ptr<LocalModel> m, LocalModel::start(file, options, eog));
    std::shared_ptr<LocalModel> held(std::move(m));
    EngineClient* engine = &held->engine();
    return std::shared_ptr<EngineClient>(std::move(held), engine);
  };
}

Result<std::int32_t> model_context_length(const GgufFile& file, const LocalModelOptions& options) {
  if (options.n_ctx > 0) return options.n_ctx;
  ASSIGN_OR_RETURN(const ModelHParams h, read_hparams(file));
  return static_cast<std::int32_t>(h.n_ctx_train);
}

}  // namespace parley
