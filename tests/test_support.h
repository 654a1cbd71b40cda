// Helpers shared by the test suites.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace parley::testing {

// ../shared (reference data beside the checkout), as configured by CMake.
inline std::string shared_dir() {
  const char* dir = std::getenv("PARLEY_SHARED_DIR");
  return dir != nullptr && *dir ? std::string(dir) : std::string("../shared");
}

inline std::string vocab_path(const std::string& name) { return shared_dir() + "/vocab/ggml-vocab-" + name + ".gguf"; }

// The parley binary under test.
inline std::string parley_bin() {
  const char* bin = std::getenv("PARLEY_BIN");
  return bin != nullptr && *bin ? std::string(bin) : std::string("build/bin/parley");
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace parley::testing
