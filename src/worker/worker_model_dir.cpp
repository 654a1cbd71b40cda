#include "worker/worker_model_dir.h"

#include <sys/stat.h>

#include <filesystem>

#include "base/log.h"

namespace parley {

WorkerModelDirectory::WorkerModelDirectory(WorkerModelDirOptions options, std::shared_ptr<WorkerService> service)
    : options_(std::move(options)), service_(service) {
  ModelMetrics* metrics = nullptr;
  metrics_ = std::make_unique<ModelMetrics>(service->metrics_registry(), [this] {
    double n = 0;
    for (const ModelSlotInfo& i : pool_->list()) n += i.state == ModelState::kLoaded ? 1 : 0;
    return n;
  });
  metrics = metrics_.get();
  ModelPoolHooks hooks;
  hooks.loaded = [metrics](const std::string& id, double s) { metrics->loaded(id, s); };
  hooks.unloaded = [metrics](const std::string& id, UnloadReason r) { metrics->unloaded(id, unload_reason_name(r)); };
  pool_ = std::make_unique<ModelPool>(options_.pool, std::move(hooks));
}

Result<std::shared_ptr<WorkerModelDirectory>> WorkerModelDirectory::create(WorkerModelDirOptions options,
                                                                           std::shared_ptr<WorkerService> service) {
  std::shared_ptr<WorkerModelDirectory> d(new WorkerModelDirectory(std::move(options), service));
  service->hold(d);
  std::weak_ptr<WorkerModelDirectory> weak = d;
  service->set_model_status([weak](WorkerModelInfo* info) {
    if (auto self = weak.lock()) self->fill(info);
  });
  if (!d->options_.dir.empty()) RETURN_IF_ERROR(d->rescan());
  return d;
}

WorkerModelDirectory::~WorkerModelDirectory() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (rescanner_.joinable()) rescanner_.join();
  pool_.reset();
}

Status WorkerModelDirectory::add(const ModelFile& f, const LocalModelOptions& o, bool demo, bool pinned) {
  std::shared_ptr<WorkerService> service = service_.lock();
  if (!service) return unavailable_error("the worker is stopping");
  ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> opened, GgufFile::open(f.path));
  std::shared_ptr<const GgufFile> file(std::move(opened));
  WorkerModelInfo info;
  info.id = f.id;
  ASSIGN_OR_RETURN(info.n_ctx, model_context_length(*file, o));
  info.created = f.mtime;
  info.demo = demo;
  LocalModelOptions lo = o;
  lo.path = f.path;
  auto eog = std::make_shared<std::vector<std::int32_t>>();
  EngineLoader loader = [file, lo, eog]() { return local_model_loader(file, lo, *eog)(); };
  ASSIGN_OR_RETURN(std::shared_ptr<EngineClient> engine,
                   pool_->add(f.id, model_memory_bytes(f.size_bytes, lo), std::move(loader), pinned));
  Result<std::unique_ptr<WorkerModel>> m = WorkerModel::with_shared_engine(info, file, engine);
  if (!m.ok()) {
    pool_->remove(f.id);
    return m.status();
  }
  *eog = (*m)->tokenizer().vocab().eog;
  if (Status st = service->add_model(std::move(*m)); !st.ok()) {
    pool_->remove(f.id);
    return st;
  }
  if (pinned) RETURN_IF_ERROR(pool_->load(f.id));
  return {};
}

Status WorkerModelDirectory::add_file(const WorkerModelOptions& o, bool pinned) {
  struct stat st {};
  if (::stat(o.path.c_str(), &st) != 0) return not_found_error("cannot open {}: no such file", o.path);
  const ModelFile f{o.id.empty() ? std::filesystem::path(o.path).stem().string() : o.id, o.path,
                    static_cast<std::int64_t>(st.st_size), static_cast<std::int64_t>(st.st_mtime)};
  std::lock_guard<std::mutex> scan(scan_mu_);
  RETURN_IF_ERROR(add(f, o, o.demo, pinned));
  std::lock_guard<std::mutex> lock(mu_);
  known_[f.id] = {f, true};
  return {};
}

Status WorkerModelDirectory::rescan() {
  std::lock_guard<std::mutex> scan(scan_mu_);
  std::shared_ptr<WorkerService> service = service_.lock();
  if (!service) return {};
  ASSIGN_OR_RETURN(std::vector<ModelFile> files, scan_model_dir(options_.dir, &warned_));
  std::map<std::string, ModelFile> now;
  for (ModelFile& f : files) now.emplace(f.id, std::move(f));
  std::vector<std::string> gone;
  std::vector<ModelFile> fresh;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, k] : known_) {
      const auto it = now.find(id);
      if (!k.second && (it == now.end() || !it->second.same_file(k.first))) gone.push_back(id);
    }
    std::erase_if(broken_, [&now](const auto& b) {
      const auto it = now.find(b.first);
      return it == now.end() || !it->second.same_file(b.second);
    });
    for (const std::string& id : gone) known_.erase(id);
    for (const auto& [id, f] : now) {
      if (known_.count(id) == 0 && broken_.count(id) == 0) fresh.push_back(f);
    }
  }
  for (const std::string& id : gone) {
    service->retire_model(id);
    pool_->remove(id);
    log_event(LogLevel::kInfo, "model_file_removed", {{"model", id}});
  }
  for (const ModelFile& f : fresh) {
    const Status st = add(f, options_.model, false, false);
    std::lock_guard<std::mutex> lock(mu_);
    if (st.ok()) {
      known_[f.id] = {f, false};
    } else {
      log_event(LogLevel::kError, "model_file_unreadable",
                {{"model", f.id}, {"path", f.path}, {"error", st.message()}});
      broken_.emplace(f.id, f);
    }
  }
  return {};
}

void WorkerModelDirectory::start_rescans() {
  if (options_.dir.empty() || options_.rescan.count() <= 0 || rescanner_.joinable()) return;
  rescanner_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      stop_cv_.wait_for(lock, options_.rescan, [this] { return stop_; });
      if (stop_) break;
      lock.unlock();
      if (Status st = rescan(); !st.ok()) log_warn("models directory: {}", st.message());
      lock.lock();
    }
  });
}

void WorkerModelDirectory::fill(WorkerModelInfo* info) const {
  const std::optional<ModelSlotInfo> slot = pool_->info(info->id);
  if (!slot) return;
  info->loaded = slot->state == ModelState::kLoaded;
  std::lock_guard<std::mutex> lock(mu_);
  const auto k = known_.find(info->id);
  if (k != known_.end()) info->size_bytes = k->second.first.size_bytes;
}

}  // namespace parley
