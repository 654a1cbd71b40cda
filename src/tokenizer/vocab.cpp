#include "tokenizer/vocab.h"

#include <algorithm>
#include <cctype>

#include "gguf/gguf_file.h"

namespace parley {
namespace {

// Texts of tokens that end a turn in popular chat formats; a control token with one of these
// texts stops generation even when the file names only one EOS.
constexpr std::string_view kEndOfGenerationTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>",
    "</s>", "<|end▁of▁sentence|>", "<｜end▁of▁sentence｜>", "<|return|>", "<|call|>", "_<EOT>",
};

Status read_token_id(const GgufFile& file, std::string_view key, std::int32_t n_tokens, TokenId* out) {
  if (!file.contains(key)) return ok_status();
  ASSIGN_OR_RETURN(const std::int64_t id, file.get<std::int64_t>(key));
  if (id < 0 || id >= n_tokens) {
    return invalid_argument_error("{} = {} is out of range for a vocabulary of {} tokens", key, id, n_tokens);
  }
  *out = static_cast<TokenId>(id);
  return ok_status();
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Model-specific defaults and attributes that the file format does not carry.
void apply_model_rules(Vocab& v) {
  if (v.kind == VocabKind::kBpe &&
      (v.pre == "llama-bpe" || v.pre == "llama3" || v.pre == "llama-v3" || v.pre == "falcon3" || v.pre == "pixtral")) {
    v.ignore_merges = true;  // Llama 3's tokenizer.json sets ignore_merges
  }
  const std::string name = to_lower(v.name);
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    // Phi-3's added tokens strip the whitespace that follows them.
    for (TokenId id = 0; id < v.size(); ++id) {
      if (v.is_special(id)) v.attrs[static_cast<std::size_t>(id)] |= kAttrRstrip;
    }
    for (const std::string_view t : {"<unk>", "<s>", "<|endoftext|>"}) {
      if (const TokenId id = v.find(t); id != kNoToken) v.attrs[static_cast<std::size_t>(id)] &= ~kAttrRstrip;
    }
    if (const TokenId id = v.find("</s>"); id != kNoToken) v.attrs[static_cast<std::size_t>(id)] |= kAttrRstrip;
  }
}

}  // namespace

int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || !text.starts_with("<0x") || text.back() != '>') return -1;
  int value = 0;
  for (const char c : text.substr(3, 2)) {
    value <<= 4;
    if (c >= '0' && c <= '9') value |= c - '0';
    else if (c >= 'A' && c <= 'F') value |= c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') value |= c - 'a' + 10;
    else return -1;
  }
  return value;
}

bool Vocab::is_eog(TokenId id) const { return std::find(eog.begin(), eog.end(), id) != eog.end(); }

