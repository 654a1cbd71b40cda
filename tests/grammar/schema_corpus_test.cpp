// The property test of the JSON Schema front end: for every schema of the corpus
// (tests/grammar/schemas, realistic schemas: tool arguments, nested objects, arrays, enums,
// recursion, formats, patterns) and several seeds, random walks through the masks on the
// Llama 3 vocabulary produce text that parses as JSON and validates against the schema with a
// real validator (python3-jsonschema, run by validate_samples.py). On the Llama 2 vocabulary the
// masks also equal the brute-force reference along a walk of every schema.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/utf8.h"
#include "grammar_test_util.h"
#include "test_support.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using testing::compile_or_die;

std::vector<std::string> corpus() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fs::path(PARLEY_GRAMMAR_TEST_DIR) / "schemas")) {
    if (e.path().extension() == ".json") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A random walk that leans towards finishing: a third of the steps pick among the allowed tokens
// that close something (a quote, bracket or brace) or end the text, when there are some.
std::optional<std::string> random_output(const std::shared_ptr<const CompiledGrammar>& g, std::uint32_t seed) {
  GrammarMatcher m(g);
  std::mt19937 rng(seed);
  TokenMask mask;
  std::string text;
  const TokenVocabulary& vocab = g->vocabulary();
  for (int step = 0; step < 800; ++step) {
    if (m.is_complete()) return text;
    m.fill_mask(mask);
    std::vector<TokenId> all, closers;
    mask.for_each([&](TokenId t) {
      all.push_back(t);
      const std::string_view b = vocab.bytes(t);
      if (vocab.is_eog(t) || b.find_first_of("\"]}") != std::string_view::npos) closers.push_back(t);
    });
    if (all.empty()) {
      ADD_FAILURE() << "empty mask after " << text;
      return std::nullopt;
    }
    const bool close = !closers.empty() && rng() % 3 == 0;
    const TokenId t = close ? closers[rng() % closers.size()] : all[rng() % all.size()];
    EXPECT_TRUE(m.accept(t));
    if (vocab.is_eog(t)) return text;
    text += step == 0 ? vocab.start_bytes(t) : vocab.bytes(t);
  }
  return std::nullopt;  // not finished: not a sample
}

TEST(SchemaCorpus, HasManySchemas) {
  EXPECT_GE(corpus().size(), 40u);
}

TEST(SchemaCorpus, RandomOutputsValidateWithJsonSchema) {
  constexpr int kSeeds = 4;
  std::string samples = "[";
  int n = 0, unfinished = 0;
  for (const std::string& file : corpus()) {
    SCOPED_TRACE(file);
    const auto grammar = json_schema_grammar(parley::testing::read_file(file));
    ASSERT_TRUE(grammar.ok()) << grammar.status().to_string();
    const auto compiled = compile_or_die(*grammar, "llama-bpe");
    for (int seed = 0; seed < kSeeds; ++seed) {
      const auto text = random_output(compiled, static_cast<std::uint32_t>(seed * 7919 + n));
      if (!text) {
        ++unfinished;
        continue;
      }
      ASSERT_TRUE(utf8_is_valid(*text)) << *text;
      samples += (n++ > 0 ? ",\n" : "\n") +
                 fmt::format(R"({{"schema": {}, "text": {}}})", json_quote(file), json_quote(*text));
    }
  }
  samples += "\n]\n";
  EXPECT_LE(unfinished * 10, n) << "too many walks did not finish";
  const std::string path =
      (fs::temp_directory_path() / fmt::format("parley_grammar_samples_{}.json", ::getpid())).string();
  std::ofstream(path) << samples;
  const std::string command =
      "python3 " + std::string(PARLEY_GRAMMAR_TEST_DIR) + "/validate_samples.py " + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << output;
  if (status == 0) fs::remove(path);
  std::printf("%d samples: %s", n, output.c_str());
}

TEST(SchemaCorpus, MasksEqualTheReferenceAlongAWalkOfEverySchema) {
  int i = 0;
  for (const std::string& file : corpus()) {
    SCOPED_TRACE(file);
    const auto grammar = json_schema_grammar(parley::testing::read_file(file));
    ASSERT_TRUE(grammar.ok());
    testing::compare_walk(compile_or_die(*grammar, "llama-spm"), static_cast<std::uint32_t>(i++), 25);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace parley
