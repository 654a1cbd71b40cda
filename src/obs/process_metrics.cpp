#include "obs/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <vector>

namespace parley {
namespace {

std::string read_text(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::int64_t boot_time_seconds() {
  std::istringstream in(read_text("/proc/stat"));
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      std::int64_t t = 0;
      in >> t;
      return t;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

std::int64_t count_open_fds() {
  std::error_code ec;
  std::int64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  return ec ? 0 : n - 1;  // the iterator's own descriptor
}

}  // namespace

bool parse_proc_stat(std::string_view stat, std::int64_t clock_ticks, std::int64_t page_bytes, std::int64_t boot_time,
                     ProcessStats* out) {
  // "pid (comm) state ppid ...": the command may hold spaces and parentheses; the fields start
  // after the last ')'. Field 3 (state) is the first after it.
  const std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos || clock_ticks <= 0) return false;
  std::vector<std::string_view> f;  // f[0] = field 3
  std::size_t pos = close + 1;
  while (pos < stat.size()) {
    while (pos < stat.size() && stat[pos] == ' ') ++pos;
    const std::size_t end = std::min(stat.find(' ', pos), stat.size());
    if (end > pos) f.push_back(stat.substr(pos, end - pos));
    pos = end;
  }
  if (f.size() < 22) return false;
  auto num = [&](std::size_t field, std::int64_t* v) {
    const std::string_view s = f[field - 3];
    const auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
  };
  std::int64_t utime = 0, stime = 0, threads = 0, start = 0, vsize = 0, rss = 0;
  if (!num(14, &utime) || !num(15, &stime) || !num(20, &threads) || !num(22, &start) || !num(23, &vsize) ||
      !num(24, &rss)) {
    return false;
  }
  out->cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(clock_ticks);
  out->threads = threads;
  out->start_time_seconds =
      static_cast<double>(boot_time) + static_cast<double>(start) / static_cast<double>(clock_ticks);
  out->virtual_bytes = vsize;
  out->resident_bytes = rss * page_bytes;
  return true;
}

Result<ProcessStats> read_process_stats() {
  ProcessStats s;
  const std::string stat = read_text("/proc/self/stat");
  if (stat.empty() || !parse_proc_stat(stat, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), boot_time_seconds(), &s)) {
    return unavailable_error("process statistics: /proc/self/stat is missing or unreadable");
  }
  s.open_fds = count_open_fds();
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) s.max_fds = static_cast<std::int64_t>(lim.rlim_cur);
  return s;
}

void add_process_metrics(MetricsRegistry& registry) {
  Gauge& rss = registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
                   .with(std::vector<std::string>{});
  Gauge& vms =
      registry.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.").with(std::vector<std::string>{});
  Gauge& fds = registry.gauge("process_open_fds", "Open file descriptors.").with(std::vector<std::string>{});
  Gauge& max_fds =
      registry.gauge("process_max_fds", "The limit on open file descriptors.").with(std::vector<std::string>{});
  Gauge& threads = registry.gauge("process_threads", "Threads of the process.").with(std::vector<std::string>{});
  Gauge& start =
      registry.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.")
          .with(std::vector<std::string>{});
  registry.on_collect([&rss, &vms, &fds, &max_fds, &threads, &start] {
    const Result<ProcessStats> s = read_process_stats();
    if (!s.ok()) return;
    rss.set(static_cast<double>(s->resident_bytes));
    vms.set(static_cast<double>(s->virtual_bytes));
    fds.set(static_cast<double>(s->open_fds));
    max_fds.set(static_cast<double>(s->max_fds));
    threads.set(static_cast<double>(s->threads));
    start.set(s->start_time_seconds);
  });
}

}  // namespace parley
