#include "grammar/pda.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace parley {

// Builds a Pda: byte classes, then per rule a Thompson NFA and its subset construction, then
// trimming and the checks.
class PdaBuilder {
 public:
  PdaBuilder(const Grammar& g, const GrammarLimits& limits) : g_(g), limits_(limits) {}

  Result<Pda> build() {
    if (g_.root() < 0 || g_.root() >= g_.n_rules()) return invalid_argument_error("the grammar has no root rule");
    for (RuleId r = 0; r < g_.n_rules(); ++r) {
      if (g_.rule_expr(r) < 0) return invalid_argument_error("rule '{}' is used but not defined", g_.rule_name(r));
    }
    compute_byte_classes();
    pda_.root_ = g_.root();
    pda_.rule_start_.assign(static_cast<std::size_t>(g_.n_rules()), kNoNode);
    for (RuleId r = 0; r < g_.n_rules(); ++r) {
      pda_.rule_names_.push_back(g_.rule_name(r));
      RETURN_IF_ERROR(build_rule(r));
    }
    RETURN_IF_ERROR(trim());
    mark_reachable();
    compute_need();
    pda_.readable_.assign(pda_.nodes_.size(), ByteSet());
    pda_.self_loops_.assign(pda_.nodes_.size(), ByteSet());
    std::vector<ByteSet> class_bytes(static_cast<std::size_t>(pda_.n_classes_));
    for (int b = 0; b < 256; ++b) class_bytes[pda_.byte_class_[b]].set(static_cast<std::uint8_t>(b));
    for (PdaNodeId p = 0; p < pda_.nodes_.size(); ++p) {
      if (pda_.nodes_[p].row < 0) continue;
      for (int c = 0; c < pda_.n_classes_; ++c) {
        const PdaNodeId t = pda_.next_class(p, c);
        if (t != kNoNode) pda_.readable_[p] |= class_bytes[static_cast<std::size_t>(c)];
        if (t == p) pda_.self_loops_[p] |= class_bytes[static_cast<std::size_t>(c)];
      }
    }
    RETURN_IF_ERROR(check_left_recursion());
    collect_returns();
    return std::move(pda_);
  }

 private:
  struct NfaState {
    std::vector<std::uint32_t> eps;
    std::uint8_t kind = 0;  // 0: none, 1: bytes, 2: call
    ByteSet classes;        // kind 1: the byte classes it reads (a set over class ids)
    RuleId rule = -1;       // kind 2
    std::uint32_t target = 0;
  };
  struct Frag {
    std::uint32_t start, end;
  };

  void compute_byte_classes() {
    std::vector<ByteSet> sets;
    for (ExprId e = 0; e < g_.n_exprs(); ++e) {
      if (g_.expr(e).kind == ExprKind::kBytes) sets.push_back(g_.expr(e).bytes);
    }
    std::sort(sets.begin(), sets.end(), [](const ByteSet& a, const ByteSet& b) { return a.words() < b.words(); });
    sets.erase(std::unique(sets.begin(), sets.end()), sets.end());
    std::array<int, 256> cls{};
    int n = 1;
    for (const ByteSet& s : sets) {
      std::vector<int> remap(static_cast<std::size_t>(2 * n), -1);
      int m = 0;
      for (int b = 0; b < 256; ++b) {
        const std::size_t k = static_cast<std::size_t>(cls[b] * 2 + (s.test(static_cast<std::uint8_t>(b)) ? 1 : 0));
        if (remap[k] < 0) remap[k] = m++;
        cls[b] = remap[k];
      }
      n = m;
    }
    for (int b = 0; b < 256; ++b) pda_.byte_class_[b] = static_cast<std::uint8_t>(cls[b]);
    pda_.n_classes_ = n;
  }

  ByteSet class_set(const ByteSet& bytes) const {
    ByteSet out;
    bytes.for_each([&](std::uint8_t b) { out.set(pda_.byte_class_[b]); });
    return out;
  }

