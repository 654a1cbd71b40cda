#include "worker/worker_model.h"

#include <sys/stat.h>

#include <filesystem>

#include "base/log.h"
#include "gguf/gguf_writer.h"

namespace parley {

Result<std::vector<std::byte>> vocab_only_gguf(const GgufFile& file) {
  GgufWriter w;
  for (const auto& [key, value] : file.metadata()) {
    if (key.starts_with("general.") || key.starts_with("tokenizer.")) w.set(key, value);
  }
  return w.write_memory();
}

std::string vocab_digest(std::span<const std::byte> bytes) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const std::byte b : bytes) {
    h ^= static_cast<std::uint8_t>(b);
    h *= 0x100000001b3ull;
  }
  return fmt::format("{:016x}", h);
}

Status WorkerModel::init_vocabulary() {
  ASSIGN_OR_RETURN(tokenizer_, Tokenizer::from_gguf(*file_));
  grammar_compiler_ = std::make_unique<GrammarCompiler>(TokenVocabulary::create(*tokenizer_));
  ASSIGN_OR_RETURN(vocab_gguf_, vocab_only_gguf(*file_));
  info_.vocab_digest = vocab_digest(vocab_gguf_);
  return {};
}

Result<std::unique_ptr<WorkerModel>> WorkerModel::with_engine(const std::string& id, std::int32_t n_ctx,
                                                              std::shared_ptr<const GgufFile> file,
                                                              std::unique_ptr<EngineClient> engine) {
  std::unique_ptr<WorkerModel> m(new WorkerModel());
  m->info_.id = id;
  m->info_.n_ctx = n_ctx;
  m->file_ = std::move(file);
  RETURN_IF_ERROR(m->init_vocabulary());
  m->other_engine_ = std::move(engine);
  m->engine_ = m->other_engine_.get();
  return m;
}

Result<std::unique_ptr<WorkerModel>> WorkerModel::with_shared_engine(WorkerModelInfo info,
                                                                     std::shared_ptr<const GgufFile> file,
                                                                     std::shared_ptr<EngineClient> engine) {
  std::unique_ptr<WorkerModel> m(new WorkerModel());
  m->info_ = std::move(info);
  m->file_ = std::move(file);
  RETURN_IF_ERROR(m->init_vocabulary());
  m->shared_engine_ = std::move(engine);
  m->engine_ = m->shared_engine_.get();
  return m;
}

Result<std::unique_ptr<WorkerModel>> WorkerModel::load(const WorkerModelOptions& o) {
  std::unique_ptr<WorkerModel> m(new WorkerModel());
  m->info_.id = o.id.empty() ? std::filesystem::path(o.path).stem().string() : o.id;
  m->info_.demo = o.demo;
  ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> file, GgufFile::open(o.path));
  m->file_ = std::shared_ptr<const GgufFile>(std::move(file));
  RETURN_IF_ERROR(m->init_vocabulary());
  ASSIGN_OR_RETURN(m->local_, LocalModel::start(m->file_, o, m->tokenizer_->vocab().eog));
  m->engine_ = &m->local_->engine();
  m->info_.n_ctx = m->local_->n_ctx();
  struct stat st {};
  m->info_.created = ::stat(o.path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_mtime) : 0;
  log_info("model '{}' ready: {} (context {}, vocabulary of {} tokens, digest {}), backend {}", m->info_.id, o.path,
           m->info_.n_ctx, m->tokenizer_->n_tokens(), m->info_.vocab_digest, m->local_->backend().name());
  return m;
}

}  // namespace parley
