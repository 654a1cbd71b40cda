#include "obs/heap_memory.h"

#include <algorithm>

#include "obs/process_metrics.h"

// glibc's allocator, unless a sanitizer's replaces it (its figures would then be glibc's idle ones).
#if defined(__SANITIZE_ADDRESS__)
#define PARLEY_SANITIZED_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define PARLEY_SANITIZED_MALLOC 1
#endif
#endif
#if defined(__GLIBC__) && !defined(PARLEY_SANITIZED_MALLOC)
#define PARLEY_GLIBC_MALLOC 1
#include <malloc.h>
#endif

namespace parley {

Result<HeapStats> read_heap_stats() {
#if defined(PARLEY_GLIBC_MALLOC)
  const struct mallinfo2 m = mallinfo2();
  HeapStats s;
  s.in_use_bytes = static_cast<std::int64_t>(m.uordblks + m.hblkhd);
  s.free_bytes = static_cast<std::int64_t>(m.fordblks);
  return s;
#else
  return unavailable_error("heap statistics need glibc's malloc (not a sanitizer's)");
#endif
}

TrimResult trim_heap() {
  TrimResult r;
#if defined(PARLEY_GLIBC_MALLOC)
  const Result<ProcessStats> before = read_process_stats();
  const auto t0 = std::chrono::steady_clock::now();
  malloc_trim(0);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Result<ProcessStats> after = read_process_stats();
  if (before.ok() && after.ok()) {
    r.released_bytes = std::max<std::int64_t>(0, before->resident_bytes - after->resident_bytes);
  }
#endif
  return r;
}

void add_heap_metrics(MetricsRegistry& registry) {
  Gauge& in_use =
      registry.gauge("parley_malloc_in_use_bytes", "Bytes of the C allocator's heap in use (mmapped blocks included)")
          .with({});
  Gauge& free = registry
                    .gauge("parley_malloc_free_bytes",
                           "Bytes the C allocator's arenas hold free; the trimmer gives their whole pages back")
                    .with({});
  registry.on_collect([&in_use, &free] {
    const Result<HeapStats> s = read_heap_stats();
    if (!s.ok()) return;
    in_use.set(static_cast<double>(s->in_use_bytes));
    free.set(static_cast<double>(s->free_bytes));
  });
}

HeapTrimmer::HeapTrimmer(MetricsRegistry& registry, std::chrono::milliseconds interval)
    : trims_(registry.counter("parley_malloc_trims_total", "Trims of the C allocator's free pages").with({})),
      seconds_(registry.counter("parley_malloc_trim_seconds_total", "Time spent trimming the C allocator").with({})),
      released_(registry
                    .counter("parley_malloc_trim_released_bytes_total",
                             "Resident bytes the trims gave back to the system (RSS before - after)")
                    .with({})),
      periodic_(interval, [this] { trim(); }) {}

void HeapTrimmer::trim() {
  const TrimResult r = trim_heap();
  trims_.inc();
  seconds_.inc(r.seconds);
  released_.inc(static_cast<double>(r.released_bytes));
}

}  // namespace parley