  std::uint32_t new_state() {
    nfa_.emplace_back();
    if (static_cast<std::int64_t>(nfa_.size()) > limits_.max_nfa_states) too_large_ = true;
    return static_cast<std::uint32_t>(nfa_.size() - 1);
  }

  Frag frag(ExprId id, int depth) {
    if (too_large_ || depth > 2000) {
      too_large_ = true;
      const std::uint32_t s = new_state();
      return {s, s};
    }
    const Expr& e = g_.expr(id);
    switch (e.kind) {
      case ExprKind::kEmpty: {
        const std::uint32_t s = new_state();
        return {s, s};
      }
      case ExprKind::kBytes: {
        const std::uint32_t s = new_state(), t = new_state();
        nfa_[s].kind = 1;
        nfa_[s].classes = class_set(e.bytes);
        nfa_[s].target = t;
        if (nfa_[s].classes.empty() || e.bytes.empty()) nfa_[s].kind = 0;  // never crossed
        return {s, t};
      }
      case ExprKind::kRule: {
        const std::uint32_t s = new_state(), t = new_state();
        nfa_[s].kind = 2;
        nfa_[s].rule = e.rule;
        nfa_[s].target = t;
        return {s, t};
      }
      case ExprKind::kSeq: {
        Frag f = frag(e.children[0], depth + 1);
        for (std::size_t i = 1; i < e.children.size(); ++i) {
          const Frag n = frag(e.children[i], depth + 1);
          nfa_[f.end].eps.push_back(n.start);
          f.end = n.end;
        }
        return f;
      }
      case ExprKind::kAlt: {
        const std::uint32_t s = new_state(), t = new_state();
        for (const ExprId c : e.children) {
          const Frag f = frag(c, depth + 1);
          nfa_[s].eps.push_back(f.start);
          nfa_[f.end].eps.push_back(t);
        }
        return {s, t};
      }
      case ExprKind::kRepeat:
        return repeat(e, depth);
      case ExprKind::kSeparated:
        return separated(e, depth);
    }
    return {0, 0};
  }

  // States A_i (no item yet) and B_i (some item already, so a separator comes first) per item.
  Frag separated(const Expr& e, int depth) {
    const std::size_t n = e.children.size();
    std::vector<std::uint32_t> a(n + 1), b(n + 1);
    for (std::size_t i = 0; i <= n; ++i) {
      a[i] = new_state();
      b[i] = new_state();
    }
    const std::uint32_t end = new_state();
    if (!e.nonempty) nfa_[a[n]].eps.push_back(end);
    nfa_[b[n]].eps.push_back(end);
    // One occurrence of item i from `from` to `to`, after a separator when `sep`.
    const auto occurrence = [&](std::size_t i, std::uint32_t from, std::uint32_t to, bool sep) {
      std::uint32_t cur = from;
      if (sep) {
        const Frag s = frag(e.separator, depth + 1);
        nfa_[cur].eps.push_back(s.start);
        cur = s.end;
      }
      const Frag f = frag(e.children[i], depth + 1);
      nfa_[cur].eps.push_back(f.start);
      nfa_[f.end].eps.push_back(to);
    };
    // The first occurrence of item i, from A_i directly or from B_i after a separator: one copy
    // of the item that both enter (two copies would double the states at every nesting level).
    const auto first_occurrence = [&](std::size_t i, std::uint32_t to) {
      const std::uint32_t entry = new_state();
      nfa_[a[i]].eps.push_back(entry);
      const Frag s = frag(e.separator, depth + 1);
      nfa_[b[i]].eps.push_back(s.start);
      nfa_[s.end].eps.push_back(entry);
      occurrence(i, entry, to, false);
    };
    for (std::size_t i = 0; i < n && !too_large_; ++i) {
      const auto [mn, mx] = e.counts[i];
      if (mn == 0) {
        nfa_[a[i]].eps.push_back(a[i + 1]);
        nfa_[b[i]].eps.push_back(b[i + 1]);
      }
      if (mx == 1) {
        first_occurrence(i, b[i + 1]);
        continue;
      }
      // c[k]: k occurrences so far (k >= 1); the last one loops when unbounded.
      const std::int32_t chain = mx == kUnbounded ? std::max(mn, 1) : mx;
      std::vector<std::uint32_t> c(static_cast<std::size_t>(chain) + 1);
      for (auto& s : c) s = new_state();
      first_occurrence(i, c[1]);
      for (std::int32_t k = 1; k <= chain && !too_large_; ++k) {
        if (k >= mn) nfa_[c[static_cast<std::size_t>(k)]].eps.push_back(b[i + 1]);
        if (k < chain) occurrence(i, c[static_cast<std::size_t>(k)], c[static_cast<std::size_t>(k) + 1], true);
      }
      if (mx == kUnbounded) occurrence(i, c[static_cast<std::size_t>(chain)], c[static_cast<std::size_t>(chain)], true);
    }
    return {a[0], end};
  }

