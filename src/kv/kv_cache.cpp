#include "kv/kv_cache.h"

#include "base/check.h"

namespace parley {

std::int64_t KvLayout::row_bytes() const {
  const TensorTypeInfo& info = tensor_type_info(type);
  return n_kv_heads * head_dim / info.block_size * static_cast<std::int64_t>(info.block_bytes);
}

std::int64_t KvLayout::bytes_per_token() const {
  return 2 * n_layers * row_bytes();
}

Result<std::unique_ptr<KvCache>> KvCache::create(Backend& backend, const KvLayout& layout) {
  if (layout.type != TensorType::kF16 && layout.type != TensorType::kF32 && layout.type != TensorType::kQ8_0) {
    return invalid_argument_error("KV cache type must be f16, q8_0 or f32, not {}", tensor_type_name(layout.type));
  }
  const std::int64_t q8_block = tensor_type_info(TensorType::kQ8_0).block_size;
  if (layout.type == TensorType::kQ8_0 && layout.head_dim % q8_block != 0) {
    return invalid_argument_error(
        "a q8_0 KV cache needs a head size that is a multiple of {} (this model's is {}): use f16", q8_block,
        layout.head_dim);
  }
  if (layout.n_layers <= 0 || layout.n_kv_heads <= 0 || layout.head_dim <= 0 || layout.block_size <= 0 ||
      layout.n_blocks <= 0) {
    return invalid_argument_error("invalid KV layout ({} layers, {} kv heads, head {}, block {}, {} blocks)",
                                  layout.n_layers, layout.n_kv_heads, layout.head_dim, layout.block_size, layout.n_blocks);
  }
  std::unique_ptr<KvCache> c(new KvCache(backend, layout));
  const auto per_layer = static_cast<std::size_t>(layout.row_bytes() * layout.tokens_capacity());
  for (std::int64_t l = 0; l < layout.n_layers; ++l) {
    c->k_.push_back(backend.alloc(per_layer));
    c->v_.push_back(backend.alloc(per_layer));
  }
  c->view_ = KvCacheView{layout.type, layout.n_blocks, layout.block_size, layout.n_kv_heads, layout.head_dim,
                         c->k_.data(), c->v_.data()};
  return c;
}

void KvCache::copy_block(std::int32_t src, std::int32_t dst) {
  const std::size_t bytes = static_cast<std::size_t>(layout_.row_bytes() * layout_.block_size);
  for (std::int64_t l = 0; l < layout_.n_layers; ++l) {
    for (void* base : {k_[static_cast<std::size_t>(l)], v_[static_cast<std::size_t>(l)]}) {
      auto* p = static_cast<std::byte*>(base);
      backend_.copy(p + static_cast<std::size_t>(dst) * bytes, p + static_cast<std::size_t>(src) * bytes, bytes);
    }
  }
}

std::size_t KvCache::block_bytes() const {
  return static_cast<std::size_t>(layout_.bytes_per_token() * layout_.block_size);
}

void KvCache::read_block(std::int32_t block, std::span<std::byte> out) const {
  const std::size_t part = block_bytes() / static_cast<std::size_t>(2 * layout_.n_layers);
  CHECK(out.size() == block_bytes());
  std::byte* dst = out.data();
  for (std::int64_t l = 0; l < layout_.n_layers; ++l) {
    for (const void* base : {k_[static_cast<std::size_t>(l)], v_[static_cast<std::size_t>(l)]}) {
      backend_.to_host(dst, static_cast<const std::byte*>(base) + static_cast<std::size_t>(block) * part, part);
      dst += part;
    }
  }
}

void KvCache::write_block(std::int32_t block, std::span<const std::byte> in) {
  const std::size_t part = block_bytes() / static_cast<std::size_t>(2 * layout_.n_layers);
  CHECK(in.size() == block_bytes());
  const std::byte* src = in.data();
  for (std::int64_t l = 0; l < layout_.n_layers; ++l) {
    for (void* base : {k_[static_cast<std::size_t>(l)], v_[static_cast<std::size_t>(l)]}) {
      backend_.from_host(static_cast<std::byte*>(base) + static_cast<std::size_t>(block) * part, src, part);
      src += part;
    }
  }
}

KvCache::~KvCache() {
  for (void* p : k_) backend_.free(p);
  for (void* p : v_) backend_.free(p);
}

}  // namespace parley
