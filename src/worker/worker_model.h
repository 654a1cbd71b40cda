// WorkerModel: one model as a worker serves it: its weights and engine (LocalModel), the
// tokenizer (end-of-generation tokens, the vocabulary size), a grammar compiler for the grammars
// requests send as specs, and the vocab-only GGUF that gateways load instead of the weights.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/local_model.h"
#include "gguf/gguf_file.h"
#include "grammar/grammar_compiler.h"
#include "router/worker_protocol.h"
#include "tokenizer/tokenizer.h"

namespace parley {

struct WorkerModelOptions : LocalModelOptions {
  std::string id;     // "" = file name without extension
  bool demo = false;  // random weights: gateways say so in the web UI
};

// The metadata of `file` that a tokenizer and a chat template need (general.* and tokenizer.*),
// as a GGUF file with no tensors.
Result<std::vector<std::byte>> vocab_only_gguf(const GgufFile& file);
// A short hex digest of bytes (FNV-1a 64): tells whether two workers serve the same vocabulary.
std::string vocab_digest(std::span<const std::byte> bytes);

class WorkerModel {
 public:
  static Result<std::unique_ptr<WorkerModel>> load(const WorkerModelOptions& options);
  // The vocabulary of `file` over any engine (tests: an engine they drive by hand).
  static Result<std::unique_ptr<WorkerModel>> with_engine(const std::string& id, std::int32_t n_ctx,
                                                          std::shared_ptr<const GgufFile> file,
                                                          std::unique_ptr<EngineClient> engine);
  // The vocabulary of `file` over a shared engine (a ModelPool slot: `--models-dir`); `info`'s id,
  // n_ctx, created and demo are kept, its digest is computed.
  static Result<std::unique_ptr<WorkerModel>> with_shared_engine(WorkerModelInfo info,
                                                                 std::shared_ptr<const GgufFile> file,
                                                                 std::shared_ptr<EngineClient> engine);

  const WorkerModelInfo& info() const { return info_; }
  const std::string& id() const { return info_.id; }
  std::int32_t n_ctx() const { return info_.n_ctx; }
  EngineClient& engine() const { return *engine_; }
  GrammarCompiler& grammar_compiler() const { return *grammar_compiler_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const std::vector<std::byte>& vocab_gguf() const { return vocab_gguf_; }

 private:
  WorkerModel() = default;
  WorkerModelInfo info_;
  std::shared_ptr<const GgufFile> file_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<GrammarCompiler> grammar_compiler_;
  std::vector<std::byte> vocab_gguf_;
  // Who runs it: a local model, or (tests) any engine. Last: stopped first.
  std::unique_ptr<EngineClient> other_engine_;
  std::shared_ptr<EngineClient> shared_engine_;
  std::unique_ptr<LocalModel> local_;
  EngineClient* engine_ = nullptr;

  // The tokenizer, grammar compiler and vocab-only GGUF of file_.
  Status init_vocabulary();
};

}  // namespace parley
