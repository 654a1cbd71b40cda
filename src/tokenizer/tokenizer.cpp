#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <limits>

#include "base/utf8.h"
#include "gguf/gguf_file.h"
#include "tokenizer/byte_encoding.h"
#include "tokenizer/encoders.h"

namespace parley {
namespace {

// Unicode White_Space (Rust's char::is_whitespace): what Hugging Face's added tokens with lstrip or
// rstrip swallow next to them, no-break and ideographic spaces included.
bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// The end of the whitespace that starts at s[pos].
std::size_t skip_space_forward(std::string_view s, std::size_t pos) {
  while (pos < s.size()) {
    std::size_t next = pos;
    if (!is_white_space(utf8_decode(s, &next))) break;
    pos = next;
  }
  return pos;
}

// The start of the whitespace that ends at s[end] (not before `floor`).
std::size_t skip_space_backward(std::string_view s, std::size_t floor, std::size_t end) {
  while (end > floor) {
    std::size_t start = end - 1;  // back to the lead byte of the last character (at most 3 more)
    while (start > floor && end - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    std::size_t next = start;
    if (!is_white_space(utf8_decode(s, &next)) || next != end) break;
    end = start;
  }
  return end;
}

constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();

// Below this many special tokens to look for, one search per token beats a trie scan.
constexpr std::size_t kTrieScanMinTokens = 8;

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Vocab> vocab) : vocab_(std::move(vocab)) {
  for (TokenId id = 0; id < vocab_->size(); ++id) {
    if (vocab_->is_special(id) && !vocab_->tokens[static_cast<std::size_t>(id)].empty())
      special_by_length_.push_back(id);
  }
  std::stable_sort(special_by_length_.begin(), special_by_length_.end(), [this](TokenId a, TokenId b) {
    return vocab_->tokens[static_cast<std::size_t>(a)].size() > vocab_->tokens[static_cast<std::size_t>(b)].size();
  });
  for (const TokenId id : special_by_length_) special_trie_.insert(vocab_->tokens[static_cast<std::size_t>(id)], id);
  control_texts_ = std::make_unique<ControlTexts>(*vocab_);
  // Every byte of a text is consumed by exactly one token (special tokens as their text, byte
  // tokens and unknown ones by at most one character), so a text of B bytes has at least
  // B / max_token_bytes_ tokens.
  for (TokenId id = 0; id < vocab_->size(); ++id)
    max_token_bytes_ = std::max(max_token_bytes_, token_piece(id, true).size());
  if (vocab_->kind == VocabKind::kBpe && vocab_->unk == kNoToken) {
    for (int b = 0; b < 256 && !drops_bytes_; ++b)
      drops_bytes_ = vocab_->find(ByteEncoding::get().encode_byte(static_cast<std::uint8_t>(b))) == kNoToken;
  }
}

Tokenizer::~Tokenizer() = default;

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_gguf(const GgufFile& file) {
  ASSIGN_OR_RETURN(std::unique_ptr<Vocab> vocab, load_vocab(file));
  return from_vocab(std::move(vocab));
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_vocab(std::unique_ptr<Vocab> vocab) {
  if (vocab->kind == VocabKind::kSpm) return make_spm_tokenizer(std::move(vocab));
  return make_bpe_tokenizer(std::move(vocab));
}

// Splits the text on special-token occurrences, longest token first: each token's occurrences
// are cut out of the raw fragments that remain (Hugging Face's added-token pass).
std::vector<Tokenizer::Fragment> Tokenizer::partition(std::string_view text, bool parse_special) const {
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back({0, text.size(), kNoToken});
  // With many special tokens (Llama 3 has 256), first find the few that occur at all in one pass;
  // a token that does not occur in the text occurs in none of its fragments.
  std::vector<TokenId> present;
  const bool scan = special_by_length_.size() >= kTrieScanMinTokens;
  if (scan) {
    for (std::size_t pos = 0; pos < text.size(); ++pos) {
      if (!special_trie_.may_start_with(static_cast<unsigned char>(text[pos]))) continue;
      special_trie_.for_each_match(text, pos, [&](TokenId id, std::size_t) { present.push_back(id); });
    }
    std::sort(present.begin(), present.end());
    present.erase(std::unique(present.begin(), present.end()), present.end());
  }
  std::vector<Fragment> next;
  for (const TokenId id : special_by_length_) {
    const TokenType type = vocab_->types[static_cast<std::size_t>(id)];
    if (!parse_special && type != TokenType::kUserDefined) continue;
    if (scan && !std::binary_search(present.begin(), present.end(), id)) continue;
    const std::string& tok = vocab_->tokens[static_cast<std::size_t>(id)];
    const std::uint8_t attr = vocab_->attrs[static_cast<std::size_t>(id)];
    bool found = false;
    next.clear();
    for (const Fragment& f : frags) {
      if (f.token != kNoToken) {
        next.push_back(f);
        continue;
      }
      const std::string_view raw = text.substr(f.begin, f.length);
      std::size_t start = 0;
      for (std::size_t pos = raw.find(tok); pos != std::string_view::npos; pos = raw.find(tok, start)) {
        found = true;
        std::size_t left_end = pos;
        if (attr & kAttrLstrip) left_end = skip_space_backward(raw, start, left_end);
        if (left_end > start) next.push_back({f.begin + start, left_end - start, kNoToken});
        next.push_back({f.begin + pos, tok.size(), id});
        start = pos + tok.size();
        if (attr & kAttrRstrip) start = skip_space_forward(raw, start);
      }
      if (start < raw.size()) next.push_back({f.begin + start, raw.size() - start, kNoToken});
    }
    if (found) frags.swap(next);
  }
  return frags;
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 4);
  encode_into(text, options, kNoLimit, &out);
  return out;
}

std::optional<std::vector<TokenId>> Tokenizer::encode_at_most(std::string_view text, std::size_t max_tokens,
                                                              const EncodeOptions& options) const {
  const ContentMask* mask = options.parse_special ? options.content_mask : nullptr;
  const std::size_t bytes = mask != nullptr && mask->masked_any() ? mask->unmasked_size(text) : text.size();
  // The cheap bound, before the special-token pass over the text.
  if (bytes / max_token_bytes_ + (bytes % max_token_bytes_ != 0 ? 1 : 0) > max_tokens) return std::nullopt;
  std::vector<TokenId> out;
  out.reserve(std::min(text.size() / 3 + 4, max_tokens + 2));
  if (!encode_into(text, options, max_tokens, &out)) return std::nullopt;
  return out;
}

bool Tokenizer::encode_raw(std::string_view raw, bool starts_text, std::size_t out_max,
                           std::vector<TokenId>* out) const {
  // The work stays bounded without this check too: encode_at_most() refused texts over its byte
  // bound, and encode_fragment() stops after the word that passes out_max.
  if (out_max != kNoLimit && !drops_bytes_) {
    const std::size_t tokens_min = (raw.size() + max_token_bytes_ - 1) / max_token_bytes_;
    if (out->size() + tokens_min > out_max) return false;
  }
  encode_fragment(raw, starts_text, out_max, out);
  return out->size() <= out_max;
}

bool Tokenizer::encode_into(std::string_view text, const EncodeOptions& options, std::size_t out_max,
                            std::vector<TokenId>* out) const {
  if (options.add_special && vocab_->add_bos && vocab_->bos != kNoToken) out->push_back(vocab_->bos);
  const ContentMask* mask =
      options.parse_special && options.content_mask != nullptr && options.content_mask->masked_any()
          ? options.content_mask
          : nullptr;
  std::string plain;
  bool starts_text = true;
  for (const Fragment& f : partition(text, options.parse_special)) {
    if (f.token != kNoToken) {
      out->push_back(f.token);
      starts_text = true;
    } else {
      const std::string_view raw = text.substr(f.begin, f.length);
      if (mask != nullptr && mask->has_placeholder(raw)) {
        // Untrusted text: unmasked, it is plain text in which only user-defined tokens match.
        plain.clear();
        mask->unmask(raw, &plain);
        bool starts = starts_text;
        for (const Fragment& g : partition(plain, false)) {
          if (g.token != kNoToken) {
            out->push_back(g.token);
            starts = true;
          } else {
            if (!encode_raw(std::string_view(plain).substr(g.begin, g.length), starts, out_max, out)) return false;
            starts = false;
          }
        }
      } else if (!encode_raw(raw, starts_text, out_max, out)) {
        return false;
      }
      starts_text = false;
    }
    if (out->size() > out_max) return false;
  }
  if (options.add_special && vocab_->add_eos && vocab_->eos != kNoToken) out->push_back(vocab_->eos);
  return out->size() <= out_max;
}

std::string_view Tokenizer::token_text(TokenId id) const {
  return vocab_->valid(id) ? std::string_view(vocab_->tokens[static_cast<std::size_t>(id)]) : std::string_view();
}

std::string Tokenizer::token_piece(TokenId id, bool render_special) const {
  if (!vocab_->valid(id)) return {};
  const std::string& text = vocab_->tokens[static_cast<std::size_t>(id)];
  switch (vocab_->types[static_cast<std::size_t>(id)]) {
    case TokenType::kControl:
    case TokenType::kUnknown:
      return render_special ? text : std::string();
    case TokenType::kUserDefined:
      return text;
    case TokenType::kNormal:
      break;
    case TokenType::kByte:
      if (vocab_->kind == VocabKind::kSpm) {
        const int b = parse_byte_token(text);
        return b < 0 ? std::string() : std::string(1, static_cast<char>(b));
      }
      break;
    case TokenType::kUndefined:
    case TokenType::kUnused:
      return {};
  }
  std::string out;
  if (vocab_->kind == VocabKind::kSpm) {
    // "▁" (U+2581) stands for a space.
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
      if (text.compare(i, 3, "\xE2\x96\x81") == 0) {
        out += ' ';
        i += 3;
      } else {
        out += text[i++];
      }
    }
  } else {
    ByteEncoding::get().decode(text, &out);
  }
  return out;
}

std::string Tokenizer::decode(std::span<const TokenId> ids, const DecodeOptions& options) const {
  std::string out;
  bool at_start = true;
  for (const TokenId id : ids) {
    std::string piece = token_piece(id, options.render_special);
    if (at_start && !piece.empty()) {
      if (strips_leading_space() && piece[0] == ' ') piece.erase(0, 1);
      at_start = false;
    }
    out += piece;
  }
  // Byte-wise: an ASCII byte is that character or part of invalid UTF-8, and either way not text.
  if (options.drop_controls)
    std::erase_if(out, [](char c) { return is_dropped_control(static_cast<unsigned char>(c)); });
  return out;
}

}  // namespace parley
