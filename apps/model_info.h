// `parley model info`: a description of a GGUF model file for people (text) and programs (JSON).
#pragma once

#include <string>

#include "base/result.h"

namespace parley {
class GgufFile;
}

namespace parley::cli {

// Human-readable report: file, architecture, hyperparameters, tokenizer, metadata, tensor table.
std::string model_info_text(const GgufFile& file);
// The same facts as one JSON object.
std::string model_info_json(const GgufFile& file);

}  // namespace parley::cli
