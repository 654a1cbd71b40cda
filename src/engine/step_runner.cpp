#include "engine/step_runner.h"

namespace parley {

Result<std::unique_ptr<ModelStepRunner>> ModelStepRunner::create(const Model& model, const KvLayout& layout,
                                                                 const RunnerOptions& options) {
  std::unique_ptr<ModelStepRunner> r(new ModelStepRunner());
  ASSIGN_OR_RETURN(r->cache_, KvCache::create(model.backend(), layout));
  ASSIGN_OR_RETURN(r->runner_, ModelRunner::create(model, r->cache_->view(), options));
  return r;
}

}  // namespace parley
