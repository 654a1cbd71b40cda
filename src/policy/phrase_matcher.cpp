#include "policy/phrase_matcher.h"

#include <algorithm>
#include <deque>
#include <map>

namespace parley::policy {

std::size_t PhraseMatcher::memory_bytes() const {
  return sizeof(std::uint32_t) * (next_.size() + out_state_.size() + out_link_.size() + out_begin_.size() +
                                  out_patterns_.size() + pattern_lengths_.size() + depth_.size());
}

Result<PhraseMatcher> PhraseMatcher::build(const std::vector<std::string>& patterns) {
  PhraseMatcher m;
  if (patterns.empty()) return m;
  // Byte classes: class 0 for every byte no pattern uses.
  bool used[256] = {};
  for (const std::string& p : patterns) {
    if (p.empty()) return invalid_argument_error("an empty phrase cannot be matched");
    for (const char c : p) used[static_cast<unsigned char>(c)] = true;
  }
  m.n_classes_ = 1;
  for (int b = 0; b < 256; ++b) m.byte_class_[b] = used[b] ? static_cast<std::uint8_t>(m.n_classes_++) : 0;

  // The trie, with sparse children while it is built.
  std::vector<std::map<std::uint8_t, std::uint32_t>> children(1);
  std::vector<std::vector<std::uint32_t>> ends(1);
  m.depth_.assign(1, 0);
  for (std::uint32_t i = 0; i < patterns.size(); ++i) {
    std::uint32_t s = 0;
    for (const char c : patterns[i]) {
      const std::uint8_t k = m.byte_class_[static_cast<unsigned char>(c)];
      auto it = children[s].find(k);
      if (it == children[s].end()) {
        const auto t = static_cast<std::uint32_t>(children.size());
        if ((static_cast<std::size_t>(t) + 1) * m.n_classes_ * sizeof(std::uint32_t) > kMaxTableBytes) {
          return resource_exhausted_error("the phrases need more than {} MiB of automaton", kMaxTableBytes >> 20);
        }
        children[s].emplace(k, t);
        children.emplace_back();
        ends.emplace_back();
        m.depth_.push_back(m.depth_[s] + 1);
        s = t;
      } else {
        s = it->second;
      }
    }
    ends[s].push_back(i);
    m.pattern_lengths_.push_back(static_cast<std::uint32_t>(patterns[i].size()));
    m.longest_ = std::max(m.longest_, patterns[i].size());
  }

  // Breadth first: failure links and the dense transitions (a missing edge follows the failure).
  m.states_ = static_cast<std::uint32_t>(children.size());
  const std::size_t nc = m.n_classes_;
  m.next_.assign(m.states_ * nc, 0);
  std::vector<std::uint32_t> fail(m.states_, 0);
  m.out_state_.assign(m.states_, kNone);
  m.out_link_.assign(m.states_, kNone);
  std::deque<std::uint32_t> queue;
  for (const auto& [k, t] : children[0]) {
    m.next_[k] = t;
    queue.push_back(t);
  }
  std::vector<std::uint32_t> order;
  order.reserve(m.states_);
  while (!queue.empty()) {
    const std::uint32_t s = queue.front();
    queue.pop_front();
    order.push_back(s);
    for (std::size_t k = 0; k < nc; ++k) m.next_[s * nc + k] = m.next_[fail[s] * nc + k];
    for (const auto& [k, t] : children[s]) {
      fail[t] = m.next_[fail[s] * nc + k];
      m.next_[s * nc + k] = t;
      queue.push_back(t);
    }
  }
  // Output chains, in BFS order so that a state's failure target is done before it.
  for (const std::uint32_t s : order) {
    const std::uint32_t f_out = m.out_state_[fail[s]];
    if (!ends[s].empty()) {
      m.out_state_[s] = s;
      m.out_link_[s] = f_out;
    } else {
      m.out_state_[s] = f_out;
    }
  }
  m.out_begin_.assign(m.states_ + 1, 0);
  for (std::uint32_t s = 0; s < m.states_; ++s) {
    m.out_begin_[s] = static_cast<std::uint32_t>(m.out_patterns_.size());
    m.out_patterns_.insert(m.out_patterns_.end(), ends[s].begin(), ends[s].end());
  }
  m.out_begin_[m.states_] = static_cast<std::uint32_t>(m.out_patterns_.size());
  return m;
}

}  // namespace parley::policy
