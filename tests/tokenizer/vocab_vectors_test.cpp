// The reference test vectors in ../shared/vocab: every case of every vocabulary must tokenize
// to exactly the ids the reference tokenizer produced (no BOS/EOS, special tokens not parsed).
#include <gtest/gtest.h>

#include "gguf/gguf_file.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

namespace parley {
namespace {

struct Case {
  std::string text;
  std::vector<TokenId> ids;
};

std::vector<Case> load_cases(const std::string& vocab) {
  const std::string base = testing::vocab_path(vocab);
  const std::string inp = testing::read_file(base + ".inp");
  const std::string out = testing::read_file(base + ".out");
  const std::string marker = "\n__ggml_vocab_test__\n";
  std::vector<Case> cases;
  for (std::size_t pos = 0; pos < inp.size();) {
    const std::size_t end = inp.find(marker, pos);
    if (end == std::string::npos) break;
    cases.push_back({inp.substr(pos, end - pos), {}});
    pos = end + marker.size();
  }
  std::istringstream lines(out);
  std::string line;
  for (auto& c : cases) {
    if (!std::getline(lines, line)) break;
    std::istringstream ids(line);
    TokenId id;
    while (ids >> id) c.ids.push_back(id);
  }
  return cases;
}

class VocabVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabVectors, EveryCaseMatchesTheReference) {
  auto file = GgufFile::open(testing::vocab_path(GetParam()));
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  auto tok = Tokenizer::from_gguf(**file);
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  const auto cases = load_cases(GetParam());
  ASSERT_EQ(cases.size(), 46u);
  int failures = 0;
  for (const auto& c : cases) {
    const auto ids = (*tok)->encode(c.text, {.add_special = false, .parse_special = false});
    if (ids != c.ids) {
      ++failures;
      std::string got, want;
      for (auto i : ids) got += " " + std::to_string(i);
      for (auto i : c.ids) want += " " + std::to_string(i);
      ADD_FAILURE() << "text: '" << c.text << "'\n got:" << got << "\nwant:" << want;
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST_P(VocabVectors, DecodeRestoresTheText) {
  auto file = GgufFile::open(testing::vocab_path(GetParam()));
  ASSERT_TRUE(file.ok());
  auto tok = Tokenizer::from_gguf(**file);
  ASSERT_TRUE(tok.ok());
  for (const auto& c : load_cases(GetParam())) {
    EXPECT_EQ((*tok)->decode(c.ids), c.text);
  }
}

INSTANTIATE_TEST_SUITE_P(AllVocabs, VocabVectors,
                         ::testing::Values("llama-spm", "phi-3", "llama-bpe", "qwen2", "gpt-2", "deepseek-llm",
                                           "deepseek-coder", "falcon", "starcoder", "refact", "mpt"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace parley
