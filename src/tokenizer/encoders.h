// Factories for the two tokenizer families; internal to the tokenizer module.
#pragma once

#include <memory>

#include "base/result.h"
#include "tokenizer/tokenizer.h"

namespace parley {

Result<std::unique_ptr<Tokenizer>> make_spm_tokenizer(std::unique_ptr<Vocab> vocab);
Result<std::unique_ptr<Tokenizer>> make_bpe_tokenizer(std::unique_ptr<Vocab> vocab);

}  // namespace parley
