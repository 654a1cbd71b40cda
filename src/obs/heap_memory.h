// The C allocator's memory: what the heap holds in use and free, and a trimmer that hands the free
// pages back to the system (docs/reliability.md#soak, docs/operations.md).
//
// Why: glibc's malloc gives each busy thread an arena of its own and keeps the pages of freed
// chunks. Under a long, mixed load (a server's) the arenas' holes move about, so the memory the
// heap holds creeps up while what is in use stays flat: RSS grows although nothing leaks (the
// 20-minute soak measured +0.12 MiB a minute before this). malloc_trim(0) returns every whole free
// page inside the arenas (madvise), not only the top of each; run every minute it keeps RSS at what
// is in use plus what one minute of traffic frees.
//
//   parley_malloc_in_use_bytes               the heap in use (mmapped blocks included)
//   parley_malloc_free_bytes                 held by the arenas, free (part of it not resident)
//   parley_malloc_trims_total                trims run
//   parley_malloc_trim_seconds_total         time spent in them (each holds the arenas' locks)
//   parley_malloc_trim_released_bytes_total  resident memory they gave back (RSS before - after)
//
// Without glibc the figures stay at 0 and trimming does nothing.
#pragma once

#include <chrono>
#include <cstdint>

#include "base/periodic.h"
#include "base/result.h"
#include "obs/metrics.h"

namespace parley {

struct HeapStats {
  std::int64_t in_use_bytes = 0;  // allocated and not freed, mmapped blocks included
  std::int64_t free_bytes = 0;    // free chunks the arenas keep (resident or not)
};

// The allocator's figures now (kUnavailable without glibc). Locks each arena while it walks its
// bins: cheap enough for a scrape, not for a hot path.
Result<HeapStats> read_heap_stats();

struct TrimResult {
  std::int64_t released_bytes = 0;  // resident memory before - after (0 when it grew meanwhile)
  double seconds = 0;
};

// Gives the arenas' free whole pages back to the system (malloc_trim(0)).
TrimResult trim_heap();

// Registers parley_malloc_in_use_bytes and parley_malloc_free_bytes, read at every render.
void add_heap_metrics(MetricsRegistry& registry);

// Trims every `interval` on a thread of its own and counts it in the parley_malloc_trim* series.
// Thread safety: constructed and destroyed on one thread; `trims()` from any.
class HeapTrimmer {
 public:
  HeapTrimmer(MetricsRegistry& registry, std::chrono::milliseconds interval);
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

  std::int64_t trims() const { return static_cast<std::int64_t>(trims_.value()); }

 private:
  void trim();

  Counter& trims_;
  Counter& seconds_;
  Counter& released_;
  Periodic periodic_;  // last: stopped before the rest goes
};

}  // namespace parley
