// The KV disk tier under a real (synthetic) model: a conversation whose blocks were evicted from
// the pool resumes from the tier with the tokens a cold run gives, after a restart too; scopes
// never cross; a full disk means recomputing, with the same tokens.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "base/check.h"
#include "base/rng.h"
#include "engine/engine.h"
#include "engine/local_engine.h"
#include "fake_runner.h"
#include "kernels/backend.h"
#include "kv/disk_kv_tier.h"
#include "model/model.h"
#include "model/synth.h"
#include "synth_shapes.h"
#include "tokenizer/builtin_vocab.h"

namespace parley {
namespace {

class Sink final : public RequestSink {
 public:
  void on_event(RequestId, EngineEvent event) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto* t = std::get_if<TokenEvent>(&event)) {
      tokens.insert(tokens.end(), t->tokens.begin(), t->tokens.end());
    } else {
      finish = std::get<FinishEvent>(event);
      done = true;
      cv_.notify_all();
    }
  }
  bool wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(120), [this] { return done; });
  }
  std::vector<TokenId> tokens;
  FinishEvent finish;
  bool done = false;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
};

constexpr std::int32_t kBlock = 16;

class KvTierEngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("parley_kvtier_" + std::to_string(::getpid()) + GetParam());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto md = builtin_vocab_metadata("bytes");
    SynthOptions o = testing::two_layer_synth();
    o.arch = GetParam();
    o.std = 0.05f;
    o.threads = 1;
    const std::string path = (dir_ / "m.gguf").string();
    CHECK(synth_model(o, *md, path).ok());
    backend_ = std::move(*create_backend("cpu", {.n_threads = 2}));
    model_ = std::move(*Model::load(path, *backend_));
  }
  void TearDown() override {
    model_.reset();
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }
  // 12 blocks of 16 tokens; with a tier when `tier` is set.
  std::unique_ptr<LocalEngine> start(bool tier) {
    LocalEngineOptions o;
    o.engine.n_ctx = 512;
    o.engine.scheduler = {.max_batch_tokens = 512, .max_running = 1};
    o.n_blocks = 12;
    o.block_size = kBlock;
    if (tier) {
      o.kv_disk_bytes = 64 << 20;
      o.kv_disk_dir = (dir_ / "kv").string();
    }
    auto e = LocalEngine::start(*model_, o);
    CHECK(e.ok(), "{}", e.status().to_string());
    return std::move(*e);
  }
  static std::vector<TokenId> prompt(std::uint64_t seed, int n) {
    Rng rng(seed);
    std::vector<TokenId> p;
    for (int i = 0; i < n; ++i) p.push_back(static_cast<TokenId>(rng.below(200)));
    return p;
  }
  static std::shared_ptr<Sink> run(LocalEngine& e, const std::vector<TokenId>& p, std::int32_t n,
                                   const std::string& scope = "alice") {
    GenerateRequest r;
    r.prompt = p;
    r.max_tokens = n;
    r.sampling.temperature = 0;
    r.cache_scope = scope;
    auto s = std::make_shared<Sink>();
    CHECK(e.submit(std::move(r), s).ok());
    CHECK(s->wait());
    return s;
  }
  // Fills the pool with two other conversations, evicting every cached block of earlier ones.
  static void evict(LocalEngine& e) {
    run(e, prompt(900, 150), 8, "filler");
    run(e, prompt(901, 150), 8, "filler");
  }
  // The first turn (80 tokens, 8 generated) and the next one (its history plus 20 tokens).
  std::vector<TokenId> next_turn(const std::vector<TokenId>& first, const std::vector<TokenId>& reply) const {
    std::vector<TokenId> t = first;
    t.insert(t.end(), reply.begin(), reply.end());
    for (TokenId x : prompt(77, 20)) t.push_back(x);
    return t;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Model> model_;
};

TEST_P(KvTierEngineTest, EvictedConversationResumesFromTheTierWithTheColdTokens) {
  const auto first = prompt(1, 80);
  std::vector<TokenId> cold_reply, cold_next;
  cold_reply = run(*start(false), first, 8)->tokens;
  cold_next = run(*start(false), next_turn(first, cold_reply), 12)->tokens;
  auto e = start(true);
  EXPECT_EQ(run(*e, first, 8)->tokens, cold_reply);
  evict(*e);
  const auto resumed = run(*e, next_turn(first, cold_reply), 12);
  EXPECT_EQ(resumed->tokens, cold_next);
  EXPECT_EQ(resumed->finish.cached_prompt_tokens, 80);  // 5 full blocks of the first turn
  const KvTierStats s = e->stats().kv_tier;
  EXPECT_GE(s.hits, 5);
  EXPECT_GT(s.stored, 0);
}

TEST_P(KvTierEngineTest, ScopesNeverCross) {
  const auto first = prompt(2, 80);
  auto e = start(true);
  const auto reply = run(*e, first, 8, "alice")->tokens;
  evict(*e);
  const std::int64_t hits = e->stats().kv_tier.hits;
  const auto bob = run(*e, next_turn(first, reply), 4, "bob");
  EXPECT_EQ(bob->finish.cached_prompt_tokens, 0);
  EXPECT_EQ(e->stats().kv_tier.hits, hits);
  evict(*e);
  const auto alice = run(*e, next_turn(first, reply), 4, "alice");
  EXPECT_EQ(alice->finish.cached_prompt_tokens, 80);
  EXPECT_EQ(alice->tokens, bob->tokens);
}