  Frag repeat(const Expr& e, int depth) {
    const std::uint32_t s = new_state();
    std::uint32_t cur = s;
    for (std::int32_t i = 0; i < e.min && !too_large_; ++i) {
      const Frag f = frag(e.children[0], depth + 1);
      nfa_[cur].eps.push_back(f.start);
      cur = f.end;
    }
    if (e.max == kUnbounded) {
      const std::uint32_t loop = new_state();
      nfa_[cur].eps.push_back(loop);
      const Frag f = frag(e.children[0], depth + 1);
      nfa_[loop].eps.push_back(f.start);
      nfa_[f.end].eps.push_back(loop);
      return {s, loop};
    }
    const std::uint32_t end = new_state();
    for (std::int32_t i = e.min; i < e.max && !too_large_; ++i) {
      nfa_[cur].eps.push_back(end);
      const Frag f = frag(e.children[0], depth + 1);
      nfa_[cur].eps.push_back(f.start);
      cur = f.end;
    }
    nfa_[cur].eps.push_back(end);
    return {s, end};
  }

  // The epsilon closure of `seeds`, keeping only the states that matter to a DFA state: those
  // that read or call, and the rule's final state.
  std::vector<std::uint32_t> closure(const std::vector<std::uint32_t>& seeds) {
    ++stamp_;
    if (mark_.size() < nfa_.size()) mark_.resize(nfa_.size(), 0);
    std::vector<std::uint32_t> stack(seeds.begin(), seeds.end()), out;
    while (!stack.empty()) {
      const std::uint32_t s = stack.back();
      stack.pop_back();
      if (mark_[s] == stamp_) continue;
      mark_[s] = stamp_;
      if (nfa_[s].kind != 0 || s == final_) out.push_back(s);
      for (const std::uint32_t t : nfa_[s].eps) {
        if (mark_[t] != stamp_) stack.push_back(t);
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<PdaNodeId> intern(std::vector<std::uint32_t> key, RuleId rule) {
    const auto it = dfa_ids_.find(key);
    if (it != dfa_ids_.end()) return it->second;
    if (static_cast<std::int64_t>(pda_.nodes_.size()) >= limits_.max_nodes) {
      return invalid_argument_error("the grammar is too large: more than {} automaton states", limits_.max_nodes);
    }
    const auto id = static_cast<PdaNodeId>(pda_.nodes_.size());
    PdaNode node;
    node.rule = rule;
    node.accepting = std::binary_search(key.begin(), key.end(), final_);
    pda_.nodes_.push_back(node);
    rows_.emplace_back();
    node_calls_.emplace_back();
    dfa_ids_.emplace(key, id);
    work_.push_back({id, std::move(key)});
    return id;
  }

  Status build_rule(RuleId r) {
    nfa_.clear();
    too_large_ = false;
    const Frag f = frag(g_.rule_expr(r), 0);
    if (too_large_) {
      return invalid_argument_error("rule '{}' is too large: more than {} automaton states before determinisation",
                                    g_.rule_name(r), limits_.max_nfa_states);
    }
    final_ = f.end;
    dfa_ids_.clear();
    work_.clear();
    ASSIGN_OR_RETURN(const PdaNodeId start, intern(closure({f.start}), r));
    pda_.rule_start_[static_cast<std::size_t>(r)] = start;
    const auto n_classes = static_cast<std::size_t>(pda_.n_classes_);
    std::vector<std::vector<std::uint32_t>> buckets(n_classes);
    while (!work_.empty()) {
      auto [id, key] = std::move(work_.back());
      work_.pop_back();
      for (auto& b : buckets) b.clear();
      std::map<RuleId, std::vector<std::uint32_t>> calls;
      for (const std::uint32_t s : key) {
        const NfaState& st = nfa_[s];
        if (st.kind == 1) {
          st.classes.for_each([&](std::uint8_t c) { buckets[c].push_back(st.target); });
        } else if (st.kind == 2) {
          calls[st.rule].push_back(st.target);
        }
      }
      std::vector<PdaNodeId> row(n_classes, kNoNode);
      done.clear();
      for (std::size_t c = 0; c < n_classes; ++c) {
        if (buckets[c].empty()) continue;
        auto found = done.find(buckets[c]);
        if (found == done.end()) {
          ASSIGN_OR_RETURN(const PdaNodeId t, intern(closure(buckets[c]), r));
          found = done.emplace(buckets[c], t).first;
        }
        row[c] = found->second;
      }
      rows_[id] = std::move(row);
      for (auto& [rule, targets] : calls) {
        ASSIGN_OR_RETURN(const PdaNodeId t, intern(closure(targets), r));
        node_calls_[id].push_back({rule, t});
      }
    }
    return ok_status();
  }

  // Marks nodes that can reach the end of their rule, drops every edge into the others, and
  // lays the transition rows out.
  Status trim() {
    const std::size_t n = pda_.nodes_.size();
    std::vector<bool> alive(n, false), productive(static_cast<std::size_t>(g_.n_rules()), false);
    std::vector<std::vector<PdaNodeId>> byte_preds(n);
    std::vector<std::vector<std::pair<PdaNodeId, RuleId>>> ret_preds(n);
    std::vector<std::vector<std::pair<PdaNodeId, PdaNodeId>>> call_sites(static_cast<std::size_t>(g_.n_rules()));
    for (PdaNodeId p = 0; p < n; ++p) {
      for (const PdaNodeId t : rows_[p]) {
        if (t != kNoNode) byte_preds[t].push_back(p);
      }
      for (const PdaCall& c : node_calls_[p]) {
        ret_preds[c.ret].push_back({p, c.rule});
        call_sites[static_cast<std::size_t>(c.rule)].push_back({p, c.ret});
      }
    }
    std::vector<PdaNodeId> queue;
    const auto revive = [&](PdaNodeId p) {
      if (!alive[p]) {
        alive[p] = true;
        queue.push_back(p);
      }
    };
    for (PdaNodeId p = 0; p < n; ++p) {
      if (pda_.nodes_[p].accepting) revive(p);
    }
    while (!queue.empty()) {
      const PdaNodeId t = queue.back();
      queue.pop_back();
      for (const PdaNodeId p : byte_preds[t]) revive(p);
      for (const auto& [p, rule] : ret_preds[t]) {
        if (productive[static_cast<std::size_t>(rule)]) revive(p);
      }
      const RuleId r = pda_.nodes_[t].rule;
      if (pda_.rule_start_[static_cast<std::size_t>(r)] == t && !productive[static_cast<std::size_t>(r)]) {
        productive[static_cast<std::size_t>(r)] = true;
        for (const auto& [p, ret] : call_sites[static_cast<std::size_t>(r)]) {
          if (alive[ret]) revive(p);
        }
      }
    }
    if (!productive[static_cast<std::size_t>(g_.root())]) return invalid_argument_error("the grammar matches no text");
    const auto n_classes = static_cast<std::size_t>(pda_.n_classes_);
    if (n * n_classes > (std::size_t{1} << 26)) {
      return invalid_argument_error("the grammar is too large: {} states x {} byte classes", n, n_classes);
    }
    for (PdaNodeId p = 0; p < n; ++p) {
      PdaNode& node = pda_.nodes_[p];
      bool any = false;
      for (PdaNodeId& t : rows_[p]) {
        if (t != kNoNode && !alive[t]) t = kNoNode;
        any = any || t != kNoNode;
      }
      if (any && alive[p]) {
        node.row = static_cast<std::int32_t>(pda_.trans_.size());
        pda_.trans_.insert(pda_.trans_.end(), rows_[p].begin(), rows_[p].end());
      }
      node.calls_begin = static_cast<std::uint32_t>(pda_.calls_.size());
      if (alive[p]) {
        for (const PdaCall& c : node_calls_[p]) {
          if (productive[static_cast<std::size_t>(c.rule)] && alive[c.ret]) pda_.calls_.push_back(c);
        }
      }
      node.calls_end = static_cast<std::uint32_t>(pda_.calls_.size());
      if (!alive[p]) node.accepting = false;
    }
    rows_.clear();
    node_calls_.clear();
    return ok_status();
  }

  // need(n) = 0 at the end of a rule, else the least over: a byte to t, need(t); a call of S
  // returning to r, max(1 + need(start of S), need(r)). Relaxed until stable (values only fall;
  // a cut-off leaves over-estimates, which are safe: they only refuse more).
  void compute_need() {
    constexpr std::uint16_t kInf = 0xFFFF;
    const std::size_t n = pda_.nodes_.size();
    auto& need = pda_.need_;
    need.assign(n, kInf);
    for (PdaNodeId p = 0; p < n; ++p) {
      if (pda_.nodes_[p].accepting) need[p] = 0;
    }
    for (int sweep = 0; sweep < 256; ++sweep) {
      bool changed = false;
      for (PdaNodeId p = static_cast<PdaNodeId>(n); p-- > 0;) {
        std::uint16_t best = need[p];
        for (int c = 0; c < pda_.n_classes_ && best > 0; ++c) {
          const PdaNodeId t = pda_.next_class(p, c);
          if (t != kNoNode) best = std::min(best, need[t]);
        }
        for (const PdaCall& call : pda_.calls(p)) {
          const std::uint16_t callee = need[pda_.rule_start(call.rule)];
          const std::uint16_t v = std::max<std::uint16_t>(callee == kInf ? kInf : callee + 1, need[call.ret]);
          best = std::min(best, v);
        }
        if (best < need[p]) {
          need[p] = best;
          changed = true;
        }
      }
      if (!changed) break;
    }
  }

  void mark_reachable() {
    pda_.reachable_.assign(pda_.nodes_.size(), false);
    std::vector<PdaNodeId> stack = {pda_.rule_start(g_.root())};
    pda_.reachable_[stack[0]] = true;
    const auto visit = [&](PdaNodeId t) {
      if (t != kNoNode && !pda_.reachable_[t]) {
        pda_.reachable_[t] = true;
        stack.push_back(t);
      }
    };
    while (!stack.empty()) {
      const PdaNodeId p = stack.back();
      stack.pop_back();
      for (int c = 0; c < pda_.n_classes_; ++c) visit(pda_.next_class(p, c));
      for (const PdaCall& call : pda_.calls(p)) {
        visit(pda_.rule_start(call.rule));
        visit(call.ret);
      }
    }
  }

  // Nodes of `rule` reachable from its start without reading a byte (through calls of rules
  // that can end without reading one), and whether its end is among them.
  std::vector<PdaNodeId> epsilon_nodes(RuleId rule, const std::vector<bool>& nullable, bool* ends) const {
    std::vector<PdaNodeId> out = {pda_.rule_start(rule)}, stack = out;
    *ends = false;
    while (!stack.empty()) {
      const PdaNodeId p = stack.back();
      stack.pop_back();
      if (pda_.nodes_[p].accepting) *ends = true;
      for (const PdaCall& c : pda_.calls(p)) {
        if (nullable[static_cast<std::size_t>(c.rule)] && std::find(out.begin(), out.end(), c.ret) == out.end()) {
          out.push_back(c.ret);
          stack.push_back(c.ret);
        }
      }
    }
    return out;
  }

  Status check_left_recursion() const {
    const auto n_rules = static_cast<std::size_t>(g_.n_rules());
    std::vector<bool> nullable(n_rules, false);
    for (bool changed = true; changed;) {
      changed = false;
      for (RuleId r = 0; r < g_.n_rules(); ++r) {
        bool ends = false;
        if (!nullable[static_cast<std::size_t>(r)] && (epsilon_nodes(r, nullable, &ends), ends)) {
          nullable[static_cast<std::size_t>(r)] = true;
          changed = true;
        }
      }
    }
    std::vector<std::vector<RuleId>> left_calls(n_rules);
    for (RuleId r = 0; r < g_.n_rules(); ++r) {
      bool ends = false;
      for (const PdaNodeId p : epsilon_nodes(r, nullable, &ends)) {
        for (const PdaCall& c : pda_.calls(p)) left_calls[static_cast<std::size_t>(r)].push_back(c.rule);
      }
    }
    std::vector<int> color(n_rules, 0);  // 0 new, 1 on the path, 2 done
    std::vector<std::pair<RuleId, std::size_t>> stack;
    for (RuleId s = 0; s < g_.n_rules(); ++s) {
      if (color[static_cast<std::size_t>(s)] != 0) continue;
      stack.push_back({s, 0});
      color[static_cast<std::size_t>(s)] = 1;
      while (!stack.empty()) {
        auto& [r, i] = stack.back();
        const auto& next = left_calls[static_cast<std::size_t>(r)];
        if (i == next.size()) {
          color[static_cast<std::size_t>(r)] = 2;
          stack.pop_back();
          continue;
        }
        const RuleId t = next[i++];
        if (color[static_cast<std::size_t>(t)] == 1) {
          return invalid_argument_error("rule '{}' is left-recursive (it can call itself before reading any text)",
                                        g_.rule_name(t));
        }
        if (color[static_cast<std::size_t>(t)] == 0) {
          color[static_cast<std::size_t>(t)] = 1;
          stack.push_back({t, 0});
        }
      }
    }
    return ok_status();
  }

  void collect_returns() {
    pda_.rule_returns_.assign(static_cast<std::size_t>(g_.n_rules()), {});
    for (PdaNodeId p = 0; p < pda_.nodes_.size(); ++p) {
      if (!pda_.reachable_[p]) continue;
      for (const PdaCall& c : pda_.calls(p)) {
        auto& rets = pda_.rule_returns_[static_cast<std::size_t>(c.rule)];
        if (std::find(rets.begin(), rets.end(), c.ret) == rets.end()) rets.push_back(c.ret);
      }
    }
  }

  const Grammar& g_;
  const GrammarLimits& limits_;
  Pda pda_;
  std::vector<NfaState> nfa_;
  bool too_large_ = false;
  std::uint32_t final_ = 0;
  std::vector<std::uint32_t> mark_;
  std::uint32_t stamp_ = 0;
  struct KeyHash {
    std::size_t operator()(const std::vector<std::uint32_t>& v) const {
      std::uint64_t h = 1469598103934665603ull ^ v.size();
      for (const std::uint32_t x : v) h = (h ^ x) * 1099511628211ull;
      return static_cast<std::size_t>(h ^ (h >> 29));
    }
  };
  std::unordered_map<std::vector<std::uint32_t>, PdaNodeId, KeyHash> dfa_ids_;
  std::unordered_map<std::vector<std::uint32_t>, PdaNodeId, KeyHash> done;  // per DFA state: targets by NFA set
  std::vector<std::pair<PdaNodeId, std::vector<std::uint32_t>>> work_;
  std::vector<std::vector<PdaNodeId>> rows_;
  std::vector<std::vector<PdaCall>> node_calls_;
};

Result<Pda> Pda::build(const Grammar& grammar, const GrammarLimits& limits) {
  PdaBuilder builder(grammar, limits);
  return builder.build();
}

}  // namespace parley
