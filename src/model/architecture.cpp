#include "model/architecture.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "gguf/gguf_file.h"
#include "kernels/backend.h"
#include "tensor/quantize.h"

namespace parley {

std::span<const Architecture* const> architectures() {
  // The registry: one line per architecture.
  static const Architecture* const kAll[] = {
      &llama_architecture(),
      &qwen2_architecture(),
      &qwen3_architecture(),
  };
  return kAll;
}

Result<const Architecture*> find_architecture(std::string_view name) {
  std::string known;
  for (const Architecture* a : architectures()) {
    if (a->name() == name) return a;
    known += known.empty() ? "" : ", ";
    known += a->name();
  }
  return unimplemented_error("unsupported architecture '{}' (supported: {})", name, known);
}

Status Architecture::bind(const ModelHParams& h, TensorBinder& binder, ModelWeights* weights) const {
  return bind_llama_family(h, traits(), binder, weights);
}

bool TensorBinder::has(std::string_view name) const {
  return file_.find_tensor(name) != nullptr;
}

Result<WeightView> TensorBinder::matrix(std::string_view name, std::int64_t n_in, std::int64_t n_out, WeightUse use) {
  const GgufTensorInfo* t = file_.find_tensor(name);
  if (t == nullptr) return not_found_error("the model file has no tensor '{}'", name);
  if (t->n_dims != 2 || t->ne[0] != n_in || t->ne[1] != n_out) {
    return invalid_argument_error("tensor '{}' has shape {}, expected [{}, {}]", name, t->shape_string(), n_in, n_out);
  }
  if (!backend_.supports(t->type)) {
    return unimplemented_error("tensor '{}' has type {}, which the {} backend cannot compute with", name,
                               tensor_type_name(t->type), backend_.name());
  }
  const auto data = file_.tensor_data(*t);
  WeightView view{
      t->type, data.data(), n_in, n_out, static_cast<std::size_t>(t->n_bytes / static_cast<std::uint64_t>(n_out)), 0};
  Result<WeightView> prepared = backend_.prepare_weight(view, use);
  if (!prepared.ok()) return prepared.status().with_context(fmt::format("tensor '{}'", name));
  note(data, prepared->data);
  return prepared;
}

Result<WeightView> TensorBinder::vector(std::string_view name, std::int64_t n) {
  const GgufTensorInfo* t = file_.find_tensor(name);
  if (t == nullptr) return not_found_error("the model file has no tensor '{}'", name);
  if (t->n_elements() != n || t->ne[0] != n) {
    return invalid_argument_error("tensor '{}' has shape {}, expected [{}]", name, t->shape_string(), n);
  }
  const auto data = file_.tensor_data(*t);
  WeightView view{TensorType::kF32, data.data(), n, 1, static_cast<std::size_t>(n) * sizeof(float), 0};
  if (t->type != TensorType::kF32) {
    // Rare (norms are F32 in the files people use): convert into backend memory the model owns.
    if (!tensor_type_info(t->type).computable) {
      return unimplemented_error("tensor '{}' has type {}, which cannot be converted", name, tensor_type_name(t->type));
    }
    std::vector<float> converted(static_cast<std::size_t>(n));
    RETURN_IF_ERROR_CTX(dequantize(t->type, data, converted), fmt::format("tensor '{}'", name));
    void* dst = backend_.alloc(view.row_bytes);
    allocations_.push_back(dst);
    backend_.from_host(dst, converted.data(), view.row_bytes);
    view.data = dst;
    note(data, dst);
    return view;
  }
  Result<WeightView> prepared = backend_.prepare_weight(view, WeightUse::kRows);
  if (!prepared.ok()) return prepared.status().with_context(fmt::format("tensor '{}'", name));
  note(data, prepared->data);
  return prepared;
}

void TensorBinder::note(std::span<const std::byte> file_range, const void* view) {
  const auto* p = static_cast<const std::byte*>(view);
  const bool in_place = p >= file_range.data() && p < file_range.data() + file_range.size();
  (in_place ? direct_ : copied_).push_back(file_range);
}

std::uint64_t TensorBinder::release_copied_pages() const {
  // Per page of the file: released when a copied tensor touches it and no in-place one does
  // (tensors share pages at their ends; a tied embedding table is both).
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::byte* base = file_.tensors().empty() ? nullptr
                                                  : file_.tensor_data(file_.tensors().front()).data() -
                                                        file_.tensors().front().offset - file_.data_offset();
  if (base == nullptr || copied_.empty()) return 0;
  const std::size_t n_pages = (file_.file_size() + page - 1) / page;
  std::vector<std::uint8_t> state(n_pages, 0);  // 1: copied only, 2: read in place
  const auto mark = [&](std::span<const std::byte> r, std::uint8_t v) {
    if (r.empty()) return;
    const auto first = static_cast<std::size_t>(r.data() - base) / page;
    const auto last = static_cast<std::size_t>(r.data() + r.size() - 1 - base) / page;
    for (std::size_t i = first; i <= last; ++i) state[i] = std::max(state[i], v);
  };
  for (const auto& r : copied_) mark(r, 1);
  for (const auto& r : direct_) mark(r, 2);
  std::uint64_t released = 0;
  for (std::size_t i = 0; i < n_pages;) {
    if (state[i] != 1) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < n_pages && state[j] == 1) ++j;
    const std::size_t end = std::min(j * page, static_cast<std::size_t>(file_.file_size()));
    file_.release_pages(std::span<const std::byte>(base + i * page, end - i * page));
    released += end - i * page;
    i = j;
  }
  return released;
}

