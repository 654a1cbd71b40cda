// What saving a streamed reply as it streams costs the engine thread (issue 18,
// docs/reliability.md): ConversationReply::on_text per piece of text, with checkpoints off, every
// second (the default) and due at every piece (the worst case: a write always in flight on the
// pool, against a real SQLite store in a temporary directory). One iteration is one reply of
// kPieces pieces of text, then its end (the final write, on the pool as in every variant).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "gateway/conversation_reply.h"
#include "store/open_store.h"

namespace parley {
namespace {

constexpr int kPieces = 256;

class NullResponder final : public HttpResponder {
 public:
  void respond(int, HttpHeaders, std::string) override {}
  void start_stream(int, HttpHeaders) override {}
  bool write(std::string) override { return true; }
  void finish() override {}
  bool disconnected() const override { return false; }
  void on_disconnect(std::function<void()>) override {}
};

void BM_ReplyOnText(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / ("parley_ckpt_bench_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto store = store::open_store("sqlite:" + (dir / "parley.db").string());
  if (!store.ok()) return state.SkipWithError(store.status().to_string().c_str());
  auto user = (*store)->create_user({"bench@example.com", "Bench", store::UserRole::kUser, ""});
  auto conv = (*store)->create_conversation(user->id, "bench");
  store::NewMessage q;
  q.conversation_id = conv->id;
  q.content = "question";
  auto question = (*store)->append_message(user->id, q);
  if (!question.ok()) return state.SkipWithError(question.status().to_string().c_str());
  ReplyCheckpointOptions ck;
  ck.checkpoint_interval = std::chrono::milliseconds(state.range(0));
  {
    auto context = std::make_shared<ConversationContext>(**store, 2, 1 << 20, ck);
    auto responder = std::make_shared<NullResponder>();
    for (auto _ : state) {
      ConversationReply::Params p;
      p.context = context;
      p.principal.user_id = user->id;
      p.conversation_id = conv->id;
      p.parent_id = question->id;
      p.model = "bench";
      p.responder = responder;
      auto reply = std::make_shared<ConversationReply>(std::move(p));
      reply->on_start();
      for (int i = 0; i < kPieces; ++i) benchmark::DoNotOptimize(reply->on_text(" token"));
      GenerationOutcome o;
      o.finish_reason = "length";
      for (int i = 0; i < kPieces; ++i) o.text += " token";
      reply->on_end(std::move(o));
    }
    state.SetItemsProcessed(state.iterations() * kPieces);
    context->pool.shutdown();  // the writes still queued
  }
  store->reset();
  std::filesystem::remove_all(dir);
}
// 0: off; 1000: the default; 1: a checkpoint due at every piece.
BENCHMARK(BM_ReplyOnText)
    ->Arg(0)
    ->Arg(1000)
    ->Arg(1)
    ->Iterations(200)  // bounded: every reply queues its final write on the pool
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace parley

BENCHMARK_MAIN();
