#include "kernels/backend.h"

#include "kernels/cpu/cpu_backend.h"
#include "kernels/reference/reference_backend.h"

namespace parley {

Result<std::unique_ptr<Backend>> create_backend(std::string_view name, const BackendOptions& options) {
  if (name == "cpu") return make_cpu_backend(options);
  if (name == "reference") return make_reference_backend();
  return invalid_argument_error("unknown backend '{}' (available: cpu, reference)", name);
}

}  // namespace parley