Status bind_llama_family(const ModelHParams& h, const ArchTraits& traits, TensorBinder& b, ModelWeights* w) {
  const std::int64_t q_dim = h.n_head * h.head_dim_k;
  const std::int64_t k_dim = h.n_head_kv * h.head_dim_k;
  const std::int64_t v_dim = h.n_head_kv * h.head_dim_v;
  const std::int64_t o_dim = h.n_head * h.head_dim_v;
  if (h.n_vocab <= 0) return invalid_argument_error("{}.vocab_size is missing and the file has no token list", h.arch);
  ASSIGN_OR_RETURN(w->token_embd, b.matrix("token_embd.weight", h.n_embd, h.n_vocab, WeightUse::kRows));
  ASSIGN_OR_RETURN(w->output_norm, b.vector("output_norm.weight", h.n_embd));
  w->tied_embeddings = !b.has("output.weight");
  ASSIGN_OR_RETURN(w->output,
                   b.matrix(w->tied_embeddings ? "token_embd.weight" : "output.weight", h.n_embd, h.n_vocab));
  if (b.has("rope_freqs.weight")) {
    ASSIGN_OR_RETURN(w->rope_freqs, b.vector("rope_freqs.weight", h.n_rot / 2));
  }
  w->layers.resize(static_cast<std::size_t>(h.n_layer));
  for (std::int64_t i = 0; i < h.n_layer; ++i) {
    LayerWeights& l = w->layers[static_cast<std::size_t>(i)];
    const auto name = [i](std::string_view suffix) { return fmt::format("blk.{}.{}", i, suffix); };
    ASSIGN_OR_RETURN(l.attn_norm, b.vector(name("attn_norm.weight"), h.n_embd));
    ASSIGN_OR_RETURN(l.wq, b.matrix(name("attn_q.weight"), h.n_embd, q_dim));
    ASSIGN_OR_RETURN(l.wk, b.matrix(name("attn_k.weight"), h.n_embd, k_dim));
    ASSIGN_OR_RETURN(l.wv, b.matrix(name("attn_v.weight"), h.n_embd, v_dim));
    ASSIGN_OR_RETURN(l.wo, b.matrix(name("attn_output.weight"), o_dim, h.n_embd));
    if (traits.attn_qkv_bias) {
      ASSIGN_OR_RETURN(l.bq, b.vector(name("attn_q.bias"), q_dim));
      ASSIGN_OR_RETURN(l.bk, b.vector(name("attn_k.bias"), k_dim));
      ASSIGN_OR_RETURN(l.bv, b.vector(name("attn_v.bias"), v_dim));
    }
    if (traits.attn_qk_norm) {
      ASSIGN_OR_RETURN(l.q_norm, b.vector(name("attn_q_norm.weight"), h.head_dim_k));
      ASSIGN_OR_RETURN(l.k_norm, b.vector(name("attn_k_norm.weight"), h.head_dim_k));
    }
    ASSIGN_OR_RETURN(l.ffn_norm, b.vector(name("ffn_norm.weight"), h.n_embd));
    ASSIGN_OR_RETURN(l.w_gate, b.matrix(name("ffn_gate.weight"), h.n_embd, h.n_ff));
    ASSIGN_OR_RETURN(l.w_up, b.matrix(name("ffn_up.weight"), h.n_embd, h.n_ff));
    ASSIGN_OR_RETURN(l.w_down, b.matrix(name("ffn_down.weight"), h.n_ff, h.n_embd));
  }
  return ok_status();
}

}  // namespace parley
