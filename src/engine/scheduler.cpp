#include "engine/scheduler.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"

namespace parley {

// The state of one step being planned.
struct Scheduler::Planning {
  StepPlan plan;
  std::unordered_map<const Sequence*, std::size_t> index;  // position in plan.seqs
  std::int64_t prefill = 0;                                // prompt tokens planned so far
  bool interactive = false;                                // the step holds interactive work
  bool decode_preempted = false;                           // a generating sequence had to preempt for blocks
  std::set<const Sequence*> blocked;                       // no room for it this step (or preempted this step)
  std::set<std::string> tenant_blocked;                    // its queue's head cannot be admitted this step
  // Per tenant, its running sequences of the priority being filled that read their prompt, in
  // arrival order (the ones admitted during this step included).
  std::map<std::string, std::vector<Sequence*>> work;

  std::int32_t given(const Sequence* s) const {
    const auto it = index.find(s);
    return it == index.end() ? 0 : plan.seqs[it->second].n_tokens;
  }
};

void Scheduler::add(Sequence* seq) {
  seq->status = SeqStatus::kWaiting;
  auto& q = waiting_[seq->request.tenant].seqs;
  // A preempted sequence resumes before its tenant's newer requests.
  if (seq->admitted_once) {
    const auto at =
        std::find_if(q.begin(), q.end(), [&](const Sequence* s) { return s->arrival_order > seq->arrival_order; });
    q.insert(at, seq);
  } else {
    q.push_back(seq);
  }
}

void Scheduler::remove(Sequence* seq) {
  if (seq->status == SeqStatus::kWaiting) {
    pop_waiting(seq);
  } else if (seq->status == SeqStatus::kRunning) {
    running_.erase(std::remove(running_.begin(), running_.end(), seq), running_.end());
  }
  kv_.release(*seq);
  seq->status = SeqStatus::kFinished;
}

std::size_t Scheduler::n_waiting() const {
  std::size_t n = 0;
  for (const auto& [tenant, q] : waiting_) n += q.seqs.size();
  return n;
}

std::size_t Scheduler::n_waiting(Priority p) const {
  std::size_t n = 0;
  for (const auto& [tenant, q] : waiting_) {
    n += static_cast<std::size_t>(
        std::count_if(q.seqs.begin(), q.seqs.end(), [p](const Sequence* s) { return s->request.priority == p; }));
  }
  return n;
}

std::size_t Scheduler::n_running(Priority p) const {
  return static_cast<std::size_t>(
      std::count_if(running_.begin(), running_.end(), [p](const Sequence* s) { return s->request.priority == p; }));
}

bool Scheduler::interactive_waiting() const {
  for (const auto& [tenant, q] : waiting_) {
    for (const Sequence* s : q.seqs) {
      if (s->request.priority == Priority::kInteractive) return true;
    }
  }
  return false;
}

double Scheduler::service(const std::string& tenant) const {
  const auto it = service_.find(tenant);
  return it == service_.end() ? 0.0 : it->second;
}

bool Scheduler::before(const Sequence* a, const Sequence* b) const {
  if (a->request.priority != b->request.priority) return more_urgent(a->request.priority, b->request.priority);
  const double sa = service(a->request.tenant), sb = service(b->request.tenant);
  if (sa != sb) return sa < sb;
  return a->arrival_order < b->arrival_order;
}

void Scheduler::pop_waiting(Sequence* seq) {
  const auto it = waiting_.find(seq->request.tenant);
  if (it == waiting_.end()) return;
  auto& q = it->second.seqs;
  q.erase(std::remove(q.begin(), q.end(), seq), q.end());
  if (q.empty()) waiting_.erase(it);
}

Sequence* Scheduler::pick_victim(const Sequence* for_seq, const Planning* st) const {
  Sequence* victim = nullptr;
  for (Sequence* s : running_) {
    if (st != nullptr && s != for_seq && st->index.count(s) > 0) continue;
    // The least urgent first, then the latest arrival; `for_seq` itself is a candidate, so a
    // victim is never more urgent than it.
    if (victim == nullptr || more_urgent(victim->request.priority, s->request.priority) ||
        (s->request.priority == victim->request.priority && s->arrival_order > victim->arrival_order)) {
      victim = s;
    }
  }
  return victim;
}

Sequence* Scheduler::pick_yield(const Sequence* s, const Planning& st) const {
  Sequence* best = nullptr;
  const double own = service(s->request.tenant);
  for (Sequence* v : running_) {
    if (v == s || st.index.count(v) > 0) continue;
    const bool less_urgent = more_urgent(s->request.priority, v->request.priority);
    const bool heavier_prompt = v->request.priority == s->request.priority && !v->decoding() &&
                                v->request.tenant != s->request.tenant && service(v->request.tenant) > own;
    if (!less_urgent && !heavier_prompt) continue;
    if (best == nullptr || more_urgent(best->request.priority, v->request.priority)) {
      best = v;
      continue;
    }
    if (v->request.priority != best->request.priority) continue;
    const double sv = service(v->request.tenant), sb = service(best->request.tenant);
    if (sv > sb || (sv == sb && v->arrival_order > best->arrival_order)) best = v;
  }
  return best;
}

void Scheduler::preempt(Sequence* seq, StepPlan* plan) {
  running_.erase(std::remove(running_.begin(), running_.end(), seq), running_.end());
  kv_.release(*seq);
  ++seq->preemptions;
  plan->preempted.push_back(seq);
  add(seq);
}

void Scheduler::charge(const Sequence* seq, std::int32_t n_tokens) {
  service_[seq->request.tenant] += n_tokens;
}

StepPlan Scheduler::schedule() {
  for (auto it = service_.begin(); it != service_.end();) {
    it->second *= config_.fairness_decay;
    it = it->second < 1e-3 ? service_.erase(it) : std::next(it);
  }
  update_step_work();
  StepPlan plan = plan_step(/*admit=*/true);
  // No progress possible although sequences are running (they all wait for blocks that the others
  // hold, e.g. long prompts filling the pool together): give up the least important one.
  std::vector<Sequence*> forced;
  while (plan.empty() && !running_.empty()) {
    Sequence* victim = pick_victim(nullptr, nullptr);
    StepPlan unused;
    preempt(victim, &unused);
    forced.push_back(victim);
    plan = plan_step(/*admit=*/false);
  }
  plan.preempted.insert(plan.preempted.begin(), forced.begin(), forced.end());
  return plan;
}

StepPlan Scheduler::plan_step(bool admit) {
  Planning st;
  schedule_decodes(Priority::kInteractive, st);
  // Not right after preempting for a generating sequence: the queue's head would only take back
  // the blocks just freed, and lose them again next step.
  fill_prefill(Priority::kInteractive, admit && !st.decode_preempted, st);
  schedule_decodes(Priority::kBatch, st);
  fill_prefill(Priority::kBatch, admit && !st.decode_preempted, st);
  st.plan.predicted_s = cost_ != nullptr ? cost_->predict(st.plan.shape) : 0.0;
  return std::move(st.plan);
}

void Scheduler::give(Sequence* s, std::int32_t n, Planning& st) {
  const std::int32_t pos = s->n_computed + st.given(s);
  const auto it = st.index.find(s);
  if (it == st.index.end()) {
    st.index.emplace(s, st.plan.seqs.size());
    st.plan.seqs.push_back({s, n, false});
  } else {
    st.plan.seqs[it->second].n_tokens += n;
  }
  ScheduledSeq& x = st.plan.seqs[st.index.at(s)];
  x.wants_logits = s->n_computed + x.n_tokens == static_cast<std::int32_t>(s->tokens.size());
  if (s->decoding()) {
    st.plan.shape.add_decode(pos);
  } else {
    st.plan.shape.add_prefill(pos, n);
    st.prefill += n;
  }
  st.plan.n_tokens += n;
  if (s->request.priority == Priority::kInteractive) st.interactive = true;
  charge(s, n);
}

bool Scheduler::fits(const Planning&, const StepShape& shape) const {
  if (config_.target_step_s <= 0 || cost_ == nullptr || !cost_->ready()) return true;
  return cost_->predict(shape) <= config_.target_step_s;
}

void Scheduler::schedule_decodes(Priority p, Planning& st) {
  std::vector<Sequence*> decoding;
  for (Sequence* s : running_) {
    if (s->request.priority == p && s->decoding()) decoding.push_back(s);
  }
  std::sort(decoding.begin(), decoding.end(), [this](const Sequence* a, const Sequence* b) { return before(a, b); });
  for (Sequence* s : decoding) {
    if (st.plan.n_tokens >= config_.max_batch_tokens) break;
    if (s->status != SeqStatus::kRunning) continue;  // preempted earlier in this loop
    if (p == Priority::kBatch && st.interactive) {
      // Batch work never delays interactive work: only where the step has room left.
      StepShape with = st.plan.shape;
      with.add_decode(s->n_computed);
      if (!fits(st, with)) continue;
    }
    bool ok = kv_.prepare(*s, 1, &st.plan.copies);
    while (!ok) {
      Sequence* victim = pick_victim(s, &st);
      if (victim == nullptr) break;
      preempt(victim, &st.plan);
      st.decode_preempted = true;
      if (victim == s) break;
      ok = kv_.prepare(*s, 1, &st.plan.copies);
    }
    if (ok && s->status == SeqStatus::kRunning) give(s, 1, st);
  }
}

// ---- Prompt chunks: the fair share of a step ----

std::int32_t Scheduler::fit_prefill(const Planning& st, const Sequence* s, std::int32_t want) const {
  std::int64_t n = std::min<std::int64_t>(want, config_.max_batch_tokens - st.plan.n_tokens);
  if (n <= 0) return 0;
  if (config_.target_step_s <= 0 || cost_ == nullptr) return static_cast<std::int32_t>(n);
  // Never far beyond what the model has seen: it is linear, a machine is not.
  const std::int64_t explore =
      cost_->ready() ? std::max<std::int64_t>(config_.warmup_prefill_tokens, 2 * cost_->max_prefill_seen())
                     : config_.warmup_prefill_tokens;
  n = std::min(n, explore - st.prefill);
  if (n <= 0) return 0;
  if (!cost_->ready()) return static_cast<std::int32_t>(n);
  // Prompts progress in every step, even when the decodes alone exceed the target; but batch
  // prompts only where interactive work leaves room.
  const bool floor_applies = s->request.priority == Priority::kInteractive || !st.interactive;
  const std::int64_t floor = floor_applies ? std::clamp<std::int64_t>(work_floor(st), 0, n) : 0;
  const std::int64_t pos = s->n_computed + st.given(s);
  const auto ok = [&](std::int64_t k) {
    StepShape with = st.plan.shape;
    with.add_prefill(pos, k);
    return cost_->predict(with) <= config_.target_step_s;
  };
  if (ok(n)) return static_cast<std::int32_t>(n);
  std::int64_t lo = floor, hi = n;  // ok(hi) is false; lo is allowed
  while (hi - lo > 1) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    (ok(mid) ? lo : hi) = mid;
  }
  return static_cast<std::int32_t>(lo);
}

