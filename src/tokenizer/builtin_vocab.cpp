#include "tokenizer/builtin_vocab.h"

#include <algorithm>

#include "tokenizer/bpe_trainer.h"
#include "tokenizer/byte_encoding.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/vocab.h"

namespace parley {

Result<std::vector<std::pair<std::string, GgufValue>>> builtin_vocab_metadata(std::string_view name) {
  if (name != "bytes") return not_found_error("unknown built-in vocabulary 'builtin:{}' (known: builtin:bytes)", name);
  constexpr std::string_view kPre = "qwen2";
  const std::vector<std::string> specials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  const int n_merges = kBuiltinBytesVocabSize - 256 - static_cast<int>(specials.size());

  ASSIGN_OR_RETURN(std::unique_ptr<PreTokenizer> pre, PreTokenizer::for_name(kPre));
  const std::vector<BpeMerge> merges = train_bpe_merges(kBuiltinCorpus, *pre, n_merges);
  if (static_cast<int>(merges.size()) != n_merges) {
    return internal_error("the built-in corpus yields {} merges, {} are needed", merges.size(), n_merges);
  }

  std::vector<std::string> tokens;
  std::vector<std::int32_t> types;
  std::vector<std::string> merge_texts;
  const ByteEncoding& enc = ByteEncoding::get();
  for (int b = 0; b < 256; ++b) {
    tokens.emplace_back(enc.encode_byte(static_cast<std::uint8_t>(b)));
    types.push_back(static_cast<std::int32_t>(TokenType::kNormal));
  }
  for (const BpeMerge& m : merges) {
    tokens.push_back(m.left + m.right);
    types.push_back(static_cast<std::int32_t>(TokenType::kNormal));
    merge_texts.push_back(m.left + " " + m.right);
  }
  const auto first_special = static_cast<std::uint32_t>(tokens.size());
  for (const auto& s : specials) {
    tokens.push_back(s);
    types.push_back(static_cast<std::int32_t>(TokenType::kControl));
  }

  std::vector<std::pair<std::string, GgufValue>> md;
  md.emplace_back(std::string(kKeyTokenizerModel), GgufValue::string("gpt2"));
  md.emplace_back(std::string(kKeyTokenizerPre), GgufValue::string(std::string(kPre)));
  md.emplace_back(std::string(kKeyTokenizerTokens), GgufValue::string_array(std::move(tokens)));
  md.emplace_back(std::string(kKeyTokenizerTokenType), GgufValue::i32_array(types));
  md.emplace_back(std::string(kKeyTokenizerMerges), GgufValue::string_array(std::move(merge_texts)));
  md.emplace_back(std::string(kKeyTokenizerBos), GgufValue::u32(first_special));      // <|endoftext|>
  md.emplace_back(std::string(kKeyTokenizerEos), GgufValue::u32(first_special + 2));  // <|im_end|>
  md.emplace_back(std::string(kKeyTokenizerPad), GgufValue::u32(first_special));
  md.emplace_back(std::string(kKeyTokenizerAddBos), GgufValue::boolean(false));
  md.emplace_back(std::string(kKeyTokenizerChatTemplate), GgufValue::string(std::string(kChatMlTemplate)));
  return md;
}

namespace {

GgufValue* find_entry(std::vector<std::pair<std::string, GgufValue>>& metadata, std::string_view key) {
  for (auto& [k, v] : metadata) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace

Status add_vocab_tokens(std::vector<std::pair<std::string, GgufValue>>& metadata, const std::vector<std::string>& texts,
                        std::int32_t type) {
  GgufValue* tokens = find_entry(metadata, kKeyTokenizerTokens);
  if (tokens == nullptr || tokens->type() != GgufValueType::kArray ||
      tokens->arr().elem_type != GgufValueType::kString) {
    return invalid_argument_error("the vocabulary has no token list ({})", kKeyTokenizerTokens);
  }
  std::vector<std::string> list = tokens->arr().strings;
  for (const std::string& text : texts) {
    if (text.empty()) return invalid_argument_error("an added token cannot be empty");
    if (std::find(list.begin(), list.end(), text) != list.end()) {
      return invalid_argument_error("the vocabulary already has the token '{}'", text);
    }
    list.push_back(text);
  }
  const std::size_t n_old = tokens->arr().strings.size();
  if (GgufValue* types = find_entry(metadata, kKeyTokenizerTokenType)) {
    ASSIGN_OR_RETURN(std::vector<std::int32_t> t, types->arr().to_i32());
    if (t.size() != n_old)
      return invalid_argument_error("{} and {} differ in length", kKeyTokenizerTokens, kKeyTokenizerTokenType);
    t.resize(list.size(), type);
    *types = GgufValue::i32_array(t);
  }
  if (GgufValue* scores = find_entry(metadata, kKeyTokenizerScores)) {
    ASSIGN_OR_RETURN(std::vector<float> f, scores->arr().to_f32());
    if (f.size() != n_old)
      return invalid_argument_error("{} and {} differ in length", kKeyTokenizerTokens, kKeyTokenizerScores);
    f.resize(list.size(), 0.0f);
    *scores = GgufValue::f32_array(f);
  }
  *tokens = GgufValue::string_array(std::move(list));
  return ok_status();
}

}  // namespace parley
