#include "engine/model_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "base/log.h"
#include "model/hparams.h"

namespace parley {

Result<std::vector<ModelFile>> scan_model_dir(const std::string& dir, std::vector<std::string>* warned) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return not_found_error("the models directory {} is not a directory", dir);
  std::vector<ModelFile> files;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) return io_error("cannot read the models directory {}: {}", dir, ec.message());
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return io_error("cannot read the models directory {}: {}", dir, ec.message());
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (name.starts_with(".")) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (p.extension() != ".gguf" || !it->is_regular_file(ec)) continue;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) continue;  // removed meanwhile
    files.push_back(
        {p.stem().string(), p.string(), static_cast<std::int64_t>(st.st_size), static_cast<std::int64_t>(st.st_mtime)});
  }
  std::sort(files.begin(), files.end(), [](const ModelFile& a, const ModelFile& b) { return a.path < b.path; });
  std::set<std::string> ids;
  std::vector<ModelFile> out;
  for (ModelFile& f : files) {
    if (ids.insert(f.id).second) {
      out.push_back(std::move(f));
      continue;
    }
    if (warned == nullptr || std::find(warned->begin(), warned->end(), f.path) == warned->end()) {
      log_warn("models directory: {} is left out: another file already has the id '{}'", f.path, f.id);
      if (warned != nullptr) warned->push_back(f.path);
    }
  }
  return out;
}

std::int64_t model_memory_bytes(std::int64_t file_bytes, const LocalModelOptions& options) {
  return file_bytes + std::max<std::int64_t>(0, options.kv_cache_bytes);
}

EngineLoader local_model_loader(std::shared_ptr<const GgufFile> file, LocalModelOptions options,
                                std::vector<std::int32_t> eog_tokens) {
  return [file = std::move(file), options = std::move(options),
          eog = std::move(eog_tokens)]() -> Result<std::shared_ptr<EngineClient>> {
    ASSIGN_OR_RETURN(std::unique_ptr<LocalModel> m, LocalModel::start(file, options, eog));
    std::shared_ptr<LocalModel> held(std::move(m));
    EngineClient* engine = &held->engine();
    return std::shared_ptr<EngineClient>(std::move(held), engine);
  };
}

Result<std::int32_t> model_context_length(const GgufFile& file, const LocalModelOptions& options) {
  if (options.n_ctx > 0) return options.n_ctx;
  ASSIGN_OR_RETURN(const ModelHParams h, read_hparams(file));
  return static_cast<std::int32_t>(h.n_ctx_train);
}

}  // namespace parley