void Scheduler::update_step_work() {
  if (cost_ == nullptr || !cost_->ready() || config_.min_step_work <= 0) return;
  // Only while the window tells the fixed cost from the per-token cost (prompt counts that differ
  // by a factor of 2; warm-up steps all read the same chunk, and steps held at this very floor do
  // too). Otherwise the last value fades by 1% a step: steps then vary again, and the model
  // confirms or corrects it (the ratio of the two costs changes little when a machine gets busy:
  // both are CPU time).
  const bool identified = cost_->max_prefill_seen() >= 2 * cost_->min_prefill_seen() + config_.prefill_quantum;
  const StepCostModel::Coefficients& c = cost_->coefficients();
  if (!identified || c[0] <= 0 || c[1] <= 0) {
    step_work_tokens_ *= 0.99;
    return;
  }
  // Tokens whose compute is worth min_step_work fixed costs; capped (a tiny c_prefill).
  step_work_tokens_ = std::min(config_.min_step_work * c[0] / c[1], static_cast<double>(config_.max_batch_tokens));
}

std::int64_t Scheduler::work_floor(const Planning& st) const {
  const std::int64_t floor = config_.min_prefill_tokens - st.prefill;
  const auto work = static_cast<std::int64_t>(std::ceil(step_work_tokens_));
  return std::max(floor, work - st.plan.shape.n_prefill - st.plan.shape.n_decode);
}

