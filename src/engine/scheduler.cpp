#include "engine/scheduler.h"

#include <algorithm>

#include "base/check.h"

namespace parley {

void Scheduler::add(Sequence* seq) {
  seq->status = SeqStatus::kWaiting;
  auto& q = waiting_[seq->request.tenant].seqs;
  // A preempted sequence resumes before its tenant's newer requests.
  if (seq->admitted_once) {
    const auto at = std::find_if(q.begin(), q.end(), [&](const Sequence* s) { return s->arrival_order > seq->arrival_order; });
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

double Scheduler::service(const std::string& tenant) const {
  const auto it = service_.find(tenant);
  return it == service_.end() ? 0.0 : it->second;
}

bool Scheduler::before(const Sequence* a, const Sequence* b) const {
  if (a->request.priority != b->request.priority) return a->request.priority > b->request.priority;
  const double sa = service(a->request.tenant), sb = service(b->request.tenant);
  if (sa != sb) return sa < sb;
  return a->arrival_order < b->arrival_order;
}

Sequence* Scheduler::next_waiting() const {
  Sequence* best = nullptr;
  for (const auto& [tenant, q] : waiting_) {
    if (q.seqs.empty()) continue;
    if (best == nullptr || before(q.seqs.front(), best)) best = q.seqs.front();
  }
  return best;
}

void Scheduler::pop_waiting(Sequence* seq) {
  const auto it = waiting_.find(seq->request.tenant);
  if (it == waiting_.end()) return;
  auto& q = it->second.seqs;
  q.erase(std::remove(q.begin(), q.end(), seq), q.end());
  if (q.empty()) waiting_.erase(it);
}

Sequence* Scheduler::pick_victim(const Sequence* for_seq, const std::vector<ScheduledSeq>& scheduled) const {
  Sequence* victim = nullptr;
  for (Sequence* s : running_) {
    const bool taken = std::any_of(scheduled.begin(), scheduled.end(), [&](const ScheduledSeq& x) { return x.seq == s; });
    if (taken && s != for_seq) continue;
    // Lowest priority first, then the latest arrival.
    if (victim == nullptr || s->request.priority < victim->request.priority ||
        (s->request.priority == victim->request.priority && s->arrival_order > victim->arrival_order)) {
      victim = s;
    }
  }
  return victim;
}

void Scheduler::preempt(Sequence* seq, StepPlan* plan) {
  running_.erase(std::remove(running_.begin(), running_.end(), seq), running_.end());
  kv_.release(*seq);
  ++seq->preemptions;
  plan->preempted.push_back(seq);
  add(seq);
}

void Scheduler::charge(const Sequence* seq, std::int32_t n_tokens) { service_[seq->request.tenant] += n_tokens; }

StepPlan Scheduler::schedule() {
  for (auto it = service_.begin(); it != service_.end();) {
    it->second *= config_.fairness_decay;
    it = it->second < 1e-3 ? service_.erase(it) : std::next(it);
  }
  StepPlan plan = plan_step(/*admit=*/true);
  // No progress possible although sequences are running (they all wait for blocks that the others
  // hold, e.g. long prompts filling the pool together): give up the least important one.
  std::vector<Sequence*> forced;
  while (plan.empty() && !running_.empty()) {
    Sequence* victim = pick_victim(nullptr, plan.seqs);
    StepPlan unused;
    preempt(victim, &unused);
    forced.push_back(victim);
    plan = plan_step(/*admit=*/false);
  }
  plan.preempted.insert(plan.preempted.begin(), forced.begin(), forced.end());
  return plan;
}

StepPlan Scheduler::plan_step(bool admit) {
  StepPlan plan;
  std::int64_t budget = config_.max_batch_tokens;
  const auto take = [&](Sequence* s, std::int32_t n) {
    const bool logits = s->n_computed + n == static_cast<std::int32_t>(s->tokens.size());
    plan.seqs.push_back({s, n, logits});
    plan.n_tokens += n;
    budget -= n;
    charge(s, n);
  };

  // 1. Generating sequences: one token each, most important first; preempt when blocks run out.
  std::vector<Sequence*> decoding, prefilling;
  for (Sequence* s : running_) (s->decoding() ? decoding : prefilling).push_back(s);
  std::sort(decoding.begin(), decoding.end(), [this](const Sequence* a, const Sequence* b) { return before(a, b); });
  for (Sequence* s : decoding) {
    if (budget <= 0) break;
    if (s->status != SeqStatus::kRunning) continue;  // preempted earlier in this loop
    bool ok = kv_.prepare(*s, 1, &plan.copies);
    while (!ok) {
      Sequence* victim = pick_victim(s, plan.seqs);
      if (victim == nullptr) break;
      preempt(victim, &plan);
      if (victim == s) break;
      ok = kv_.prepare(*s, 1, &plan.copies);
    }
    if (ok && s->status == SeqStatus::kRunning) take(s, 1);
  }

  // 2. Running sequences still reading their prompt: chunks, in fair order.
  std::sort(prefilling.begin(), prefilling.end(), [this](const Sequence* a, const Sequence* b) { return before(a, b); });
  for (Sequence* s : prefilling) {
    if (budget <= 0) break;
    if (s->status != SeqStatus::kRunning) continue;
    std::int32_t n = static_cast<std::int32_t>(std::min<std::int64_t>(s->n_uncomputed(), budget));
    // Shrink the chunk to the blocks available rather than preempt for a prompt.
    while (n > 0 && kv_.blocks_needed(*s, n) > kv_.pool().n_available()) {
      n = std::max(0, (n - 1) / kv_.block_size() * kv_.block_size());
    }
    if (n > 0 && kv_.prepare(*s, n, &plan.copies)) take(s, n);
  }

  // 3. Admission, while budget, room and blocks last (not right after preempting: the queue's
  // head would only take back the blocks just freed, and lose them again next step).
  while (admit && plan.preempted.empty() && budget > 0 &&
         static_cast<std::int32_t>(running_.size()) < config_.max_running) {
    Sequence* s = next_waiting();
    if (s == nullptr) break;
    const std::int32_t hit = kv_.match_prefix(*s);
    const auto n = static_cast<std::int32_t>(std::min<std::int64_t>(s->n_uncomputed(), budget));
    if (!kv_.prepare(*s, n, &plan.copies)) {
      kv_.release(*s);  // not enough blocks now: keep waiting, without holding its prefix
      break;
    }
    pop_waiting(s);
    if (!s->admitted_once) {
      s->admitted_once = true;
      s->cached_prompt_tokens = std::min(hit, s->n_prompt);
    }
    s->status = SeqStatus::kRunning;
    running_.push_back(s);
    take(s, n);
  }
  return plan;
}

}  // namespace parley
