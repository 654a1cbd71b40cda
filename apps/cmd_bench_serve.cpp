// `parley bench serve`: load on the serving engine, in process. C requests arrive at once; each
// one that finishes is replaced until N are done. Reports aggregate generated tok/s, time to
// first token, inter-token latency and the prefix-cache hit rate. Requests take turns over
// --cache-scopes prefix-cache scopes (as accounts do), to measure what scoping costs.
// `--scenario flood` measures fairness instead (bench_serve_flood.cpp).
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>

#include "apps/bench_serve_driver.h"
#include "apps/cli.h"
#include "base/rng.h"
#include "engine/local_engine.h"
#include "engine/local_model.h"
#include "kernels/backend.h"
#include "model/model.h"

namespace parley::cli {
namespace {

using Clock = BenchClock;

int run_bench_serve(const ServeBenchArgs& a) {
  if (a.scenario == "flood") return run_bench_flood(a);
  if (a.concurrency < 1 || a.requests < 1 || a.prompt_tokens < 1 || a.gen_tokens < 1 || a.shared_prefix < 0 ||
      a.cache_scopes < 1) {
    return fail("bench serve", invalid_argument_error(
                                   "concurrency, requests, prompt and gen tokens and cache scopes must be positive"));
  }
  Result<std::unique_ptr<Backend>> backend = create_backend("cpu", {.n_threads = a.threads});
  if (!backend.ok()) return fail("bench serve", backend.status());
  Result<std::unique_ptr<Model>> model = Model::load(a.model, **backend);
  if (!model.ok()) return fail("bench serve", model.status());
  const ModelHParams& h = (*model)->hparams();

  const int per_request = a.shared_prefix + a.prompt_tokens + a.gen_tokens;
  LocalEngineOptions o;
  o.engine.n_ctx = per_request + 1;  // what these requests need; the cache is sized for them
  o.engine.max_waiting = a.requests;
  apply_scheduler_args(a, (*backend)->name(), &o.engine.scheduler);
  o.engine.scheduler.max_running = a.concurrency;
  Result<TensorType> kv_type = parse_kv_type(a.kv_type);
  if (!kv_type.ok()) return fail("bench serve", kv_type.status());
  o.kv_type = *kv_type;
  // Room for every running request plus the shared prefix staying cached.
  o.n_blocks = (a.concurrency * (per_request + o.block_size) + a.shared_prefix) / o.block_size + 8;
  Result<std::unique_ptr<LocalEngine>> engine = LocalEngine::start(**model, o);
  if (!engine.ok()) return fail("bench serve", engine.status());

  Rng rng(7);
  const auto random_tokens = [&](int n) {
    std::vector<TokenId> t(static_cast<std::size_t>(n));
    for (auto& x : t) x = static_cast<TokenId>(rng.below(static_cast<std::uint64_t>(h.n_vocab)));
    return t;
  };
  const std::vector<TokenId> prefix = random_tokens(a.shared_prefix);
  auto driver = std::make_shared<Driver>();
  int submitted = 0;
  const auto submit_one = [&]() -> Status {
    GenerateRequest r;
    r.prompt = prefix;
    const auto own = random_tokens(a.prompt_tokens);
    r.prompt.insert(r.prompt.end(), own.begin(), own.end());
    r.max_tokens = a.gen_tokens;
    r.ignore_eos = true;  // every request generates exactly gen_tokens
    r.sampling.temperature = 0.8f;
    r.sampling.seed = static_cast<std::uint64_t>(submitted);
    r.sampling.has_seed = true;
    r.tenant = "user" + std::to_string(submitted % 4);
    r.cache_scope = "scope" + std::to_string(submitted % a.cache_scopes);
    if (a.public_prefix) r.cache_shared_tokens = a.shared_prefix;
    const auto t = Clock::now();
    ASSIGN_OR_RETURN(const RequestId id, (*engine)->submit(std::move(r), driver));
    driver->expect(id, t);
    ++submitted;
    return ok_status();
  };

  const auto start = Clock::now();
  for (int i = 0; i < std::min(a.concurrency, a.requests); ++i) {
    if (Status st = submit_one(); !st.ok()) return fail("bench serve", st);
  }
  for (int done = 1; done <= a.requests; ++done) {
    driver->wait_finished(done);
    if (submitted < a.requests) {
      if (Status st = submit_one(); !st.ok()) return fail("bench serve", st);
    }
  }
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const EngineStats stats = (*engine)->stats();
  engine->reset();

  std::vector<double> ttft, ttft_hit, ttft_cold, itl;
  std::int64_t generated = 0;
  for (const auto& [id, t] : driver->traces()) {
    if (t.token_times.empty()) continue;
    const double first = std::chrono::duration<double>(t.token_times.front() - t.submitted).count();
    ttft.push_back(first);
    (t.finish.cached_prompt_tokens > 0 ? ttft_hit : ttft_cold).push_back(first);
    for (std::size_t i = 1; i < t.token_times.size(); ++i) {
      itl.push_back(std::chrono::duration<double>(t.token_times[i] - t.token_times[i - 1]).count());
    }
    generated += static_cast<std::int64_t>(t.token_times.size());
  }
  const double gen_tok_s = static_cast<double>(generated) / wall;
  if (a.json) {
    boost::json::object j{{"model", a.model},
                          {"concurrency", a.concurrency},
                          {"requests", a.requests},
                          {"prompt_tokens", a.prompt_tokens},
                          {"gen_tokens", a.gen_tokens},
                          {"kv_type", a.kv_type},
                          {"shared_prefix", a.shared_prefix},
                          {"cache_scopes", a.cache_scopes},
                          {"public_prefix", a.public_prefix},
                          {"wall_s", wall},
                          {"gen_tok_s", gen_tok_s},
                          {"ttft_mean_s", mean(ttft)},
                          {"ttft_p50_s", percentile(ttft, 0.5)},
                          {"ttft_p99_s", percentile(ttft, 0.99)},
                          {"ttft_cold_mean_s", mean(ttft_cold)},
                          {"ttft_hit_mean_s", mean(ttft_hit)},
                          {"itl_mean_s", mean(itl)},
                          {"itl_p99_s", percentile(itl, 0.99)},
                          {"prefix_hit_rate", stats.prefix_hit_rate()},
                          {"preemptions", stats.preemptions},
                          {"steps", stats.steps},
                          {"target_step_s", stats.target_step_seconds},
                          {"steps_over_target", stats.steps_over_target},
                          {"step_cost_error", stats.step_cost_error},
                          {"step_cost_ms", cost_json(stats)}};
    fmt::print("{}\n", boost::json::serialize(j));
    return kExitOk;
  }
  fmt::print("model        {}\n", a.model);
  fmt::print("load         {} requests, {} at a time, {} + {} prompt tokens, {} generated each\n", a.requests,
             a.concurrency, a.shared_prefix, a.prompt_tokens, a.gen_tokens);
  fmt::print("kv cache     {}\n", a.kv_type);
  fmt::print("cache scopes {}{}\n", a.cache_scopes, a.public_prefix ? " (shared prefix declared public)" : "");
  fmt::print("throughput   {:.1f} generated tok/s ({} tokens in {:.1f} s, {} steps)\n", gen_tok_s, generated, wall, stats.steps);
  fmt::print("ttft         mean {:.3f} s, p50 {:.3f} s, p99 {:.3f} s\n", mean(ttft), percentile(ttft, 0.5), percentile(ttft, 0.99));
  if (!ttft_hit.empty()) {
    fmt::print("             prefix hit {:.3f} s mean ({} requests), cold {:.3f} s ({} requests): {:.1f}x\n", mean(ttft_hit),
               ttft_hit.size(), mean(ttft_cold), ttft_cold.size(), mean(ttft_hit) > 0 ? mean(ttft_cold) / mean(ttft_hit) : 0.0);
  }
  fmt::print("itl          mean {:.3f} s, p99 {:.3f} s\n", mean(itl), percentile(itl, 0.99));
  fmt::print("prefix cache hit rate {:.1f}% of prompt tokens; {} preemptions\n", 100 * stats.prefix_hit_rate(),
             stats.preemptions);
  fmt::print("steps        target {:.0f} ms, {} of {} steps over it; step cost model error {:.1f}%\n",
             1000 * stats.target_step_seconds, stats.steps_over_target, stats.steps, 100 * stats.step_cost_error);
  fmt::print("cost model   {}\n", cost_text(stats));
  return kExitOk;
}

}  // namespace

CLI::App* add_bench_serve_command(CLI::App& bench, int* exit_code) {
  auto args = std::make_shared<ServeBenchArgs>();
  CLI::App* cmd = bench.add_subcommand(
      "serve",
      "Load the serving engine in process: C requests at once, each finished one replaced until N are done; reports "
      "generated tok/s, time to first token, inter-token latency and prefix-cache hit rate");
  cmd->add_option("--model", args->model, "GGUF model file")->required();
  cmd->add_option("-c,--concurrency", args->concurrency, "Requests in flight")->capture_default_str();
  cmd->add_option("-N,--requests", args->requests, "Requests in total")->capture_default_str();
  cmd->add_option("-p,--prompt-tokens", args->prompt_tokens, "Prompt tokens per request (after the shared prefix)")
      ->capture_default_str();
  cmd->add_option("-g,--gen-tokens", args->gen_tokens, "Generated tokens per request")->capture_default_str();
  cmd->add_option("--shared-prefix", args->shared_prefix, "Tokens of a prefix (system prompt) common to all requests")
      ->capture_default_str();
  cmd->add_option("--cache-scopes", args->cache_scopes,
                  "Prefix-cache scopes the requests take turns over (as accounts): a prefix is shared only within one")
      ->capture_default_str();
  cmd->add_flag("--public-prefix", args->public_prefix,
                "Declare the shared prefix public (cache_shared_tokens), as an operator's system prompt: every scope "
                "reuses it");
  cmd->add_option("--batch-tokens", args->batch_tokens, "Token budget per engine step")->capture_default_str();
  cmd->add_option("--target-itl-ms", args->target_itl_ms,
                  "Latency target of an engine step, ms (negative: the backend's default; 0: none)")
      ->capture_default_str();
  cmd->add_option("--max-prefill-per-tenant", args->max_prefill_per_tenant,
                  "Prompts one tenant may have in prefill at once (0: no bound)")
      ->capture_default_str();
  cmd->add_option("--scenario", args->scenario,
                  "steady: C requests at a time; flood: tenant A sends C prompts of -p tokens at once while tenant B "
                  "sends short chats one after another (B alone, A alone, then both)")
      ->capture_default_str()
      ->check(CLI::IsMember({"steady", "flood"}));
  cmd->add_option("--chat-prompt", args->chat_prompt, "flood: tokens of each of B's prompts")->capture_default_str();
  cmd->add_option("--chat-gen", args->chat_gen, "flood: tokens each of B's chats generates")->capture_default_str();
  cmd->add_option("--chat-pause-ms", args->chat_pause_ms, "flood: pause between B's chats")->capture_default_str();
  cmd->add_option("--chat-delay-ms", args->chat_delay_ms, "flood: B's first chat after A's flood starts")
      ->capture_default_str();
  cmd->add_option("--chats-alone", args->chats_alone, "flood: B's chats with nothing else running")
      ->capture_default_str();
  cmd->add_option("-t,--threads", args->threads, "CPU threads (0: all cores)")->capture_default_str();
  cmd->add_option("--kv-type", args->kv_type, "KV cache element type: f16 or q8_0")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([args, exit_code] { *exit_code = run_bench_serve(*args); });
  return cmd;
}

}  // namespace parley::cli
