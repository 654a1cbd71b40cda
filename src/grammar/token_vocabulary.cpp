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

// Plain characters of kind p (TokenVocabulary::Plain), or -1.
std::int8_t count_plain_chars(std::string_view b, int p) {
  if (b.empty() || !utf8_is_valid(b)) return -1;
  int chars = 0;
  for (const char c : b) {
    const auto u = static_cast<unsigned char>(c);
    if (u == '"' || u == '\\' || u < 0x20) return -1;
    if (p == TokenVocabulary::kBmp && u >= 0xF0) return -1;  // a 4-byte character
    if ((u & 0xC0) != 0x80) ++chars;
  }
  return static_cast<std::int8_t>(std::min(chars, 127));
}

}  // namespace

VocabTrie VocabTrie::build(std::vector<std::pair<std::string_view, TokenId>> entries,
                           std::array<std::span<const std::int8_t>, 2> plain_chars) {
  std::sort(entries.begin(), entries.end());
  VocabTrie t;
  auto& nodes = t.nodes_;
  nodes.emplace_back();  // the root
  nodes[0].depth = 0;
  std::vector<std::vector<TokenId>> node_tokens(1);
  std::vector<std::uint32_t> parent(1, 0);
  std::vector<std::uint32_t> path = {0};  // path[d]: the node at depth d on the current branch
  std::string_view prev;
  for (const auto& [bytes, id] : entries) {
    std::size_t lcp = 0;
    while (lcp < prev.size() && lcp < bytes.size() && prev[lcp] == bytes[lcp]) ++lcp;
    while (path.size() > lcp + 1) {
      nodes[path.back()].end = static_cast<std::uint32_t>(nodes.size());
      path.pop_back();
    }
    for (std::size_t d = lcp; d < bytes.size(); ++d) {
      parent.push_back(path.back());
      path.push_back(static_cast<std::uint32_t>(nodes.size()));
      Node n;
      n.byte = static_cast<std::uint8_t>(bytes[d]);
      n.depth = static_cast<std::uint16_t>(d + 1);
      nodes.push_back(n);
      node_tokens.emplace_back();
    }
    node_tokens[path.back()].push_back(id);
    prev = bytes;
  }
  while (!path.empty()) {
    nodes[path.back()].end = static_cast<std::uint32_t>(nodes.size());
    path.pop_back();
  }
  const std::size_t n = nodes.size();
  for (std::size_t i = 0; i < n; ++i) {
    nodes[i].tokens = static_cast<std::uint32_t>(t.tokens_.size());
    t.tokens_.insert(t.tokens_.end(), node_tokens[i].begin(), node_tokens[i].end());
  }
  Node last;
  last.tokens = static_cast<std::uint32_t>(t.tokens_.size());
  for (std::uint32_t i = 1; i < n; i = nodes[i].end) t.root_children_[nodes[i].byte] = i;
  // Bottom-up (children come after their parent): the bytes below, the longest length below,
  // and the longest plain token of each subtree.
  std::vector<ByteSet> below(n);
  std::array<std::vector<std::uint8_t>, 2> plain = {std::vector<std::uint8_t>(n, 0), std::vector<std::uint8_t>(n, 0)};
  for (std::size_t i = n; i-- > 1;) {
    const std::uint32_t p = parent[i];
    for (int k = 0; k < 2; ++k) {
      for (const TokenId id : node_tokens[i]) {
        const int c = plain_chars[k].empty() ? -1 : plain_chars[k][static_cast<std::size_t>(id)];
        plain[k][i] = c < 0 ? kNotPlain : std::max(plain[k][i], static_cast<std::uint8_t>(c));
      }
      plain[k][p] = plain[k][i] == kNotPlain ? kNotPlain : std::max(plain[k][p], plain[k][i]);
    }
    below[p] |= below[i];
    below[p].set(nodes[i].byte);
    nodes[p].below_length =
        std::max(nodes[p].below_length, static_cast<std::uint8_t>(std::min(255, nodes[i].below_length + 1)));
  }
  for (std::size_t i = 0; i < n; ++i) {
    nodes[i].plain[0] = plain[0][i];
    nodes[i].plain[1] = plain[1][i];
    if (nodes[i].end - i - 1 >= kBelowBytesMin) {
      t.below_bytes_.push_back(below[i]);
      nodes[i].below_set = static_cast<std::uint32_t>(t.below_bytes_.size());
    }
  }
  // Top-down: the characters of each path, when they are whole plain characters.
  nodes[0].prefix[0] = nodes[0].prefix[1] = 0;
  std::string text;
  for (std::size_t i = 1; i < n; ++i) {
    text.resize(nodes[i].depth - 1u);
    text += static_cast<char>(nodes[i].byte);
    for (int k = 0; k < 2; ++k) {
      const std::int8_t c = count_plain_chars(text, k);
      nodes[i].prefix[k] = c < 0 ? kNotPlain : static_cast<std::uint8_t>(c);
    }
  }
  nodes.push_back(last);
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

  for (auto& pc : v->plain_chars_) pc.resize(static_cast<std::size_t>(v->n_tokens_));
  std::vector<std::pair<std::string_view, TokenId>> entries, start_entries;
  for (TokenId id = 0; id < v->n_tokens_; ++id) {
    const std::string_view b = v->bytes(id);
    for (int k = 0; k < 2; ++k) v->plain_chars_[k][static_cast<std::size_t>(id)] = count_plain_chars(b, k);
    if (!b.empty()) entries.emplace_back(b, id);
    const std::string_view s = v->start_bytes(id);
    if (!s.empty()) start_entries.emplace_back(s, id);
  }
  for (int k = 0; k < 2; ++k) {
    for (const int level : kSliceLevels) {
      TokenMask m(v->n_tokens_);
      for (TokenId id = 0; id < v->n_tokens_; ++id) {
        const int c = v->plain_chars_[k][static_cast<std::size_t>(id)];
        if (c >= 0 && c <= level) m.set(id);
      }
      v->slices_[k].push_back(std::move(m));
    }
  }
  v->trie_ = VocabTrie::build(std::move(entries), {v->plain_chars_[0], v->plain_chars_[1]});
  if (v->strips_leading_space_) v->start_trie_ = VocabTrie::build(std::move(start_entries), {});
  return v;
}

bool TokenVocabulary::is_eog(TokenId id) const {
  return std::binary_search(eog_.begin(), eog_.end(), id);
}

}  // namespace parley
