// `parley bench serve --scenario flood`: is one tenant's flood felt by another? Tenant A sends C
// long prompts at once; tenant B sends short chats one after another. Three phases on one engine
// (so its step cost model is warm): B alone, A alone, then A's flood with B's chats starting
// --chat-delay-ms after it and going on until the flood is done. Reports B's time to first token
// and inter-token latency (p50/p99/max) alone and under the flood, and A's throughput (prompt and
// generated tokens per second, from its first request to its last token) alone and with B.
#include <fmt/core.h>

#include <boost/json.hpp>
#include <thread>

#include "apps/bench_serve_driver.h"
#include "apps/cli.h"
#include "base/rng.h"
#include "kernels/backend.h"
#include "model/model.h"

namespace parley::cli {
namespace {

struct ChatFigures {
  std::vector<double> ttft, itl;
  int n = 0;
};

struct FloodFigures {
  double makespan_s = 0;
  std::int64_t tokens = 0;  // prompt + generated
  std::int64_t generated = 0;
  std::vector<double> ttft;
  double tok_s() const { return makespan_s > 0 ? static_cast<double>(tokens) / makespan_s : 0.0; }
};

class FloodRun {
 public:
  FloodRun(const ServeBenchArgs& a, EngineClient& engine, std::int32_t n_vocab)
      : a_(a), engine_(engine), n_vocab_(n_vocab) {}

  Result<RequestId> submit(const std::shared_ptr<Driver>& d, const std::string& tenant, int prompt, int gen) {
    GenerateRequest r;
    r.prompt.resize(static_cast<std::size_t>(prompt));
    for (auto& x : r.prompt) x = static_cast<TokenId>(rng_.below(static_cast<std::uint64_t>(n_vocab_)));
    r.max_tokens = gen;
    r.ignore_eos = true;
    r.sampling.temperature = 0.8f;
    r.sampling.seed = ++seed_;
    r.sampling.has_seed = true;
    r.tenant = tenant;
    r.cache_scope = tenant;
    const auto t = BenchClock::now();
    ASSIGN_OR_RETURN(const RequestId id, engine_.submit(std::move(r), d));
    d->expect(id, t);
    return id;
  }

  // B's chats one after another until `stop` says so (at least one).
  template <typename Stop>
  Result<std::vector<RequestId>> chats(const std::shared_ptr<Driver>& d, Stop stop) {
    std::vector<RequestId> ids;
    do {
      ASSIGN_OR_RETURN(const RequestId id, submit(d, "B", a_.chat_prompt, a_.chat_gen));
      ids.push_back(id);
      d->wait_done(id);
      std::this_thread::sleep_for(std::chrono::milliseconds(a_.chat_pause_ms));
    } while (!stop(static_cast<int>(ids.size())));
    return ids;
  }

  Result<std::vector<RequestId>> flood(const std::shared_ptr<Driver>& d) {
    std::vector<RequestId> ids;
    for (int i = 0; i < a_.concurrency; ++i) {
      ASSIGN_OR_RETURN(const RequestId id, submit(d, "A", a_.prompt_tokens, a_.gen_tokens));
      ids.push_back(id);
    }
    return ids;
  }

