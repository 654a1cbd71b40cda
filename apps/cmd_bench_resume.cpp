// `parley bench resume`: the next turn of a long conversation whose KV was evicted from the pool,
// with and without the KV disk tier, and after a restart; and the decode rate with and without
// the tier writing evicted blocks in the background (A/B alternated in one run).
#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "apps/cli.h"
#include "base/rng.h"
#include "engine/local_engine.h"
#include "kernels/backend.h"
#include "model/model.h"

namespace parley::cli {
namespace {

struct ResumeArgs {
  std::string model;
  int history = 1500;  // tokens of the conversation so far
  int turn = 20;       // tokens of the next user message
  int decode = 64;     // tokens generated in the decode measurements
  int rounds = 3;      // A/B rounds of the decode measurement
  int threads = 0;
  std::string dir;  // the tier's directory (default: a temporary one, removed)
  bool json = false;
};

class Waiter final : public RequestSink {
 public:
  void on_event(RequestId, EngineEvent event) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto* f = std::get_if<FinishEvent>(&event)) {
      finish = *f;
      done = true;
      cv_.notify_all();
    }
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done; });
  }
  FinishEvent finish;
  bool done = false;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

struct Bench {
  const ResumeArgs& a;
  const Model& model;
  std::string tier_dir;

  Result<std::unique_ptr<LocalEngine>> start(bool tier) const {
    LocalEngineOptions o;
    const std::int32_t total = a.history + a.turn + a.decode + 1;
    o.engine.n_ctx = total;
    o.engine.scheduler.max_running = 1;
    o.engine.scheduler.max_batch_tokens = 512;
    o.engine.scheduler.target_step_s = 0;
    // Room for one conversation: the next one evicts the last one's blocks.
    o.n_blocks = (total + o.block_size - 1) / o.block_size + 2;
    if (tier) {
      o.kv_disk_bytes = std::int64_t{64} << 30;
      o.kv_disk_dir = tier_dir;
    }
    return LocalEngine::start(model, o);
  }
  static FinishEvent run(LocalEngine& e, std::vector<TokenId> prompt, int gen) {
    GenerateRequest r;
    r.prompt = std::move(prompt);
    r.max_tokens = gen;
    r.ignore_eos = true;
    r.sampling.temperature = 0;
    r.cache_scope = "bench";
    auto w = std::make_shared<Waiter>();
    if (!e.submit(std::move(r), w).ok()) return {};
    w->wait();
    return w->finish;
  }
  std::vector<TokenId> tokens(std::uint64_t seed, int n) const {
    Rng rng(seed);
    std::vector<TokenId> t(static_cast<std::size_t>(n));
    for (auto& x : t) x = static_cast<TokenId>(rng.below(static_cast<std::uint64_t>(model.hparams().n_vocab)));
    return t;
  }
  std::vector<TokenId> next_turn() const {
    auto t = tokens(1, a.history);
    const auto more = tokens(2, a.turn);
    t.insert(t.end(), more.begin(), more.end());
    return t;
  }
  // The conversation, then another one that evicts it; with a tier, until its writes are done.
  static void wait_written(LocalEngine& e) {
    while (e.stats().kv_tier.queued > 0) ::usleep(10000);
  }
  void converse_then_evict(LocalEngine& e, std::uint64_t filler) const {
    run(e, tokens(1, a.history), 1);
    run(e, tokens(filler, a.history + a.turn), 1);
  }
  // Drops the tier's files from the page cache (a restart after a deploy reads them from disk).
  void drop_cached_files() const {
    std::error_code ec;
    for (const auto& d : std::filesystem::recursive_directory_iterator(tier_dir, ec)) {
      if (!d.is_regular_file(ec)) continue;
      const int fd = ::open(d.path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      ::close(fd);
    }
  }
};

double decode_rate(const FinishEvent& f, int gen) {
  const double s = f.timings.total_s - f.timings.ttft_s;
  return s > 0 ? (gen - 1) / s : 0;
}

int run_bench_resume(const ResumeArgs& a) {
  Result<std::unique_ptr<Backend>> backend = create_backend("cpu", {.n_threads = a.threads});
  if (!backend.ok()) return fail("bench resume", backend.status());
  Result<std::unique_ptr<Model>> model = Model::load(a.model, **backend);
  if (!model.ok()) return fail("bench resume", model.status());
  std::string dir = a.dir;
  const bool temporary = dir.empty();
  if (temporary) dir = (std::filesystem::temp_directory_path() / fmt::format("parley-resume-{}", ::getpid())).string();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  Bench b{a, **model, dir};
  boost::json::object out;
  // (One engine runs at a time: they share the backend.)
  // Recompute: no tier; the conversation, then another one that evicts it, then the next turn.
  auto plain = b.start(false);
  if (!plain.ok()) return fail("bench resume", plain.status());
  b.converse_then_evict(**plain, 3);
  const double recompute = Bench::run(**plain, b.next_turn(), 1).timings.ttft_s;
  // Resume: the same with the tier, once its writes are done (read from the files).
  auto tiered = b.start(true);
  if (!tiered.ok()) return fail("bench resume", tiered.status());
  b.converse_then_evict(**tiered, 3);
  Bench::wait_written(**tiered);
  const FinishEvent resumed = Bench::run(**tiered, b.next_turn(), 1);
  const KvTierStats loaded = (*tiered)->stats().kv_tier;
  // Decode, A/B alternated: both pools are full of cached blocks, so every block the decode fills
  // evicts one, which the tiered engine writes to its tier meanwhile.
  double with = 0, without = 0;
  for (int r = 0; r < a.rounds; ++r) {
    for (const bool tier : {false, true}) {
      auto prompt = b.next_turn();
      prompt.push_back(static_cast<TokenId>(100 + r));
      const FinishEvent f = Bench::run(tier ? **tiered : **plain, prompt, a.decode);
      (tier ? with : without) += decode_rate(f, a.decode) / a.rounds;
    }
  }
  const std::int64_t stored_while_decoding = (*tiered)->stats().kv_tier.stored - loaded.stored;
  plain->reset();
  tiered->reset();  // offers its cached blocks to the tier, which writes them before closing
  // Restart: a new engine over the same directory, its files dropped from the page cache.
  b.drop_cached_files();
  auto restarted = b.start(true);
  if (!restarted.ok()) return fail("bench resume", restarted.status());
  const FinishEvent after = Bench::run(**restarted, b.next_turn(), 1);
  restarted->reset();
  if (temporary) std::filesystem::remove_all(dir, ec);

  out["history_tokens"] = a.history;
  out["turn_tokens"] = a.turn;
  out["ttft_recompute_s"] = recompute;
  out["ttft_resume_s"] = resumed.timings.ttft_s;
  out["resume_cached_tokens"] = resumed.cached_prompt_tokens;
  out["tier_blocks_loaded"] = loaded.hits;
  out["tier_mib_read"] = static_cast<double>(loaded.bytes_read) / (1 << 20);
  out["ttft_restart_s"] = after.timings.ttft_s;
  out["restart_cached_tokens"] = after.cached_prompt_tokens;
  out["resume_speedup"] = resumed.timings.ttft_s > 0 ? recompute / resumed.timings.ttft_s : 0.0;
  out["restart_speedup"] = after.timings.ttft_s > 0 ? recompute / after.timings.ttft_s : 0.0;
  out["decode_tok_s_without_tier"] = without;
  out["decode_tok_s_with_tier"] = with;
  out["decode_blocks_stored"] = stored_while_decoding;
  if (a.json) {
    fmt::print("{}\n", boost::json::serialize(out));
    return kExitOk;
  }
  fmt::print(
      "history {} + {} tokens: ttft_recompute_s {:.3f}  ttft_resume_s {:.3f} ({:.1f}x, {} tokens from the tier)  "
      "ttft_restart_s {:.3f} ({:.1f}x, {} tokens)\n",
      a.history, a.turn, recompute, resumed.timings.ttft_s, out["resume_speedup"].as_double(),
      resumed.cached_prompt_tokens, after.timings.ttft_s, out["restart_speedup"].as_double(),
      after.cached_prompt_tokens);
  fmt::print("decode tok/s: without tier {:.2f}, with the tier writing {:.2f} ({:+.1f}%, {} blocks stored meanwhile)\n",
             without, with, without > 0 ? 100.0 * (with - without) / without : 0.0, stored_while_decoding);
  return kExitOk;
}

}  // namespace

CLI::App* add_bench_resume_command(CLI::App& bench, int* exit_code) {
  auto args = std::make_shared<ResumeArgs>();
  CLI::App* cmd = bench.add_subcommand(
      "resume",
      "Time to first token of the next turn of a conversation whose KV was evicted: recomputed, resumed from the KV "
      "disk tier, and resumed after a restart; and decode tok/s with and without the tier writing");
  cmd->add_option("--model", args->model, "GGUF model file")->required();
  cmd->add_option("--history", args->history, "Tokens of the conversation so far")->capture_default_str();
  cmd->add_option("--turn", args->turn, "Tokens of the next message")->capture_default_str();
  cmd->add_option("--decode", args->decode, "Tokens generated in each decode measurement")->capture_default_str();
  cmd->add_option("--rounds", args->rounds, "A/B rounds of the decode measurement")->capture_default_str();
  cmd->add_option("--dir", args->dir, "Directory of the tier (default: a temporary one, removed)");
  cmd->add_option("-t,--threads", args->threads, "CPU threads (0: all cores)")->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([args, exit_code] { *exit_code = run_bench_resume(*args); });
  return cmd;
}

}  // namespace parley::cli
