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
  watch_ = std::make_unique<ModelDirWatch>(options_.dir,
                                           ModelDirHooks{.add = [this](const ModelFile& f) { return add_scanned(f); },
                                                         .retire = [this](const std::string& id) { retire(id); }});
}

Result<std::shared_ptr<ModelDirectory>> ModelDirectory::create(ModelDirectoryOptions options) {
  std::shared_ptr<ModelDirectory> d(new ModelDirectory(std::move(options)));
  RETURN_IF_ERROR(d->rescan());
  return d;
}

ModelDirectory::~ModelDirectory() {
  watch_.reset();  // no scan runs from now on
  pool_.reset();   // every engine stops; their requests end while the models still exist
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
  const ModelFile f{o.id.empty() ? model_id_from_path(o.path) : o.id, o.path, static_cast<std::int64_t>(st.st_size),
                    static_cast<std::int64_t>(st.st_mtime)};
  return watch_->add_file(f, [&]() -> Status {
    ASSIGN_OR_RETURN(std::shared_ptr<ServedModel> m, make_model(f, o, pinned));
    if (pinned) RETURN_IF_ERROR(pool_->load(f.id));
    return publish(std::move(m));
  });
}

Status ModelDirectory::rescan() {
  return watch_->rescan();
}

Status ModelDirectory::add_scanned(const ModelFile& f) {
  ASSIGN_OR_RETURN(std::shared_ptr<ServedModel> m, make_model(f, options_.model, /*pinned=*/false));
  if (Status st = publish(std::move(m)); !st.ok()) log_warn("{}", st.message());
  return {};
}

Status ModelDirectory::publish(std::shared_ptr<ServedModel> m) {
  std::lock_guard<std::mutex> lock(mu_);
  if (catalog_ != nullptr) return catalog_->add(std::move(m));
  pending_.push_back(std::move(m));
  return {};
}

void ModelDirectory::retire(const std::string& id) {
  ModelCatalog* catalog = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    catalog = catalog_;
    std::erase_if(pending_, [&id](const std::shared_ptr<ServedModel>& m) { return m->id() == id; });
  }
  if (catalog != nullptr) catalog->retire(id);
  pool_->remove(id);
}

void ModelDirectory::attach(ModelCatalog& catalog) {
  std::vector<std::shared_ptr<ServedModel>> pending;
  {
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
    catalog.set_refresher([this] { watch_->rescan_if_older(options_.miss_rescan_interval); });
    watch_->start(options_.rescan);
  }
}

std::optional<ModelStatus> ModelDirectory::status(const std::string& id) const {
  const std::optional<ModelSlotInfo> info = pool_->info(id);
  if (!info) return std::nullopt;
  ModelStatus s;
  if (const std::optional<ModelFile> f = watch_->served(id)) s.size_bytes = f->size_bytes;
  s.loaded = info->state == ModelState::kLoaded || info->state == ModelState::kUnloading;
  s.state = std::string(model_state_name(info->state));
  s.pinned = info->pinned;
  return s;
}

std::optional<Status> ModelDirectory::failure(const std::string& id) const {
  const std::optional<Status> why = watch_->failure(id);
  if (!why) return std::nullopt;
  return Status(ErrorCode::kInternal, fmt::format("model '{}' cannot be loaded: {}", id, why->message()));
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
  for (const auto& [file, why] : watch_->failures()) {
    ModelAdminInfo a;
    a.id = file.id;
    a.status = ModelStatus{.size_bytes = file.size_bytes, .loaded = false, .state = "failed", .pinned = false};
    a.error = std::string(why.message());
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