 private:
  const ServeBenchArgs& a_;
  EngineClient& engine_;
  std::int32_t n_vocab_;
  Rng rng_{11};
  std::uint64_t seed_ = 0;
};

ChatFigures chat_figures(Driver& d, const std::vector<RequestId>& ids) {
  ChatFigures f;
  const auto traces = d.traces();
  for (const RequestId id : ids) {
    const Trace& t = traces.at(id);
    if (t.token_times.empty()) continue;
    ++f.n;
    f.ttft.push_back(seconds_between(t.submitted, t.token_times.front()));
    for (std::size_t i = 1; i < t.token_times.size(); ++i) {
      f.itl.push_back(seconds_between(t.token_times[i - 1], t.token_times[i]));
    }
  }
  return f;
}

FloodFigures flood_figures(Driver& d, const std::vector<RequestId>& ids) {
  FloodFigures f;
  const auto traces = d.traces();
  BenchClock::time_point first = BenchClock::time_point::max(), last = BenchClock::time_point::min();
  for (const RequestId id : ids) {
    const Trace& t = traces.at(id);
    first = std::min(first, t.submitted);
    if (t.token_times.empty()) continue;
    last = std::max(last, t.token_times.back());
    f.ttft.push_back(seconds_between(t.submitted, t.token_times.front()));
    f.tokens += t.finish.prompt_tokens + static_cast<std::int64_t>(t.token_times.size());
    f.generated += static_cast<std::int64_t>(t.token_times.size());
  }
  f.makespan_s = last > first ? seconds_between(first, last) : 0.0;
  return f;
}

boost::json::object chat_json(const ChatFigures& f) {
  return {{"chats", f.n},
          {"ttft_p50_s", percentile(f.ttft, 0.5)},
          {"ttft_p99_s", percentile(f.ttft, 0.99)},
          {"ttft_max_s", percentile(f.ttft, 1.0)},
          {"itl_p50_s", percentile(f.itl, 0.5)},
          {"itl_p99_s", percentile(f.itl, 0.99)},
          {"itl_max_s", percentile(f.itl, 1.0)}};
}

boost::json::object flood_json(const FloodFigures& f) {
  return {{"makespan_s", f.makespan_s},
          {"tok_s", f.tok_s()},
          {"generated", f.generated},
          {"ttft_p50_s", percentile(f.ttft, 0.5)},
          {"ttft_max_s", percentile(f.ttft, 1.0)}};
}

void print_chat(std::string_view label, const ChatFigures& f) {
  fmt::print(
      "{:<12} {:>3} chats: ttft p50 {:.3f} s, p99 {:.3f} s, max {:.3f} s; itl p50 {:.3f} s, p99 {:.3f} s, max {:.3f} "
      "s\n",
      label, f.n, percentile(f.ttft, 0.5), percentile(f.ttft, 0.99), percentile(f.ttft, 1.0), percentile(f.itl, 0.5),
      percentile(f.itl, 0.99), percentile(f.itl, 1.0));
}

void print_flood(std::string_view label, const FloodFigures& f, const FloodFigures* base) {
  fmt::print("{:<12} {:.1f} s for the flood: {:.1f} tok/s (prompt + generated){}; ttft p50 {:.2f} s, max {:.2f} s\n",
             label, f.makespan_s, f.tok_s(),
             base != nullptr && base->tok_s() > 0
                 ? fmt::format(", {:+.1f}% vs alone", 100 * (f.tok_s() / base->tok_s() - 1))
                 : std::string(),
             percentile(f.ttft, 0.5), percentile(f.ttft, 1.0));
}

}  // namespace

int run_bench_flood(const ServeBenchArgs& a) {
  if (a.concurrency < 1 || a.prompt_tokens < 1 || a.gen_tokens < 1 || a.chat_prompt < 1 || a.chat_gen < 1 ||
      a.chat_pause_ms < 0 || a.chat_delay_ms < 0 || a.chats_alone < 1) {
    return fail("bench serve", invalid_argument_error("flood: counts must be positive, delays not negative"));
  }
  Result<std::unique_ptr<Backend>> backend = create_backend("cpu", {.n_threads = a.threads});
  if (!backend.ok()) return fail("bench serve", backend.status());
  Result<std::unique_ptr<Model>> model = Model::load(a.model, **backend);
  if (!model.ok()) return fail("bench serve", model.status());

  LocalEngineOptions o;
  const int flood_len = a.prompt_tokens + a.gen_tokens, chat_len = a.chat_prompt + a.chat_gen;
  o.engine.n_ctx = std::max(flood_len, chat_len) + 1;
  o.engine.max_waiting = a.concurrency + 4;
  apply_scheduler_args(a, "cpu", &o.engine.scheduler);
  o.engine.scheduler.max_running = a.concurrency + 2;
  o.n_blocks = (a.concurrency * (flood_len + o.block_size) + 2 * (chat_len + o.block_size)) / o.block_size + 8;
  Result<std::unique_ptr<LocalEngine>> engine = LocalEngine::start(**model, o);
  if (!engine.ok()) return fail("bench serve", engine.status());
  FloodRun run(a, **engine, (*model)->hparams().n_vocab);

  auto d_alone = std::make_shared<Driver>(), d_flood = std::make_shared<Driver>(), d_both = std::make_shared<Driver>();
  Result<std::vector<RequestId>> b_alone = run.chats(d_alone, [&](int n) { return n >= a.chats_alone; });
  if (!b_alone.ok()) return fail("bench serve", b_alone.status());
  Result<std::vector<RequestId>> a_alone = run.flood(d_flood);
  if (!a_alone.ok()) return fail("bench serve", a_alone.status());
  d_flood->wait_finished(a.concurrency);
  Result<std::vector<RequestId>> a_both = run.flood(d_both);
  if (!a_both.ok()) return fail("bench serve", a_both.status());
  std::this_thread::sleep_for(std::chrono::milliseconds(a.chat_delay_ms));
  Result<std::vector<RequestId>> b_both = run.chats(d_both, [&](int) { return d_both->all_done(*a_both); });
  if (!b_both.ok()) return fail("bench serve", b_both.status());
  const EngineStats stats = (*engine)->stats();
  engine->reset();

  const ChatFigures chat_alone = chat_figures(*d_alone, *b_alone), chat_flood = chat_figures(*d_both, *b_both);
  const FloodFigures flood_alone = flood_figures(*d_flood, *a_alone), flood_both = flood_figures(*d_both, *a_both);
  const double over =
      stats.steps > 0 ? static_cast<double>(stats.steps_over_target) / static_cast<double>(stats.steps) : 0;
  if (a.json) {
    boost::json::object j{{"model", a.model},
                          {"scenario", "flood"},
                          {"flood_requests", a.concurrency},
                          {"flood_prompt_tokens", a.prompt_tokens},
                          {"flood_gen_tokens", a.gen_tokens},
                          {"chat_prompt_tokens", a.chat_prompt},
                          {"chat_gen_tokens", a.chat_gen},
                          {"chat_pause_ms", a.chat_pause_ms},
                          {"target_step_s", stats.target_step_seconds},
                          {"b_alone", chat_json(chat_alone)},
                          {"b_under_flood", chat_json(chat_flood)},
                          {"a_alone", flood_json(flood_alone)},
                          {"a_with_b", flood_json(flood_both)},
                          {"steps", stats.steps},
                          {"steps_over_target", stats.steps_over_target},
                          {"step_cost_error", stats.step_cost_error},
                          {"step_cost_ms", cost_json(stats)},
                          {"preemptions", stats.preemptions}};
    fmt::print("{}\n", boost::json::serialize(j));
    return kExitOk;
  }
  fmt::print("model        {}\n", a.model);
  fmt::print("flood        tenant A: {} requests at once, {} prompt + {} generated tokens each\n", a.concurrency,
             a.prompt_tokens, a.gen_tokens);
  fmt::print(
      "chats        tenant B: {} prompt + {} generated tokens, one after another (pause {} ms), from {} ms after the "
      "flood\n",
      a.chat_prompt, a.chat_gen, a.chat_pause_ms, a.chat_delay_ms);
  fmt::print("scheduler    step target {:.0f} ms, step budget {} tokens, {} prompts per tenant at once\n",
             1000 * stats.target_step_seconds, a.batch_tokens, a.max_prefill_per_tenant);
  print_chat("B alone", chat_alone);
  print_chat("B in flood", chat_flood);
  print_flood("A alone", flood_alone, nullptr);
  print_flood("A with B", flood_both, &flood_alone);
  fmt::print("cost model   {}\n", cost_text(stats));
  fmt::print("engine       {} steps, {:.1f}% over the target; step cost model error {:.1f}%; {} preemptions\n",
             stats.steps, 100 * over, 100 * stats.step_cost_error, stats.preemptions);
  return kExitOk;
}

}  // namespace parley::cli