Result<std::unique_ptr<Vocab>> load_vocab(const GgufFile& file) {
  auto v = std::make_unique<Vocab>();
  ASSIGN_OR_RETURN(v->model, file.get<std::string>(kKeyTokenizerModel));
  if (v->model == "llama") {
    v->kind = VocabKind::kSpm;
  } else if (v->model == "gpt2") {
    v->kind = VocabKind::kBpe;
  } else if (v->model == "bert" || v->model == "t5" || v->model == "rwkv" || v->model == "plamo2") {
    return unimplemented_error("tokenizer model '{}' is not supported yet (supported: llama, gpt2)", v->model);
  } else if (v->model == "no_vocab" || v->model == "none") {
    return failed_precondition_error("this model file has no vocabulary (tokenizer.ggml.model = '{}')", v->model);
  } else {
    return invalid_argument_error("unknown tokenizer.ggml.model '{}'", v->model);
  }
  ASSIGN_OR_RETURN(v->pre, file.get<std::string>(kKeyTokenizerPre, std::string("default")));
  ASSIGN_OR_RETURN(v->name, file.get<std::string>(kKeyGeneralName, std::string()));

  ASSIGN_OR_RETURN(const GgufArray* tokens, file.get_array(kKeyTokenizerTokens, GgufValueType::kString));
  if (tokens->count == 0) return invalid_argument_error("{} is empty", kKeyTokenizerTokens);
  if (tokens->count > (1u << 24)) return invalid_argument_error("{} has {} tokens (limit 16M)", kKeyTokenizerTokens, tokens->count);
  v->tokens = tokens->strings;
  const auto n = static_cast<std::int32_t>(v->tokens.size());

  v->scores.assign(static_cast<std::size_t>(n), 0.0f);
  if (file.contains(kKeyTokenizerScores)) {
    ASSIGN_OR_RETURN(const GgufArray* scores, file.get_array(kKeyTokenizerScores));
    if (scores->count != tokens->count) {
      return invalid_argument_error("{} has {} entries for {} tokens", kKeyTokenizerScores, scores->count, n);
    }
    ASSIGN_OR_RETURN(v->scores, scores->to_f32());
  }
  v->types.assign(static_cast<std::size_t>(n), TokenType::kNormal);
  if (file.contains(kKeyTokenizerTokenType)) {
    ASSIGN_OR_RETURN(const GgufArray* types, file.get_array(kKeyTokenizerTokenType));
    if (types->count != tokens->count) {
      return invalid_argument_error("{} has {} entries for {} tokens", kKeyTokenizerTokenType, types->count, n);
    }
    ASSIGN_OR_RETURN(const std::vector<std::int32_t> raw, types->to_i32());
    for (std::int32_t i = 0; i < n; ++i) {
      const std::int32_t t = raw[static_cast<std::size_t>(i)];
      if (t < 0 || t > 6) return invalid_argument_error("{}[{}] = {} is not a token type", kKeyTokenizerTokenType, i, t);
      v->types[static_cast<std::size_t>(i)] = static_cast<TokenType>(t);
    }
  }
  v->attrs.assign(static_cast<std::size_t>(n), 0);

  if (v->kind == VocabKind::kBpe) {
    ASSIGN_OR_RETURN(const GgufArray* merges, file.get_array(kKeyTokenizerMerges, GgufValueType::kString));
    v->merges.reserve(merges->count);
    for (std::size_t i = 0; i < merges->strings.size(); ++i) {
      const std::string& m = merges->strings[i];
      // The separator is the first space after the first byte (a part may itself start with one).
      const std::size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
      if (sp == std::string::npos) return invalid_argument_error("{}[{}] = '{}' has no separating space", kKeyTokenizerMerges, i, m);
      v->merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
    }
  }

  for (std::int32_t i = 0; i < n; ++i) v->index[v->tokens[static_cast<std::size_t>(i)]] = i;

  // Defaults per family, then what the file says.
  if (v->kind == VocabKind::kSpm) {
    v->bos = v->valid(1) ? 1 : kNoToken;
    v->eos = v->valid(2) ? 2 : kNoToken;
    v->unk = 0;
    v->add_bos = true;
    v->add_space_prefix = true;
  } else {
    v->add_bos = v->pre == "llama-bpe" || v->pre == "llama3" || v->pre == "llama-v3";
  }
  RETURN_IF_ERROR(read_token_id(file, kKeyTokenizerBos, n, &v->bos));
  RETURN_IF_ERROR(read_token_id(file, kKeyTokenizerEos, n, &v->eos));
  RETURN_IF_ERROR(read_token_id(file, kKeyTokenizerEot, n, &v->eot));
  RETURN_IF_ERROR(read_token_id(file, kKeyTokenizerEom, n, &v->eom));
  RETURN_IF_ERROR(read_token_id(file, kKeyTokenizerUnk, n, &v->unk));
  RETURN_IF_ERROR(read_token_id(file, kKeyTokenizerPad, n, &v->pad));
  RETURN_IF_ERROR(read_token_id(file, kKeyTokenizerSep, n, &v->sep));
  ASSIGN_OR_RETURN(v->add_bos, file.get<bool>(kKeyTokenizerAddBos, v->add_bos));
  ASSIGN_OR_RETURN(v->add_eos, file.get<bool>(kKeyTokenizerAddEos, v->add_eos));
  ASSIGN_OR_RETURN(v->add_space_prefix, file.get<bool>(kKeyTokenizerAddSpacePrefix, v->add_space_prefix));
  if (v->add_bos && v->bos == kNoToken) return invalid_argument_error("the tokenizer adds BOS but names no BOS token");
  ASSIGN_OR_RETURN(v->chat_template, file.get<std::string>(kKeyTokenizerChatTemplate, std::string()));

  for (const TokenId id : {v->eos, v->eot, v->eom}) {
    if (id != kNoToken && !v->is_eog(id)) v->eog.push_back(id);
  }
  for (const std::string_view text : kEndOfGenerationTexts) {
    const TokenId id = v->find(text);
    if (id != kNoToken && v->types[static_cast<std::size_t>(id)] == TokenType::kControl && !v->is_eog(id)) {
      v->eog.push_back(id);
    }
  }
  apply_model_rules(*v);
  return v;
}

}  // namespace parley
