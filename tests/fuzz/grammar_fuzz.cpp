// libFuzzer target for the grammar front ends and compiler (src/grammar): JSON Schema, regex,
// GBNF and choice lists are untrusted request text. The first byte picks the kind, the options and
// the vocabulary (llama-spm or deepseek-coder from $PARLEY_SHARED_DIR/vocab), the second seeds the
// walk; the rest is the text. Whatever the text: no crash; refusals are kInvalidArgument with a
// message; a grammar that compiles gives, for a few steps, the same mask in GrammarMatcher as in
// the plain ReferenceMatcher, never empty before the end, and every allowed token is accepted by
// both. Build and run it with scripts/fuzz --target grammar.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf_file.h"
#include "grammar/compiled_grammar.h"
#include "grammar/grammar_compiler.h"
#include "grammar/grammar_matcher.h"
#include "grammar/reference_matcher.h"
#include "grammar/token_vocabulary.h"
#include "tokenizer/tokenizer.h"

namespace {

void expect(bool cond, const char* what) {
  if (cond) return;
  std::fprintf(stderr, "grammar_fuzz: violated: %s\n", what);
  std::abort();
}

struct Vocab {
  std::unique_ptr<parley::GgufFile> file;
  std::unique_ptr<parley::Tokenizer> tokenizer;
  std::shared_ptr<const parley::TokenVocabulary> vocab;
};

std::vector<Vocab>& vocabs() {
  static std::vector<Vocab> v;
  return v;
}

parley::GrammarLimits limits() {
  parley::GrammarLimits l;
  l.max_source_bytes = 4096;
  l.max_schema_depth = 16;
  l.max_ref_depth = 8;
  l.max_exprs = 20'000;
  l.max_repeat = 64;
  l.max_nfa_states = 20'000;
  l.max_nodes = 4'000;
  l.max_mask_bytes = 32ll << 20;
  return l;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* env = std::getenv("PARLEY_SHARED_DIR");
  const std::string dir = std::string(env != nullptr && *env ? env : "../shared") + "/vocab/";
  for (const char* name : {"llama-spm", "deepseek-coder"}) {
    auto f = parley::GgufFile::open(dir + "ggml-vocab-" + name + ".gguf");
    if (!f.ok()) continue;
    auto t = parley::Tokenizer::from_gguf(**f);
    if (!t.ok()) continue;
    Vocab v;
    v.file = std::move(*f);
    v.tokenizer = std::move(*t);
    v.vocab = parley::TokenVocabulary::create(*v.tokenizer);
    vocabs().push_back(std::move(v));
  }
  if (vocabs().empty()) {
    std::fprintf(stderr, "grammar_fuzz: no vocabulary in %s (set PARLEY_SHARED_DIR)\n", dir.c_str());
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2 || size > 4096) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  parley::GrammarSpec spec;
  switch (mode & 3) {
    case 0:
      spec.kind = parley::GrammarKind::kJsonSchema;
      break;
    case 1:
      spec.kind = parley::GrammarKind::kRegex;
      break;
    case 2:
      spec.kind = parley::GrammarKind::kGbnf;
      break;
    default:
      spec.kind = parley::GrammarKind::kChoice;
      break;
  }
  if (spec.kind == parley::GrammarKind::kChoice) {
    std::size_t start = 0;
    while (start <= text.size() && spec.choices.size() < 16) {
      const std::size_t end = std::min(text.find('\0', start), text.size());
      spec.choices.emplace_back(text.substr(start, end - start));
      start = end + 1;
    }
  } else {
    spec.text = std::string(text);
  }
  spec.json.strict = (mode & 4) != 0;
  spec.json.whitespace = (mode & 8) != 0 ? parley::JsonWhitespace::kCompact : parley::JsonWhitespace::kFlexible;
  const parley::GrammarLimits l = limits();
  const auto grammar = parley::build_grammar(spec, l);
  if (!grammar.ok()) {
    expect(grammar.status().code() == parley::ErrorCode::kInvalidArgument && !grammar.status().message().empty(),
           "refusals are kInvalidArgument with a message");
    return 0;
  }
  const Vocab& v = vocabs()[(mode >> 4) % vocabs().size()];
  const auto compiled = parley::compile_grammar(*grammar, v.vocab, l, nullptr, parley::Classify::kOnDemand);
  if (!compiled.ok()) {
    expect(!compiled.status().message().empty(), "compile errors have a message");
    return 0;
  }
  const bool at_start = (mode & 0x40) != 0;
  parley::GrammarMatcher m(*compiled, at_start);
  parley::ReferenceMatcher r(*compiled, at_start);
  std::mt19937 rng(data[1]);
  parley::TokenMask mask;
  parley::TokenMask ref;
  for (int step = 0; step < 6 && !m.is_complete(); ++step) {
    m.fill_mask(mask);
    r.fill_mask(ref);
    expect(mask == ref, "the matcher's mask is the reference's");
    std::vector<parley::TokenId> allowed;
    mask.for_each([&](parley::TokenId t) { allowed.push_back(t); });
    if (allowed.empty()) return 0;  // a grammar too ambiguous at run time (max_stacks): the engine errors
    const parley::TokenId t = allowed[rng() % allowed.size()];
    expect(m.accept(t) && r.accept(t), "an allowed token is accepted");
  }
  return 0;
}
