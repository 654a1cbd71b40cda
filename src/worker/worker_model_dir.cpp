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
  watch_ = std::make_unique<ModelDirWatch>(
      options_.dir, ModelDirHooks{.add = [this](const ModelFile& f) { return add(f, options_.model, false, false); },
                                  .retire = [this](const std::string& id) { retire(id); }});
}

Result<std::shared_ptr<WorkerModelDirectory>> WorkerModelDirectory::create(WorkerModelDirOptions options,
                                                                           std::shared_ptr<WorkerService> service) {
  std::shared_ptr<WorkerModelDirectory> d(new WorkerModelDirectory(std::move(options), service));
  service->hold(d);
  std::weak_ptr<WorkerModelDirectory> weak = d;
  service->set_model_status([weak](WorkerModelInfo* info) {
    if (auto self = weak.lock()) self->fill(info);
  });
  RETURN_IF_ERROR(d->rescan());
  return d;
}

WorkerModelDirectory::~WorkerModelDirectory() {
  watch_.reset();  // no scan runs from now on
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
  return watch_->add_file(f, [&] { return add(f, o, o.demo, pinned); });
}

Status WorkerModelDirectory::rescan() {
  return watch_->rescan();
}

void WorkerModelDirectory::start_rescans() {
  watch_->start(options_.rescan);
}

void WorkerModelDirectory::retire(const std::string& id) {
  if (std::shared_ptr<WorkerService> service = service_.lock()) service->retire_model(id);
  pool_->remove(id);
}

void WorkerModelDirectory::fill(WorkerModelInfo* info) const {
  const std::optional<ModelSlotInfo> slot = pool_->info(info->id);
  if (!slot) return;
  info->loaded = slot->state == ModelState::kLoaded;
  if (const std::optional<ModelFile> f = watch_->served(info->id)) info->size_bytes = f->size_bytes;
}

}  // namespace parley
