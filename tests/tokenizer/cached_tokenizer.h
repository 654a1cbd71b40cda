// A tokenizer for each reference vocabulary in ../shared/vocab, loaded once per test binary.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "base/check.h"
#include "gguf/gguf_file.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

namespace parley::testing {

inline const Tokenizer& cached_tokenizer(const std::string& name) {
  static std::map<std::string, std::pair<std::unique_ptr<GgufFile>, std::unique_ptr<Tokenizer>>> cache;
  auto& entry = cache[name];
  if (!entry.second) {
    auto f = GgufFile::open(vocab_path(name));
    CHECK(f.ok(), "{}", f.status().to_string());
    auto t = Tokenizer::from_gguf(**f);
    CHECK(t.ok(), "{}", t.status().to_string());
    entry = {std::move(*f), std::move(*t)};
  }
  return *entry.second;
}

}  // namespace parley::testing