Sequence* Scheduler::head_of(const std::string& tenant, Priority p, bool admit, const Planning& st) const {
  std::int32_t in_prefill = 0;
  for (Sequence* s : st.work.at(tenant)) {
    if (s->status != SeqStatus::kRunning) continue;  // preempted during this step
    ++in_prefill;
    if (st.blocked.count(s) == 0 && st.given(s) < s->n_uncomputed()) return s;
  }
  if (!admit || st.tenant_blocked.count(tenant) > 0) return nullptr;
  if (config_.max_prefill_per_tenant > 0 && in_prefill >= config_.max_prefill_per_tenant) return nullptr;
  if (p == Priority::kBatch && interactive_waiting()) return nullptr;
  const auto it = waiting_.find(tenant);
  if (it == waiting_.end()) return nullptr;
  for (Sequence* s : it->second.seqs) {
    if (s->request.priority != p) continue;
    // Within a tenant, in arrival order: a head that cannot start holds the others back.
    return st.blocked.count(s) > 0 ? nullptr : s;
  }
  return nullptr;
}

Sequence* Scheduler::next_prefill(Priority p, bool admit, Planning& st) const {
  Sequence* best = nullptr;
  double best_service = 0;
  for (const auto& [tenant, list] : st.work) {
    Sequence* c = head_of(tenant, p, admit, st);
    if (c == nullptr) continue;
    const double sv = service(tenant);
    if (best == nullptr || sv < best_service || (sv == best_service && c->arrival_order < best->arrival_order)) {
      best = c;
      best_service = sv;
    }
  }
  return best;
}

