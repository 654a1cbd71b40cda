#include "router/engine_metrics.h"

#include <algorithm>
#include <memory>

namespace parley {

EngineMetrics::EngineMetrics(MetricsRegistry& r)
    : registry(r),
      queue_depth(r.gauge("parley_queue_depth", "Requests waiting to be admitted by the engine.", {"model"})),
      running(r.gauge("parley_running_requests", "Requests the engine is computing.", {"model"})),
      kv_usage(
          r.gauge("parley_kv_cache_usage_ratio", "Fraction of KV cache blocks held by running requests.", {"model"})),
      kv_blocks(
          r.gauge("parley_kv_cache_blocks", "KV cache blocks by state (used, cached, free).", {"model", "state"})),
      prefix_hit_rate(r.gauge("parley_prefix_cache_hit_rate",
                              "Fraction of admitted prompt tokens served from the prefix cache.", {"model"})),
      preemptions(r.counter("parley_preemptions_total", "Requests preempted for lack of KV blocks.", {"model"})),
      prefix_hit_tokens(
          r.counter("parley_prefix_cache_hit_tokens_total", "Prompt tokens served from the prefix cache.", {"model"})),
      grammar_masks(
          r.counter("parley_grammar_masks_total", "Token masks computed for constrained requests.", {"model"})),
      grammar_mask_seconds(
          r.counter("parley_grammar_mask_seconds_total", "Engine-thread time spent computing token masks.", {"model"})),
      kv_tier_blocks(r.counter("parley_kv_tier_blocks_total",
                               "KV disk tier blocks by event: loaded (hits), missed, stored, evicted (LRU), dropped "
                               "(write queue full), failed (write errors), rejected (failed verification).",
                               {"model", "event"})),
      kv_tier_bytes(r.counter("parley_kv_tier_bytes_total", "KV disk tier payload bytes written and read.",
                              {"model", "direction"})),
      kv_tier_size(r.gauge("parley_kv_tier_size_bytes", "Bytes the KV disk tier holds.", {"model"})),
      queue_depth_by_priority(r.gauge("parley_queue_depth_by_priority",
                                      "Requests waiting to be admitted by the engine, per priority class.",
                                      {"model", "priority"})),
      running_by_priority(r.gauge("parley_running_requests_by_priority",
                                  "Requests the engine is computing, per priority class.", {"model", "priority"})),
      step_target(r.gauge("parley_engine_step_target_seconds",
                          "Latency target of an engine step (0: none): the inter-token latency the scheduler keeps.",
                          {"model"})),
      steps(r.counter("parley_engine_steps_total", "Engine steps (forward passes) run.", {"model"})),
      steps_over_target(r.counter("parley_engine_steps_over_target_total",
                                  "Engine steps that took longer than the latency target.", {"model"})),
      step_cost_error(r.gauge("parley_engine_step_cost_model_error_ratio",
                              "Running mean of |predicted - measured| / measured step time of the step cost model.",
                              {"model"})) {}

void EngineMetrics::watch(const std::string& model, const EngineClient& engine) {
  // Engine totals are monotonic; counters advance by the difference since the last scrape.
  auto last = std::make_shared<EngineStats>();
  registry.on_collect([this, model, &engine, last] {
    const EngineStats s = engine.stats();
    queue_depth.with({model}).set(static_cast<double>(s.waiting));
    running.with({model}).set(static_cast<double>(s.running));
    const double total = static_cast<double>(std::max<std::int64_t>(1, s.kv_blocks_total));
    kv_usage.with({model}).set(static_cast<double>(s.kv_blocks_used) / total);
    kv_blocks.with({model, "used"}).set(static_cast<double>(s.kv_blocks_used));
    kv_blocks.with({model, "cached"}).set(static_cast<double>(s.kv_blocks_cached));
    kv_blocks.with({model, "free"}).set(static_cast<double>(s.kv_blocks_total - s.kv_blocks_used - s.kv_blocks_cached));
    prefix_hit_rate.with({model}).set(s.prefix_hit_rate());
    // A remote engine's totals restart with its worker: count from there rather than backwards.
    const auto delta = [](double now, double before) { return now >= before ? now - before : now; };
    preemptions.with({model}).inc(delta(static_cast<double>(s.preemptions), static_cast<double>(last->preemptions)));
    prefix_hit_tokens.with({model}).inc(
        delta(static_cast<double>(s.prefix_hit_tokens), static_cast<double>(last->prefix_hit_tokens)));
    grammar_masks.with({model}).inc(
        delta(static_cast<double>(s.grammar_masks), static_cast<double>(last->grammar_masks)));
    grammar_mask_seconds.with({model}).inc(delta(s.grammar_mask_seconds, last->grammar_mask_seconds));
    for (const Priority p : {Priority::kInteractive, Priority::kBatch}) {
      const std::string name(priority_name(p));
      queue_depth_by_priority.with({model, name}).set(static_cast<double>(s.waiting_by_priority[priority_index(p)]));
      running_by_priority.with({model, name}).set(static_cast<double>(s.running_by_priority[priority_index(p)]));
    }
    step_target.with({model}).set(s.target_step_seconds);
    steps.with({model}).inc(delta(static_cast<double>(s.steps), static_cast<double>(last->steps)));
    steps_over_target.with({model}).inc(
        delta(static_cast<double>(s.steps_over_target), static_cast<double>(last->steps_over_target)));
    step_cost_error.with({model}).set(s.step_cost_error);
    const KvTierStats &t = s.kv_tier, &lt = last->kv_tier;
    const auto tier_inc = [&](const char* event, std::int64_t now, std::int64_t before) {
      if (now != 0 || before != 0) {
        kv_tier_blocks.with({model, event}).inc(delta(static_cast<double>(now), static_cast<double>(before)));
      }
    };
    tier_inc("loaded", t.hits, lt.hits);
    tier_inc("missed", t.misses, lt.misses);
    tier_inc("stored", t.stored, lt.stored);
    tier_inc("evicted", t.evictions, lt.evictions);
    tier_inc("dropped", t.write_drops, lt.write_drops);
    tier_inc("failed", t.write_errors, lt.write_errors);
    tier_inc("rejected", t.rejected, lt.rejected);
    if (t.bytes_written != 0 || t.bytes_read != 0) {
      kv_tier_bytes.with({model, "written"})
          .inc(delta(static_cast<double>(t.bytes_written), static_cast<double>(lt.bytes_written)));
      kv_tier_bytes.with({model, "read"}).inc(delta(static_cast<double>(t.bytes_read), static_cast<double>(lt.bytes_read)));
      kv_tier_size.with({model}).set(static_cast<double>(t.bytes));
    }
    *last = s;
  });
}

}  // namespace parley
