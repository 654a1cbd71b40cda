#include "obs/process_metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

namespace parley {
namespace {

TEST(ProcessMetrics, ParsesProcStatWithAnAwkwardCommandName) {
  // A command name with spaces and a ')' inside; utime 250 + stime 50 ticks at 100 Hz = 3 s;
  // 7 threads; started 1000 ticks after boot; 4096 resident pages of 4 KiB.
  const std::string stat =
      "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 1000 123456789 4096 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0";
  ProcessStats s;
  ASSERT_TRUE(parse_proc_stat(stat, 100, 4096, 1'700'000'000, &s));
  EXPECT_DOUBLE_EQ(s.cpu_seconds, 3.0);
  EXPECT_EQ(s.threads, 7);
  EXPECT_DOUBLE_EQ(s.start_time_seconds, 1'700'000'010.0);
  EXPECT_EQ(s.virtual_bytes, 123456789);
  EXPECT_EQ(s.resident_bytes, 4096 * 4096);
  EXPECT_FALSE(parse_proc_stat("1234 (x) S 1 2", 100, 4096, 0, &s));
  EXPECT_FALSE(parse_proc_stat("no parenthesis", 100, 4096, 0, &s));
}

TEST(ProcessMetrics, SeesThisProcessDescriptorsAndThreads) {
  const auto before = read_process_stats();
  ASSERT_TRUE(before.ok()) << before.status().to_string();
  EXPECT_GT(before->resident_bytes, 0);
  EXPECT_GE(before->threads, 1);
  EXPECT_GT(before->max_fds, 0);
  const int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  std::thread t([] {
    const auto during = read_process_stats();
    ASSERT_TRUE(during.ok());
    EXPECT_GE(during->threads, 2);
  });
  t.join();
  const auto after = read_process_stats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->open_fds, before->open_fds + 1);
  ::close(fd);
}

TEST(ProcessMetrics, RenderedUnderTheirStandardNames) {
  MetricsRegistry r;
  add_process_metrics(r);
  const std::string text = r.render();
  for (const char* name : {"process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds",
                           "process_max_fds", "process_threads", "process_start_time_seconds"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + name + " gauge"), std::string::npos) << name;
  }
  EXPECT_EQ(text.find("process_open_fds 0\n"), std::string::npos);  // filled in at render
}

}  // namespace
}  // namespace parley