TEST_P(KvTierEngineTest, AConversationResumesAfterARestart) {
  const auto first = prompt(3, 80);
  std::vector<TokenId> reply, cold_next;
  reply = run(*start(false), first, 8)->tokens;
  cold_next = run(*start(false), next_turn(first, reply), 12)->tokens;
  {
    auto e = start(true);
    EXPECT_EQ(run(*e, first, 8)->tokens, reply);
  }  // the engine offers its cached blocks to the tier; the tier writes them before it closes
  auto e = start(true);
  const auto resumed = run(*e, next_turn(first, reply), 12);
  EXPECT_EQ(resumed->tokens, cold_next);
  EXPECT_EQ(resumed->finish.cached_prompt_tokens, 80);
  EXPECT_GE(e->stats().kv_tier.hits, 5);
}

TEST_P(KvTierEngineTest, AFullDiskMeansRecomputing) {
  const auto first = prompt(4, 80);
  std::vector<TokenId> reply, cold_next;
  reply = run(*start(false), first, 8)->tokens;
  cold_next = run(*start(false), next_turn(first, reply), 12)->tokens;
  auto e = start(true);
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 1000;  // every block file write fails, as on a full disk
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  run(*e, first, 8);
  evict(*e);
  // Wait for the writer to fail every block handed to it (no timing: the counts converge).
  for (int i = 0; i < 2000; ++i) {
    const KvTierStats s = e->stats().kv_tier;
    if (s.stored > 0 && s.queued == 0) break;
    ::usleep(5000);
  }
  const auto resumed = run(*e, next_turn(first, reply), 12);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  EXPECT_EQ(resumed->tokens, cold_next);
  EXPECT_EQ(resumed->finish.cached_prompt_tokens, 0);
  EXPECT_GT(e->stats().kv_tier.write_errors, 0);
  EXPECT_EQ(e->stats().kv_tier.hits, 0);
}

// A tier whose writer falls behind (a slow disk, held here) fills its write queue: the engine
// drops the blocks it evicts beyond the queue, counts them, and serves every request meanwhile.
TEST_P(KvTierEngineTest, AFullWriteQueueDropsBlocksAndTheEngineNeverWaits) {
  const ModelHParams& h = model_->hparams();
  KvLayout layout{h.n_layer, h.n_head_kv, h.head_dim_k, kBlock, 12, TensorType::kF16};
  auto runner = ModelStepRunner::create(*model_, layout, {.max_batch_tokens = 512, .max_seqs = 1});
  ASSERT_TRUE(runner.ok()) << runner.status().to_string();
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  DiskKvTierOptions to;
  to.dir = (dir_ / "kv").string();
  const std::string_view model_id = "full-queue";
  to.root = tier_root(tier_hash(std::as_bytes(std::span(model_id.data(), model_id.size()))), "test");
  to.block_bytes = (*runner)->block_bytes();
  to.block_size = kBlock;
  to.max_queue_bytes = 2 * to.block_bytes;
  to.before_write = [&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
  };
  auto tier = DiskKvTier::open(to);
  ASSERT_TRUE(tier.ok()) << tier.status().to_string();
  BlockPool pool(12, kBlock);
  EngineConfig c;
  c.n_ctx = 512;
  c.scheduler = {.max_batch_tokens = 512, .max_running = 1};
  auto engine = std::make_unique<Engine>(c, **runner, pool);
  engine->attach_kv_tier(tier->get());
  std::vector<std::shared_ptr<testing::RecordingSink>> sinks;
  const std::vector<TokenId> prompts[] = {prompt(5, 80), prompt(902, 150), prompt(903, 150)};
  for (std::size_t i = 0; i < 3; ++i) {
    GenerateRequest r;
    r.prompt = prompts[i];
    r.max_tokens = 8;
    r.sampling.temperature = 0;
    r.cache_scope = "alice";
    sinks.push_back(std::make_shared<testing::RecordingSink>());
    engine->add(static_cast<RequestId>(i + 1), std::move(r), sinks.back());
  }
  // Every request completes while the writer is held: evictions never wait for the disk.
  for (int s = 0; s < 1000 && engine->has_work(); ++s) engine->step();
  EXPECT_FALSE(engine->has_work());
  for (const auto& sink : sinks) EXPECT_TRUE(sink->finished);
  const KvTierStats st = engine->stats().kv_tier;
  EXPECT_EQ(st.stored, 2);  // the queue's two blocks
  EXPECT_GT(st.write_drops, 0);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  engine.reset();  // offers its cached blocks, waiting for room now that the writer runs
  (*tier)->flush();
  EXPECT_GE((*tier)->stats().blocks, 2);
}

INSTANTIATE_TEST_SUITE_P(Archs, KvTierEngineTest, ::testing::Values("llama", "qwen2", "qwen3"));

}  // namespace
}  // namespace parley
