// Type dispatch and the checked entry points of tensor/quantize.h.
#include "tensor/quantize.h"

#include <cstdint>
#include <cstring>

namespace parley {
namespace {

std::size_t block_alignment(TensorType type) {
  switch (type) {
    case TensorType::kF32:
      return alignof(float);
    case TensorType::kQ8_K:
      return alignof(BlockQ8K);
    default:
      return alignof(fp16_t);  // every other supported type is f16 or a block led by f16 fields
  }
}

bool is_aligned(const void* p, std::size_t alignment) {
  return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

}  // namespace

void dequantize_row(TensorType type, const void* src, float* dst, std::int64_t n) {
  switch (type) {
    case TensorType::kF32:
      CHECK(n >= 0, "negative row length {}", n);
      std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
      return;
    case TensorType::kF16:
      return dequantize_row_f16(static_cast<const fp16_t*>(src), dst, n);
    case TensorType::kBF16:
      return dequantize_row_bf16(static_cast<const bf16_t*>(src), dst, n);
    case TensorType::kQ4_0:
      return dequantize_row_q4_0(static_cast<const BlockQ4_0*>(src), dst, n);
    case TensorType::kQ4_1:
      return dequantize_row_q4_1(static_cast<const BlockQ4_1*>(src), dst, n);
    case TensorType::kQ5_0:
      return dequantize_row_q5_0(static_cast<const BlockQ5_0*>(src), dst, n);
    case TensorType::kQ5_1:
      return dequantize_row_q5_1(static_cast<const BlockQ5_1*>(src), dst, n);
    case TensorType::kQ8_0:
      return dequantize_row_q8_0(static_cast<const BlockQ8_0*>(src), dst, n);
    case TensorType::kQ2_K:
      return dequantize_row_q2_k(static_cast<const BlockQ2K*>(src), dst, n);
    case TensorType::kQ3_K:
      return dequantize_row_q3_k(static_cast<const BlockQ3K*>(src), dst, n);
    case TensorType::kQ4_K:
      return dequantize_row_q4_k(static_cast<const BlockQ4K*>(src), dst, n);
    case TensorType::kQ5_K:
      return dequantize_row_q5_k(static_cast<const BlockQ5K*>(src), dst, n);
    case TensorType::kQ6_K:
      return dequantize_row_q6_k(static_cast<const BlockQ6K*>(src), dst, n);
    default:
      break;
  }
  CHECK(false, "dequantize_row: type {} is not computable", tensor_type_name(type));
}

bool has_quantizer(TensorType type) {
  switch (type) {
    case TensorType::kF32:
    case TensorType::kF16:
    case TensorType::kBF16:
    case TensorType::kQ4_0:
    case TensorType::kQ4_1:
    case TensorType::kQ5_0:
    case TensorType::kQ5_1:
    case TensorType::kQ8_0:
    case TensorType::kQ8_1:
    case TensorType::kQ2_K:
    case TensorType::kQ3_K:
    case TensorType::kQ4_K:
    case TensorType::kQ5_K:
    case TensorType::kQ6_K:
    case TensorType::kQ8_K:
      return true;
    default:
      return false;
  }
}

void quantize_row(TensorType type, const float* src, void* dst, std::int64_t n) {
  switch (type) {
    case TensorType::kF32:
      CHECK(n >= 0, "negative row length {}", n);
      std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
      return;
    case TensorType::kF16:
      return quantize_row_f16(src, static_cast<fp16_t*>(dst), n);
    case TensorType::kBF16:
      return quantize_row_bf16(src, static_cast<bf16_t*>(dst), n);
    case TensorType::kQ4_0:
      return quantize_row_q4_0(src, static_cast<BlockQ4_0*>(dst), n);
    case TensorType::kQ4_1:
      return quantize_row_q4_1(src, static_cast<BlockQ4_1*>(dst), n);
    case TensorType::kQ5_0:
      return quantize_row_q5_0(src, static_cast<BlockQ5_0*>(dst), n);
    case TensorType::kQ5_1:
      return quantize_row_q5_1(src, static_cast<BlockQ5_1*>(dst), n);
    case TensorType::kQ8_0:
      return quantize_row_q8_0(src, static_cast<BlockQ8_0*>(dst), n);
    case TensorType::kQ8_1:
      return quantize_row_q8_1(src, static_cast<BlockQ8_1*>(dst), n);
    case TensorType::kQ2_K:
      return quantize_row_q2_k(src, static_cast<BlockQ2K*>(dst), n);
    case TensorType::kQ3_K:
      return quantize_row_q3_k(src, static_cast<BlockQ3K*>(dst), n);
    case TensorType::kQ4_K:
      return quantize_row_q4_k(src, static_cast<BlockQ4K*>(dst), n);
    case TensorType::kQ5_K:
      return quantize_row_q5_k(src, static_cast<BlockQ5K*>(dst), n);
    case TensorType::kQ6_K:
      return quantize_row_q6_k(src, static_cast<BlockQ6K*>(dst), n);
    case TensorType::kQ8_K:
      return quantize_row_q8_k(src, static_cast<BlockQ8K*>(dst), n);
    default:
      break;
  }
  CHECK(false, "quantize_row: no quantizer for type {}", tensor_type_name(type));
}

Status dequantize(TensorType type, std::span<const std::byte> src, std::span<float> dst) {
  const TensorTypeInfo* info = tensor_type_info(static_cast<std::uint32_t>(type));
  if (info == nullptr) return invalid_argument_error("unknown tensor type id {}", static_cast<std::uint32_t>(type));
  if (!info->computable) return unimplemented_error("cannot dequantize tensor type {}", info->name);
  const auto n = static_cast<std::int64_t>(dst.size());
  ASSIGN_OR_RETURN(const std::size_t bytes, tensor_row_bytes(type, n));
  if (src.size() != bytes) {
    return invalid_argument_error("{} {} elements need {} bytes, got {}", n, info->name, bytes, src.size());
  }
  if (!is_aligned(src.data(), block_alignment(type))) {
    return invalid_argument_error("{} data is not {}-byte aligned", info->name, block_alignment(type));
  }
  if (n > 0) dequantize_row(type, src.data(), dst.data(), n);  // empty spans may hold nullptr
  return ok_status();
}

Status quantize(TensorType type, std::span<const float> src, std::span<std::byte> dst) {
  const TensorTypeInfo* info = tensor_type_info(static_cast<std::uint32_t>(type));
  if (info == nullptr) return invalid_argument_error("unknown tensor type id {}", static_cast<std::uint32_t>(type));
  if (!has_quantizer(type)) return unimplemented_error("cannot quantize to tensor type {}", info->name);
  const auto n = static_cast<std::int64_t>(src.size());
  ASSIGN_OR_RETURN(const std::size_t bytes, tensor_row_bytes(type, n));
  if (dst.size() != bytes) {
    return invalid_argument_error("{} {} elements need {} bytes, got {}", n, info->name, bytes, dst.size());
  }
  if (!is_aligned(dst.data(), block_alignment(type))) {
    return invalid_argument_error("{} destination is not {}-byte aligned", info->name, block_alignment(type));
  }
  if (n > 0) quantize_row(type, src.data(), dst.data(), n);
  return ok_status();
}

}  // namespace parley
