// Process metrics in Prometheus' standard names, read from /proc at every scrape: resident and
// virtual memory, open file descriptors and their limit, threads and start time. They show a leak
// (memory, descriptors, threads) in a soak or in production without other tools.
//
//   process_resident_memory_bytes  process_virtual_memory_bytes  process_open_fds
//   process_max_fds  process_threads  process_start_time_seconds
//
// On a system without /proc (not Linux) the gauges stay at 0.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "obs/metrics.h"

namespace parley {

struct ProcessStats {
  std::int64_t resident_bytes = 0;
  std::int64_t virtual_bytes = 0;
  std::int64_t open_fds = 0;
  std::int64_t max_fds = 0;
  std::int64_t threads = 0;
  double cpu_seconds = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};

// This process's figures now (kUnavailable without /proc).
Result<ProcessStats> read_process_stats();

// Parses the text of /proc/<pid>/stat (fields after the command name) and of /proc/stat's
// "btime" line into `out`'s threads, CPU, memory and start-time fields; false when malformed.
bool parse_proc_stat(std::string_view stat, std::int64_t clock_ticks, std::int64_t page_bytes, std::int64_t boot_time,
                     ProcessStats* out);

// Registers the gauges above in `registry`, refreshed before every render.
void add_process_metrics(MetricsRegistry& registry);

}  // namespace parley
