#include "gateway/model_directory.h"

#include <sys/stat.h>

#include "base/log.h"
#include "gateway/generation_params.h"

namespace parley {

ModelDirectory::ModelDirectory(ModelDirectoryOptions options) : options_(std::move(options)) {
  ModelPoolHooks hooks;
  hooks.loaded = [this](const std::string& id, double seconds) {
    if (ModelMetrics* m = metrics_.load()) m->loaded(id, seconds);
  };
  hooks.unloaded = [this](const std::string& id, UnloadReason reason) {
    if (ModelMetrics* m = metrics_.load()) m->unloaded(id, unload_reason_name(reason));
  };
  pool_ = std::make_unique<ModelPool>(options_.pool, std::move(hooks));
}

Result<std::shared_ptr<ModelDirectory>> ModelDirectory::create(ModelDirectoryOptions options) {
  std::shared_ptr<ModelDirectory> d(new ModelDirectory(std::move(options)));
  if (!d->options_.dir.empty()) RETURN_IF_ERROR(d->rescan());
  return d;
}

ModelDirectory::~ModelDirectory() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (rescanner_.joinable()) rescanner_.join();
  pool_.reset();  // every engine stops; their requests end while the models still exist
}

Result<std::shared_ptr<ServedModel>> ModelDirectory::make_model(const ModelFile& f, const ServedModelOptions& o,
                                                                bool pinned) {
  ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> opened, GgufFile::open(f.path));
  std::shared_ptr<const GgufFile> file(std::move(opened));
  ASSIGN_OR_RETURN(const std::int32_t n_ctx, model_context_length(*file, o));
  LocalModelOptions lo = o;
  lo.path = f.path;
  // The end-of-generation tokens come from the tokenizer, made with the ServedModel below; the
  // loader runs only after that.
  auto eog = std::make_shared<std::vector<std::int32_t>>();
  EngineLoader make_engine = [file, lo, eog]() { return local_model_loader(file, lo, *eog)(); };
  ASSIGN_OR_RETURN(std::shared_ptr<EngineClient> engine,
                   pool_->add(f.id, model_memory_bytes(f.size_bytes, lo), std::move(make_engine), pinned));
  ServedModelFront front;
  front.id = f.id;
  front.n_ctx = n_ctx;
  front.created = f.mtime;
  front.demo = o.demo;
  front.special_tokens_in_content = o.special_tokens_in_content;
  front.source = fmt::format("{} (loaded on demand)", f.path);
  Result<std::unique_ptr<ServedModel>> m = ServedModel::with_engine(front, file, engine);
  if (!m.ok()) {
    pool_->remove(f.id);
    return m.status();
  }
  *eog = (*m)->tokenizer().vocab().eog;
  return std::shared_ptr<ServedModel>(std::move(*m));
}

Status ModelDirectory::add_file(const ServedModelOptions& o, bool pinned) {
  struct stat st {};
  if (::stat(o.path.c_str(), &st) != 0) return not_found_error("cannot open {}: no such file", o.path);
  ModelFile f{o.id.empty() ? model_id_from_path(o.path) : o.id, o.path, static_cast<std::int64_t>(st.st_size),
              static_cast<std::int64_t>(st.st_mtime)};
  std::lock_guard<std::mutex> scan(scan_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (known_.count(f.id) != 0) return invalid_argument_error("two models have the id '{}'; use --model-id", f.id);
  }
  ASSIGN_OR_RETURN(std::shared_ptr<ServedModel> m, make_model(f, o, pinned));
  if (pinned) RETURN_IF_ERROR(pool_->load(f.id));
  std::lock_guard<std::mutex> lock(mu_);
  known_[f.id] = Known{f, true};
  if (catalog_ != nullptr) return catalog_->add(std::move(m));
  pending_.push_back(std::move(m));
  return {};
}

