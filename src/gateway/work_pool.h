// WorkPool: a fixed set of threads with a bounded queue, for request work that must not run on
// the HTTP I/O threads (net/http_responder.h: a handler must not block its I/O thread, which
// serves every other connection on it). The gateway keeps two:
//   - the request pool: database calls (authentication, keys, usage, admin) and request
//     preparation (chat template, tokenizer) for /v1 and /api;
//   - the password pool: Argon2id hashing and verification, ~0.1 s of CPU and 64 MiB each, capped
//     at about the number of cores so that a flood of log-in attempts can neither starve the
//     request pool nor exhaust memory (auth/password.h);
// and the conversation API keeps one for its database work and for saving replies.
// A full queue refuses new work at once (try_submit returns false): the caller answers 503 with
// Retry-After rather than letting latency and memory grow without bound.
//
// Thread safety: every method may be called from any thread, including a pool thread (but
// shutdown() not from a pool thread). shutdown() (also run by the destructor) stops accepting,
// runs what is queued, and joins the threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace parley {

class WorkPool {
 public:
  // `name` labels the threads (for debuggers and top -H).
  WorkPool(std::string name, int n_threads, std::size_t max_queued);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Queues `task`; false (and `task` is dropped) when max_queued tasks are already waiting or
  // the pool is stopping. An exception escaping a task is logged and swallowed.
  bool try_submit(std::function<void()> task);

  // Work that must happen (saving a finished reply): queued whatever the bound; after shutdown
  // it runs at once on the caller.
  void post(std::function<void()> task);

  // Stops accepting, runs what is queued, joins the threads. Idempotent.
  void shutdown();

  // Tasks waiting (not yet running).
  std::size_t queued() const;
  // Tasks waiting or running.
  std::size_t pending() const;

 private:
  void run();

  std::string name_;
  std::size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::size_t running_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace parley
