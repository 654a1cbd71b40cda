#include "engine/local_model.h"

namespace parley {

Result<TensorType> parse_kv_type(std::string_view name) {
  const Result<TensorType> t = parse_tensor_type(name);
  if (!t.ok() || (*t != TensorType::kF16 && *t != TensorType::kQ8_0)) {
    return invalid_argument_error("KV type '{}' is not one of: f16, q8_0", name);
  }
  return *t;
}

LocalModel::~LocalModel() {
  engine_.reset();
}

Result<std::unique_ptr<LocalModel>> LocalModel::start(std::shared_ptr<const GgufFile> file, const LocalModelOptions& o,
                                                      std::vector<std::int32_t> eog_tokens) {
  std::unique_ptr<LocalModel> m(new LocalModel());
  m->file_ = std::move(file);
  ASSIGN_OR_RETURN(m->backend_, create_backend(o.backend, {.n_threads = o.threads}));
  ASSIGN_OR_RETURN(m->model_, Model::from_file(m->file_, *m->backend_));
  const ModelHParams& h = m->model_->hparams();
  m->n_ctx_ = static_cast<std::int32_t>(o.n_ctx > 0 ? o.n_ctx : h.n_ctx_train);

  LocalEngineOptions eo;
  eo.engine.n_ctx = m->n_ctx_;
  eo.engine.max_waiting = o.max_waiting;
  eo.engine.scheduler.max_batch_tokens = o.max_batch_tokens;
  eo.engine.scheduler.max_running = o.max_running;
  const double target_ms = o.target_itl_ms < 0 ? default_target_itl_ms(m->backend_->name()) : o.target_itl_ms;
  eo.engine.scheduler.target_step_s = target_ms / 1000;
  eo.engine.scheduler.max_prefill_per_tenant = o.max_prefill_per_tenant;
  eo.engine.eog_tokens = std::move(eog_tokens);
  eo.kv_bytes = o.kv_cache_bytes;
  eo.kv_disk_bytes = o.kv_disk_bytes;
  eo.kv_disk_dir = o.kv_disk_dir;
  eo.kv_type = o.kv_type;
  ASSIGN_OR_RETURN(m->engine_, LocalEngine::start(*m->model_, eo));
  return m;
}

}  // namespace parley