void Scheduler::fill_prefill(Priority p, bool admit, Planning& st) {
  st.work.clear();
  st.tenant_blocked.clear();
  for (Sequence* s : running_) {
    if (s->request.priority == p && !s->decoding()) st.work[s->request.tenant].push_back(s);
  }
  for (auto& [tenant, list] : st.work) {
    std::sort(list.begin(), list.end(),
              [](const Sequence* a, const Sequence* b) { return a->arrival_order < b->arrival_order; });
  }
  if (admit) {
    for (const auto& [tenant, q] : waiting_) {
      if (std::any_of(q.seqs.begin(), q.seqs.end(), [p](const Sequence* s) { return s->request.priority == p; })) {
        st.work[tenant];
      }
    }
  }
  for (;;) {
    Sequence* s = next_prefill(p, admit, st);
    if (s == nullptr) return;
    if (s->status == SeqStatus::kWaiting) {
      const Take t = admit_seq(s, st);
      if (t == Take::kFull) return;
      if (t == Take::kBlocked) st.tenant_blocked.insert(s->request.tenant);
      continue;
    }
    const std::int32_t left = s->n_uncomputed() - st.given(s);
    const std::int32_t n = fit_prefill(st, s, std::min(config_.prefill_quantum, left));
    if (n == 0) return;  // the step is full
    if (!extend(s, n, st)) st.blocked.insert(s);
  }
}

bool Scheduler::extend(Sequence* s, std::int32_t n, Planning& st) {
  const std::int32_t g = st.given(s);
  // Shrink the chunk to the blocks available rather than preempt for a prompt.
  while (n > 0 && kv_.blocks_needed(*s, g + n) > kv_.pool().n_available()) --n;
  if (n == 0 || !kv_.prepare(*s, g + n, &st.plan.copies)) return false;
  give(s, n, st);
  return true;
}

Scheduler::Take Scheduler::admit_seq(Sequence* s, Planning& st) {
  // Room for one more running sequence, taken from one that may yield it.
  while (static_cast<std::int32_t>(running_.size()) >= config_.max_running) {
    Sequence* v = pick_yield(s, st);
    if (v == nullptr) return Take::kBlocked;
    preempt(v, &st.plan);
    st.blocked.insert(v);
  }
  const std::int32_t hit = kv_.match_prefix(*s);
  const std::int32_t n = fit_prefill(st, s, std::min(config_.prefill_quantum, s->n_uncomputed()));
  if (n == 0) {
    kv_.release(*s);
    return Take::kFull;
  }
  while (kv_.blocks_needed(*s, n) > kv_.pool().n_available()) {
    Sequence* v = pick_yield(s, st);
    if (v == nullptr) break;
    preempt(v, &st.plan);
    st.blocked.insert(v);
  }
  if (!kv_.prepare(*s, n, &st.plan.copies)) {
    kv_.release(*s);  // not enough blocks now: keep waiting, without holding its prefix
    st.blocked.insert(s);
    return Take::kBlocked;
  }
  pop_waiting(s);
  if (!s->admitted_once) {
    s->admitted_once = true;
    s->cached_prompt_tokens = std::min(hit, s->n_prompt);
  }
  s->status = SeqStatus::kRunning;
  running_.push_back(s);
  st.work[s->request.tenant].push_back(s);
  give(s, n, st);
  return Take::kTaken;
}

}  // namespace parley
