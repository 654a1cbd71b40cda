// The CPU backend: AVX2/FMA kernels (AVX-512 VNNI where the processor has it) on a thread pool,
// falling back to the reference kernels on processors without AVX2.
#pragma once

#include <memory>

#include "kernels/backend.h"

namespace parley {

std::unique_ptr<Backend> make_cpu_backend(const BackendOptions& options);

}  // namespace parley
