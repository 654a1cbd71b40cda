#include "grammar/token_vocabulary.h"

#include <algorithm>

#include "base/utf8.h"
#include "grammar/grammar.h"

namespace parley {
namespace {

constexpr std::uint8_t kNotPlain = 255;

std::uint64_t fnv(std::uint64_t h, std::string_view s) {
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::int8_t count_plain_chars(std::string_view b) {
  if (b.empty() || !utf8_is_valid(b)) return -1;
  int chars = 0;
  for (const char c : b) {
    const auto u = static_cast<unsigned char>(c);
    if (u == '"' || u == '\\' || u < 0x20) return -1;
    if ((u & 0xC0) != 0x80) ++chars;
  }
  return static_cast<std::int8_t>(std::min(chars, 127));
}

}  // namespace

VocabTrie VocabTrie::build(std::vector<std::pair<std::string_view, TokenId>> entries,
                           std::span<const std::int8_t> plain_chars) {
  std::sort(entries.begin(), entries.end());
  VocabTrie t;
  t.bytes_.push_back(0);
  t.depths_.push_back(0);
  t.ends_.push_back(0);
  std::vector<std::vector<TokenId>> node_tokens(1);
  std::vector<std::uint32_t> path = {0};  // path[d]: the node at depth d on the current branch
  std::string_view prev;
  for (const auto& [bytes, id] : entries) {
    std::size_t lcp = 0;
    while (lcp < prev.size() && lcp < bytes.size() && prev[lcp] == bytes[lcp]) ++lcp;
    while (path.size() > lcp + 1) {
      t.ends_[path.back()] = static_cast<std::uint32_t>(t.bytes_.size());
      path.pop_back();
    }
    for (std::size_t d = lcp; d < bytes.size(); ++d) {
      path.push_back(static_cast<std::uint32_t>(t.bytes_.size()));
      t.bytes_.push_back(static_cast<std::uint8_t>(bytes[d]));
      t.depths_.push_back(static_cast<std::uint16_t>(d + 1));
      t.ends_.push_back(0);
      node_tokens.emplace_back();
    }
    node_tokens[path.back()].push_back(id);
    prev = bytes;
  }
  while (!path.empty()) {
    t.ends_[path.back()] = static_cast<std::uint32_t>(t.bytes_.size());
    path.pop_back();
  }
  t.token_offsets_.reserve(node_tokens.size() + 1);
  for (const auto& v : node_tokens) {
    t.token_offsets_.push_back(static_cast<std::uint32_t>(t.tokens_.size()));
    t.tokens_.insert(t.tokens_.end(), v.begin(), v.end());
  }
  t.token_offsets_.push_back(static_cast<std::uint32_t>(t.tokens_.size()));
  for (std::uint32_t i = 1; i < t.bytes_.size(); i = t.ends_[i]) t.root_children_[t.bytes_[i]] = i;
  // Per node, the longest plain token of its subtree (children come after their parent).
  t.plain_chars_.assign(t.bytes_.size(), kNotPlain);
  for (std::size_t i = t.bytes_.size(); i-- > 1;) {
    std::uint8_t v = 0;
    for (const TokenId id : t.tokens(i)) {
      const int c = plain_chars.empty() ? -1 : plain_chars[static_cast<std::size_t>(id)];
      v = c < 0 ? kNotPlain : std::max(v, static_cast<std::uint8_t>(c));
    }
    for (std::size_t j = i + 1; j < t.ends_[i] && v != kNotPlain; j = t.ends_[j]) v = std::max(v, t.plain_chars_[j]);
    t.plain_chars_[i] = v;
  }
  return t;
}

std::shared_ptr<const TokenVocabulary> TokenVocabulary::create(const Tokenizer& tokenizer) {
  std::shared_ptr<TokenVocabulary> v(new TokenVocabulary());
  const Vocab& vocab = tokenizer.vocab();
  v->n_tokens_ = vocab.size();
  v->strips_leading_space_ = tokenizer.strips_leading_space();
  v->eog_ = vocab.eog;
  std::sort(v->eog_.begin(), v->eog_.end());
  v->eog_.erase(std::unique(v->eog_.begin(), v->eog_.end()), v->eog_.end());
  v->offsets_.reserve(static_cast<std::size_t>(v->n_tokens_) + 1);
  std::uint64_t h = 1469598103934665603ull;
  for (TokenId id = 0; id < v->n_tokens_; ++id) {
    v->offsets_.push_back(static_cast<std::uint32_t>(v->buffer_.size()));
    std::string bytes;
    switch (vocab.types[static_cast<std::size_t>(id)]) {
      case TokenType::kControl:
        if (id < kSpecialTokenIdLimit) {
          bytes = {static_cast<char>(kSpecialTokenByte), static_cast<char>(id >> 16),
                   static_cast<char>((id >> 8) & 0xFF), static_cast<char>(id & 0xFF)};
        }
        break;
      case TokenType::kNormal:
      case TokenType::kByte:
      case TokenType::kUserDefined:
        bytes = tokenizer.token_piece(id);
        if (bytes.find(static_cast<char>(kSpecialTokenByte)) != std::string::npos) bytes.clear();
        break;
      default:
        break;
    }
    if (v->is_eog(id)) bytes.clear();
    v->buffer_ += bytes;
    h = fnv(h, bytes);
    h = fnv(h, std::string_view("\0", 1));
  }
  v->offsets_.push_back(static_cast<std::uint32_t>(v->buffer_.size()));
  for (const TokenId id : v->eog_) h = fnv(h, std::to_string(id));
  h = fnv(h, v->strips_leading_space_ ? "strip" : "keep");
  v->fingerprint_ = h;

  v->plain_chars_.resize(static_cast<std::size_t>(v->n_tokens_));
  std::vector<std::pair<std::string_view, TokenId>> entries, start_entries;
  for (TokenId id = 0; id < v->n_tokens_; ++id) {
    const std::string_view b = v->bytes(id);
    v->plain_chars_[static_cast<std::size_t>(id)] = count_plain_chars(b);
    if (!b.empty()) entries.emplace_back(b, id);
    const std::string_view s = v->start_bytes(id);
    if (!s.empty()) start_entries.emplace_back(s, id);
  }
  for (const int level : kSliceLevels) {
    TokenMask m(v->n_tokens_);
    for (TokenId id = 0; id < v->n_tokens_; ++id) {
      const int c = v->plain_chars_[static_cast<std::size_t>(id)];
      if (c >= 0 && c <= level) m.set(id);
    }
    v->slices_.push_back(std::move(m));
  }
  v->trie_ = VocabTrie::build(std::move(entries), v->plain_chars_);
  if (v->strips_leading_space_) v->start_trie_ = VocabTrie::build(std::move(start_entries), {});
  return v;
}

bool TokenVocabulary::is_eog(TokenId id) const {
  return std::binary_search(eog_.begin(), eog_.end(), id);
}

}  // namespace parley
