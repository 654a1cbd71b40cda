#include "tokenizer/token_trie.h"

#include <algorithm>

namespace parley {

std::int32_t TokenTrie::child(std::int32_t node, unsigned char b) const {
  if (node < 0) return root_[b];
  const auto& children = nodes_[static_cast<std::size_t>(node)].children;
  const auto it =
      std::lower_bound(children.begin(), children.end(), b,
                       [](const std::pair<unsigned char, std::int32_t>& c, unsigned char v) { return c.first < v; });
  return it != children.end() && it->first == b ? it->second : -1;
}

void TokenTrie::insert(std::string_view text, TokenId id) {
  if (text.empty()) return;
  std::int32_t node = -1;
  for (const char ch : text) {
    const auto b = static_cast<unsigned char>(ch);
    std::int32_t next = child(node, b);
    if (next < 0) {
      next = static_cast<std::int32_t>(nodes_.size());
      nodes_.emplace_back();
      if (node < 0) {
        root_[b] = next;
      } else {
        auto& children = nodes_[static_cast<std::size_t>(node)].children;
        const auto it = std::lower_bound(
            children.begin(), children.end(), b,
            [](const std::pair<unsigned char, std::int32_t>& c, unsigned char v) { return c.first < v; });
        children.insert(it, {b, next});
      }
    }
    node = next;
  }
  nodes_[static_cast<std::size_t>(node)].id = id;
}

bool TokenTrie::matches_at(std::string_view text, std::size_t pos) const {
  bool found = false;
  std::int32_t node = -1;
  for (std::size_t i = pos; i < text.size() && !found; ++i) {
    node = child(node, static_cast<unsigned char>(text[i]));
    if (node < 0) break;
    found = nodes_[static_cast<std::size_t>(node)].id != kNoToken;
  }
  return found;
}

bool TokenTrie::is_proper_prefix(std::string_view s) const {
  if (s.empty()) return false;
  std::int32_t node = -1;
  for (const char ch : s) {
    node = child(node, static_cast<unsigned char>(ch));
    if (node < 0) return false;
  }
  return !nodes_[static_cast<std::size_t>(node)].children.empty();
}

}  // namespace parley
