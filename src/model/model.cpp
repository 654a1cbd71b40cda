#include "model/model.h"

#include "kernels/backend.h"

namespace parley {

Result<std::unique_ptr<Model>> Model::load(const std::string& path, Backend& backend) {
  ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::open(path));
  return from_file(std::shared_ptr<const GgufFile>(std::move(file)), backend);
}

Result<std::unique_ptr<Model>> Model::from_file(std::shared_ptr<const GgufFile> file, Backend& backend) {
  std::unique_ptr<Model> m(new Model(std::move(file), backend));
  const std::string& path = m->file_->path();
  // The architecture first: for an unsupported one, that is the error worth reporting.
  ASSIGN_OR_RETURN(const std::string arch, m->file_->get<std::string>(kKeyGeneralArchitecture));
  ASSIGN_OR_RETURN(m->arch_, find_architecture(arch));
  ASSIGN_OR_RETURN(m->hparams_, read_hparams(*m->file_));
  TensorBinder binder(*m->file_, backend);
  Status st = m->arch_->bind(m->hparams_, binder, &m->weights_);
  m->allocations_ = binder.take_allocations();
  if (!st.ok()) return st.with_context(path);
  // The weights once: the file pages of repacked (or uploaded) tensors leave resident memory.
  m->released_file_bytes_ = binder.release_copied_pages();
  return m;
}

Model::~Model() {
  for (void* p : allocations_) backend_.free(p);
}

std::uint64_t Model::bytes_per_token() const {
  const auto bytes = [](const WeightView& w) {
    return w.data == nullptr ? 0 : w.row_bytes * static_cast<std::uint64_t>(w.n_out);
  };
  std::uint64_t total = bytes(weights_.output);
  for (const LayerWeights& l : weights_.layers) {
    total += bytes(l.wq) + bytes(l.wk) + bytes(l.wv) + bytes(l.wo) + bytes(l.w_gate) + bytes(l.w_up) + bytes(l.w_down);
  }
  return total;
}

std::uint64_t Model::matmul_flops_per_token() const {
  const auto flops = [](const WeightView& w) {
    return w.data == nullptr ? 0 : 2 * static_cast<std::uint64_t>(w.n_in) * static_cast<std::uint64_t>(w.n_out);
  };
  std::uint64_t total = flops(weights_.output);
  for (const LayerWeights& l : weights_.layers) {
    total += flops(l.wq) + flops(l.wk) + flops(l.wv) + flops(l.wo) + flops(l.w_gate) + flops(l.w_up) + flops(l.w_down);
  }
  return total;
}

}  // namespace parley
