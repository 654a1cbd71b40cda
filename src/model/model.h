// Model: a GGUF model file opened for inference on a backend: hyperparameters, architecture and
// weights bound (zero-copy on CPU). The file stays mapped while the Model lives. Immutable after
// load; a Model may be shared by any number of ModelRunners on the same backend.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "gguf/gguf_file.h"
#include "model/architecture.h"
#include "model/hparams.h"
#include "model/weights.h"

namespace parley {

class Backend;

class Model {
 public:
  // Opens and validates the file, checks that the architecture is supported and every tensor it
  // needs is present with the right shape and a type the backend computes with.
  static Result<std::unique_ptr<Model>> load(const std::string& path, Backend& backend);
  // The same for a file already open (the caller keeps `file` alive as long as the model).
  static Result<std::unique_ptr<Model>> from_file(std::shared_ptr<const GgufFile> file, Backend& backend);
  ~Model();

  const GgufFile& file() const { return *file_; }
  const ModelHParams& hparams() const { return hparams_; }
  const Architecture& architecture() const { return *arch_; }
  ArchTraits traits() const { return arch_->traits(); }
  const ModelWeights& weights() const { return weights_; }
  Backend& backend() const { return backend_; }
  // Bytes of the mapped file dropped from resident memory after binding, because the backend
  // copied those tensors (repacked or uploaded) and nothing reads them in place.
  std::uint64_t released_file_bytes() const { return released_file_bytes_; }

  // Bytes of weights one forward step reads: every matrix once (the embedding table only one row
  // per token, so it is not counted) — the numerator of the decode roofline.
  std::uint64_t bytes_per_token() const;
  // Multiply-adds x2 of the matrices per token (the dominant FLOPs of prefill).
  std::uint64_t matmul_flops_per_token() const;

 private:
  Model(std::shared_ptr<const GgufFile> file, Backend& backend) : file_(std::move(file)), backend_(backend) {}
  std::shared_ptr<const GgufFile> file_;
  Backend& backend_;
  ModelHParams hparams_;
  const Architecture* arch_ = nullptr;
  ModelWeights weights_;
  std::vector<void*> allocations_;
  std::uint64_t released_file_bytes_ = 0;
};

}  // namespace parley
