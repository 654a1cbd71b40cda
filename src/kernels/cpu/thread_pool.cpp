#include "kernels/cpu/thread_pool.h"

#include <chrono>

#include "base/check.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define PARLEY_CPU_RELAX() _mm_pause()
#else
#define PARLEY_CPU_RELAX() std::this_thread::yield()
#endif

namespace parley {
namespace {
// How long an idle worker spins before it sleeps: long enough to bridge the gap between the
// kernels of one forward pass, short enough not to burn a core between requests.
constexpr auto kSpin = std::chrono::microseconds(200);
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads) {
  CHECK(n_threads >= 1, "a thread pool needs at least one thread, got {}", n_threads);
  workers_.reserve(static_cast<std::size_t>(n_threads - 1));
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_seq_cst);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  wake_sleepers();
  for (auto& w : workers_) w.join();
}

void ThreadPool::wake_sleepers() {
  // Dekker with worker(): the generation was bumped (seq_cst) before this load; a worker bumps
  // sleepers_ (seq_cst) before re-reading the generation under the mutex. Either it sees the new
  // generation, or we see it sleeping and notify after it is waiting (the mutex orders that).
  if (sleepers_.load(std::memory_order_seq_cst) == 0) return;
  { std::lock_guard<std::mutex> lock(mutex_); }
  cv_.notify_all();
}

void ThreadPool::run_impl(Trampoline fn, void* ctx) {
  // One caller at a time is the contract (a backend is driven by one thread); break it loudly
  // rather than corrupt a call in flight.
  CHECK(!busy_.exchange(true, std::memory_order_acquire), "ThreadPool::run called from two threads at once");
  struct Idle {
    std::atomic<bool>& busy;
    ~Idle() { busy.store(false, std::memory_order_release); }
  } idle{busy_};
  if (n_threads_ == 1) {
    fn(ctx, 0);
    return;
  }
  fn_ = fn;
  ctx_ = ctx;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  wake_sleepers();
  fn(ctx, 0);
  // Yield now and then: with more threads than cores, the workers we wait for need our core.
  for (int spins = 1; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    PARLEY_CPU_RELAX();
    if (spins % 256 == 0) std::this_thread::yield();
  }
}

void ThreadPool::worker(int index) {
  // Not generation_.load(): run() may already have been called before this thread got here, and
  // that call must not be missed. Workers start before any run(), at generation 0.
  std::uint32_t seen = 0;
  for (;;) {
    // Spin, then sleep, until the generation moves.
    const auto deadline = std::chrono::steady_clock::now() + kSpin;
    std::uint32_t now = generation_.load(std::memory_order_acquire);
    int spins = 0;
    while (now == seen) {
      PARLEY_CPU_RELAX();
      if (++spins % 256 == 0) std::this_thread::yield();
      if (spins % 64 == 0 && std::chrono::steady_clock::now() > deadline) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        cv_.wait(lock, [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
      now = generation_.load(std::memory_order_acquire);
    }
    seen = now;
    if (stop_.load(std::memory_order_acquire)) return;
    fn_(ctx_, index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace parley
