#include "engine/engine.h"

#include <algorithm>

#include "base/log.h"

namespace parley {

std::string_view priority_name(Priority p) {
  return p == Priority::kBatch ? "batch" : "interactive";
}

std::optional<Priority> parse_priority(std::string_view name) {
  if (name == "interactive") return Priority::kInteractive;
  if (name == "batch") return Priority::kBatch;
  return std::nullopt;
}

std::string_view finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kCancelled:
      return "cancelled";
    case FinishReason::kError:
      return "error";
  }
  return "unknown";
}

Engine::Engine(const EngineConfig& config, StepRunner& runner, BlockPool& pool)
    : config_(config),
      runner_(runner),
      pool_(pool),
      kv_(pool),
      cost_(config.cost_model),
      scheduler_(config.scheduler, kv_, &cost_) {
  stats_.kv_blocks_total = pool.n_blocks();
}

Engine::~Engine() {
  // Whatever is still in flight ends, so that every sink sees its finish event.
  std::vector<RequestId> ids;
  for (const auto& [id, s] : seqs_) ids.push_back(id);
  for (const RequestId id : ids) cancel(id);
  kv_.flush_to_tier();
}

double Engine::now() const {
  if (config_.clock) return config_.clock();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

Status Engine::validate(const GenerateRequest& r) const {
  RETURN_IF_ERROR(validate_request(r));
  if (static_cast<std::int32_t>(scheduler_.n_waiting()) >= config_.max_waiting) {
    return resource_exhausted_error("the request queue is full ({} waiting); retry later", scheduler_.n_waiting());
  }
  return ok_status();
}

Status Engine::validate_request(const GenerateRequest& r) const {
  const std::int32_t n_vocab = runner_.n_vocab();
  if (r.prompt.empty()) return invalid_argument_error("the prompt is empty");
  const auto n_prompt = static_cast<std::int64_t>(r.prompt.size());
  if (n_prompt >= config_.n_ctx) {
    return invalid_argument_error("the prompt has {} tokens; this model's context holds {} (prompt and completion)",
                                  n_prompt, config_.n_ctx);
  }
  if (r.max_tokens < 0) return invalid_argument_error("max_tokens must not be negative");
  if (r.cache_shared_tokens < 0) return invalid_argument_error("cache_shared_tokens must not be negative");
  if (r.max_tokens > 0 && n_prompt + r.max_tokens > config_.n_ctx) {
    return invalid_argument_error("the prompt ({} tokens) plus max_tokens ({}) exceeds the context of {} tokens",
                                  n_prompt, r.max_tokens, config_.n_ctx);
  }
  // The whole sequence must fit in the cache, or it could never finish.
  const std::int64_t capacity = static_cast<std::int64_t>(pool_.n_blocks()) * pool_.block_size();
  if (n_prompt + 1 > capacity) {
    return invalid_argument_error("the prompt has {} tokens; the KV cache holds {}", n_prompt, capacity);
  }
  for (const TokenId t : r.prompt) {
    if (t < 0 || t >= n_vocab) return invalid_argument_error("token id {} is outside the vocabulary of {}", t, n_vocab);
  }
  for (const TokenId t : r.stop_token_ids) {
    if (t < 0 || t >= n_vocab)
      return invalid_argument_error("stop token id {} is outside the vocabulary of {}", t, n_vocab);
  }
  RETURN_IF_ERROR(r.sampling.validate(n_vocab));
  if (r.grammar != nullptr && r.grammar->vocabulary().n_tokens() > n_vocab) {
    return invalid_argument_error("the grammar was compiled for a vocabulary of {} tokens; this model has {}",
                                  r.grammar->vocabulary().n_tokens(), n_vocab);
  }
  for (const TokenId t : r.grammar_triggers) {
    if (t < 0 || t >= n_vocab)
      return invalid_argument_error("grammar trigger token {} is outside the vocabulary of {}", t, n_vocab);
  }
  return ok_status();
}

void Engine::add(RequestId id, GenerateRequest request, std::shared_ptr<RequestSink> sink) {
  auto seq = std::make_unique<Sequence>();
  seq->id = id;
  seq->n_prompt = static_cast<std::int32_t>(request.prompt.size());
  seq->tokens = request.prompt;
  const std::int32_t room = config_.n_ctx - seq->n_prompt;
  seq->max_output = request.max_tokens > 0 ? std::min(request.max_tokens, room) : room;
  seq->sampler.emplace(request.sampling, runner_.n_vocab());
  seq->sampler->set_prompt(request.prompt);
  seq->cache_scope_key = pool_.scope_key(request.cache_scope);
  if (kv_.tier() != nullptr) seq->tier_scope = tier_scope_id(request.cache_scope);
  seq->n_shared = std::clamp(request.cache_shared_tokens, 0, seq->n_prompt);
  if (request.grammar != nullptr && request.grammar_triggers.empty()) seq->matcher.emplace(request.grammar);
  seq->request = std::move(request);
  seq->sink = std::move(sink);
  seq->arrival_order = next_arrival_++;
  seq->arrival_s = now();
  stats_.prompt_tokens += seq->n_prompt;
  scheduler_.add(seq.get());
  seqs_.emplace(id, std::move(seq));
}

void Engine::cancel(RequestId id) {
  const auto it = seqs_.find(id);
  if (it == seqs_.end()) return;
  finish(*it->second, FinishReason::kCancelled);
}

void Engine::finish(Sequence& seq, FinishReason reason, std::string message) {
  scheduler_.remove(&seq);
  FinishEvent e;
  e.reason = reason;
  e.message = std::move(message);
  e.prompt_tokens = seq.n_prompt;
  e.completion_tokens = seq.n_output();
  e.cached_prompt_tokens = seq.cached_prompt_tokens;
  e.preemptions = seq.preemptions;
  const double t = now();
  e.timings.queue_s = seq.first_scheduled_s >= 0 ? seq.first_scheduled_s - seq.arrival_s : t - seq.arrival_s;
  e.timings.ttft_s = seq.first_token_s >= 0 ? seq.first_token_s - seq.arrival_s : 0.0;
  e.timings.total_s = t - seq.arrival_s;
  ++stats_.requests_finished;
  const RequestId id = seq.id;
  std::shared_ptr<RequestSink> sink = seq.sink;
  seqs_.erase(id);  // `seq` is gone from here on
  if (sink) sink->on_event(id, std::move(e));
}

void Engine::fail_step(const StepPlan& plan, const Status& status) {
  log_error("forward pass failed, failing {} requests: {}", plan.seqs.size(), status.to_string());
  for (const ScheduledSeq& s : plan.seqs) finish(*s.seq, FinishReason::kError, std::string(status.message()));
}

bool Engine::step() {
  const double t_start = now();
  StepPlan plan = scheduler_.schedule();
  stats_.preemptions += static_cast<std::int64_t>(plan.preempted.size());
  if (plan.empty()) return false;
  for (const BlockCopy& c : plan.copies) runner_.copy_block(c.src, c.dst);

  std::vector<TokenId> tokens;
  tokens.reserve(static_cast<std::size_t>(plan.n_tokens));
  std::vector<ForwardSeq> fseqs;
  fseqs.reserve(plan.seqs.size());
  std::size_t n_logits = 0;
  for (const ScheduledSeq& s : plan.seqs) {
    Sequence& q = *s.seq;
    if (q.first_scheduled_s < 0) {
      q.first_scheduled_s = t_start;
      stats_.prefix_hit_tokens += q.cached_prompt_tokens;
    }
    tokens.insert(tokens.end(), q.tokens.begin() + q.n_computed, q.tokens.begin() + q.n_computed + s.n_tokens);
    fseqs.push_back({s.n_tokens, q.n_computed, q.blocks, s.wants_logits});
    n_logits += s.wants_logits ? 1 : 0;
  }
  logits_.resize(n_logits * static_cast<std::size_t>(runner_.n_vocab()));
  if (Status st = runner_.forward({tokens, fseqs}, logits_); !st.ok()) {
    fail_step(plan, st);
    return true;
  }
  ++stats_.steps;

  const double t_done = now();
  std::size_t row = 0;
  for (const ScheduledSeq& s : plan.seqs) {
    Sequence& q = *s.seq;
    kv_.commit(q, s.n_tokens);
    if (!s.wants_logits) continue;
    std::span<float> logits(logits_.data() + row * static_cast<std::size_t>(runner_.n_vocab()),
                            static_cast<std::size_t>(runner_.n_vocab()));
    ++row;
    sample_next(q, logits, t_done);
  }
  record_step(plan, now() - t_start);
  return true;
}

void Engine::record_step(const StepPlan& plan, double seconds) {
  cost_.observe(plan.shape, seconds);
  stats_.step_seconds_total += seconds;
  if (config_.scheduler.target_step_s > 0 && seconds > config_.scheduler.target_step_s) ++stats_.steps_over_target;
}

std::optional<std::span<const std::uint64_t>> Engine::grammar_mask(Sequence& q) {
  if (!q.matcher) return std::span<const std::uint64_t>();
  const auto t0 = std::chrono::steady_clock::now();
  q.matcher->fill_mask(mask_);
  stats_.grammar_mask_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ++stats_.grammar_masks;
  if (mask_.none()) return std::nullopt;
  return std::span<const std::uint64_t>(mask_.words());
}

bool Engine::sample_next(Sequence& q, std::span<float> logits, double t_done) {
  const auto allowed = grammar_mask(q);
  if (!allowed) {
    finish(q, FinishReason::kError, "the grammar allows no token here");
    return false;
  }
  SampleResult r = q.sampler->sample(logits, *allowed);
  if (r.fallback) {
    finish(q, FinishReason::kError, "the model produced no finite logits");
    return false;
  }
  const TokenId token = r.token;
  if (q.matcher && !q.matcher->accept(token)) {
    finish(q, FinishReason::kError, "internal error: a sampled token is outside the grammar");
    return false;
  }
  q.sampler->accept(token);
  q.tokens.push_back(token);
  ++stats_.generated_tokens;
  if (q.first_token_s < 0) q.first_token_s = t_done;
  const bool eog = (!q.request.ignore_eos || q.matcher) &&
                   std::find(config_.eog_tokens.begin(), config_.eog_tokens.end(), token) != config_.eog_tokens.end();
  const bool stop = eog || std::find(q.request.stop_token_ids.begin(), q.request.stop_token_ids.end(), token) !=
                               q.request.stop_token_ids.end();
  if (stop) {
    finish(q, FinishReason::kStop);
    return false;
  }
  TokenEvent e;
  e.tokens.push_back(token);
  if (q.request.sampling.n_logprobs >= 0) e.logprobs.push_back(std::move(r));
  if (q.sink) q.sink->on_event(q.id, std::move(e));
  if (q.matcher && q.matcher->is_complete()) {
    finish(q, FinishReason::kStop);
    return false;
  }
  if (!q.matcher && q.request.grammar != nullptr &&
      std::find(q.request.grammar_triggers.begin(), q.request.grammar_triggers.end(), token) !=
          q.request.grammar_triggers.end()) {
    q.matcher.emplace(q.request.grammar, /*at_output_start=*/false);
  }
  if (q.n_output() >= q.max_output || static_cast<std::int32_t>(q.tokens.size()) >= config_.n_ctx) {
    finish(q, FinishReason::kLength);
    return false;
  }
  return true;
}

EngineStats Engine::stats() const {
  EngineStats s = stats_;
  s.waiting = static_cast<std::int64_t>(scheduler_.n_waiting());
  s.running = static_cast<std::int64_t>(scheduler_.n_running());
  for (const Priority p : {Priority::kInteractive, Priority::kBatch}) {
    s.waiting_by_priority[priority_index(p)] = static_cast<std::int64_t>(scheduler_.n_waiting(p));
    s.running_by_priority[priority_index(p)] = static_cast<std::int64_t>(scheduler_.n_running(p));
  }
  s.target_step_seconds = config_.scheduler.target_step_s;
  s.step_cost_error = cost_.error();
  s.step_cost_coefficients = cost_.coefficients();
  s.kv_blocks_used = pool_.n_in_use();
  s.kv_blocks_cached = pool_.n_cached();
  if (const KvTier* t = kv_.tier(); t != nullptr) s.kv_tier = t->stats();
  return s;
}

}  // namespace parley