Status ModelDirectory::rescan() {
  std::lock_guard<std::mutex> scan(scan_mu_);
  std::vector<std::string> warned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_scan_ = std::chrono::steady_clock::now();
    warned = warned_;
  }
  Result<std::vector<ModelFile>> files = scan_model_dir(options_.dir, &warned);
  if (!files.ok()) return files.status();
  std::map<std::string, const ModelFile*> now;
  for (const ModelFile& f : *files) now.emplace(f.id, &f);
  std::vector<std::string> gone;
  std::vector<const ModelFile*> fresh;
  {
    std::lock_guard<std::mutex> lock(mu_);
    warned_ = std::move(warned);
    for (const auto& [id, k] : known_) {
      const auto it = now.find(id);
      if (!k.pinned && (it == now.end() || !it->second->same_file(k.file))) gone.push_back(id);
    }
    std::erase_if(broken_, [&now](const auto& b) {
      const auto it = now.find(b.first);
      return it == now.end() || !it->second->same_file(b.second.first);
    });
    for (const auto& [id, f] : now) {
      const auto k = known_.find(id);
      const bool replaced = std::find(gone.begin(), gone.end(), id) != gone.end();
      if ((k == known_.end() || replaced) && broken_.count(id) == 0) fresh.push_back(f);
      if (k != known_.end() && k->second.pinned && !k->second.file.same_file(*f)) {
        if (std::find(warned_.begin(), warned_.end(), f->path) == warned_.end()) {
          log_warn("models directory: {} is left out: the model '{}' is served from {}", f->path, id,
                   k->second.file.path);
          warned_.push_back(f->path);
        }
      }
    }
    for (const std::string& id : gone) known_.erase(id);
  }
  for (const std::string& id : gone) {
    if (catalog_ != nullptr) catalog_->retire(id);
    pool_->remove(id);
    log_event(LogLevel::kInfo, "model_file_removed", {{"model", id}});
  }
  for (const ModelFile* f : fresh) {
    Result<std::shared_ptr<ServedModel>> m = make_model(*f, options_.model, /*pinned=*/false);
    std::lock_guard<std::mutex> lock(mu_);
    if (!m.ok()) {
      log_event(LogLevel::kError, "model_file_unreadable",
                {{"model", f->id}, {"path", f->path}, {"error", m.status().message()}});
      broken_.emplace(f->id, std::make_pair(*f, m.status()));
      continue;
    }
    known_[f->id] = Known{*f, false};
    if (catalog_ != nullptr) {
      if (Status st = catalog_->add(std::move(*m)); !st.ok()) log_warn("{}", st.message());
    } else {
      pending_.push_back(std::move(*m));
    }
  }
  return {};
}

void ModelDirectory::attach(ModelCatalog& catalog) {
  std::vector<std::shared_ptr<ServedModel>> pending;
  {
    std::lock_guard<std::mutex> scan(scan_mu_);
    std::lock_guard<std::mutex> lock(mu_);
    catalog_ = &catalog;
    pending.swap(pending_);
    for (auto& m : pending) {
      if (Status st = catalog.add(std::move(m)); !st.ok()) log_warn("{}", st.message());
    }
  }
  catalog.hold(shared_from_this());
  catalog.set_control(shared_from_this());
  catalog.set_status_source([this](const std::string& id) { return status(id); });
  catalog.set_miss_reason([this](const std::string& id) { return failure(id); });
  if (!options_.dir.empty()) {
    catalog.set_refresher([this] { refresh_on_miss(); });
    if (options_.rescan.count() > 0) rescanner_ = std::thread([this] { rescan_loop(); });
  }
}

void ModelDirectory::refresh_on_miss() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (std::chrono::steady_clock::now() - last_scan_ < options_.miss_rescan_interval) return;
  }
  if (Status st = rescan(); !st.ok()) log_warn("models directory: {}", st.message());
}

void ModelDirectory::rescan_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    stop_cv_.wait_for(lock, options_.rescan, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    if (Status st = rescan(); !st.ok()) log_warn("models directory: {}", st.message());
    lock.lock();
  }
}

std::optional<ModelStatus> ModelDirectory::status(const std::string& id) const {
  const std::optional<ModelSlotInfo> info = pool_->info(id);
  if (!info) return std::nullopt;
  ModelStatus s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto k = known_.find(id);
    if (k != known_.end()) s.size_bytes = k->second.file.size_bytes;
  }
  s.loaded = info->state == ModelState::kLoaded || info->state == ModelState::kUnloading;
  s.state = std::string(model_state_name(info->state));
  s.pinned = info->pinned;
  return s;
}

std::optional<Status> ModelDirectory::failure(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = broken_.find(id);
  if (it == broken_.end()) return std::nullopt;
  return Status(ErrorCode::kInternal, fmt::format("model '{}' cannot be loaded: {}", id, it->second.second.message()));
}

std::vector<ModelAdminInfo> ModelDirectory::admin_list() const {
  std::vector<ModelAdminInfo> out;
  for (const ModelSlotInfo& i : pool_->list()) {
    ModelAdminInfo a;
    a.id = i.id;
    a.status = status(i.id).value_or(ModelStatus{});
    a.memory_bytes = i.memory_bytes;
    a.streams = i.streams;
    a.waiters = i.waiters;
    a.idle_s = i.idle_s;
    a.error = i.error;
    out.push_back(std::move(a));
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, b] : broken_) {
    ModelAdminInfo a;
    a.id = id;
    a.status = ModelStatus{.size_bytes = b.first.size_bytes, .loaded = false, .state = "failed", .pinned = false};
    a.error = std::string(b.second.message());
    out.push_back(std::move(a));
  }
  return out;
}

void ModelDirectory::attach_metrics(MetricsRegistry& registry) {
  std::lock_guard<std::mutex> lock(mu_);
  if (metrics_owned_) return;
  metrics_owned_ = std::make_unique<ModelMetrics>(registry, [this] {
    double n = 0;
    for (const ModelSlotInfo& i : pool_->list()) n += i.state == ModelState::kLoaded ? 1 : 0;
    return n;
  });
  metrics_.store(metrics_owned_.get());
}

}  // namespace parley
