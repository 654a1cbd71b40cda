#include "obs/metrics.h"

#include <gtest/gtest.h>

#include <thread>

#include "obs/request_id.h"

namespace parley {
namespace {

TEST(Metrics, RendersPrometheusTextFormat) {
  MetricsRegistry r;
  auto& requests = r.counter("parley_requests_total", "Requests by status.", {"model", "status"});
  requests.with({"tiny", "200"}).inc();
  requests.with({"tiny", "200"}).inc(2);
  requests.with({"tiny", "429"}).inc();
  auto& queue = r.gauge("parley_queue_depth", "Waiting requests.");
  queue.with({}).set(7);
  auto& ttft = r.histogram("parley_time_to_first_token_seconds", "TTFT.", {"model"}, {0.1, 1, 10});
  ttft.with({"tiny"}).observe(0.05);
  ttft.with({"tiny"}).observe(0.1);  // on the bound: counted in le="0.1"
  ttft.with({"tiny"}).observe(3);
  ttft.with({"tiny"}).observe(100);
  const std::string text = r.render();
  EXPECT_NE(text.find("# HELP parley_requests_total Requests by status.\n# TYPE parley_requests_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find("parley_requests_total{model=\"tiny\",status=\"200\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("parley_requests_total{model=\"tiny\",status=\"429\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("parley_queue_depth 7\n"), std::string::npos);
  EXPECT_NE(text.find("parley_time_to_first_token_seconds_bucket{model=\"tiny\",le=\"0.1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("parley_time_to_first_token_seconds_bucket{model=\"tiny\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("parley_time_to_first_token_seconds_bucket{model=\"tiny\",le=\"10\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("parley_time_to_first_token_seconds_bucket{model=\"tiny\",le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("parley_time_to_first_token_seconds_sum{model=\"tiny\"} 103.15\n"), std::string::npos) << text;
  EXPECT_NE(text.find("parley_time_to_first_token_seconds_count{model=\"tiny\"} 4\n"), std::string::npos);
}

TEST(Metrics, EscapesLabelValuesAndRunsCollectors) {
  MetricsRegistry r;
  auto& g = r.gauge("parley_kv_blocks", "Blocks.", {"model", "state"});
  int calls = 0;
  r.on_collect([&] {
    ++calls;
    g.with({"a\"b\\c\nd", "used"}).set(calls);
  });
  const std::string text = r.render();
  EXPECT_EQ(calls, 1);
  EXPECT_NE(text.find("parley_kv_blocks{model=\"a\\\"b\\\\c\\nd\",state=\"used\"} 1\n"), std::string::npos) << text;
}

TEST(Metrics, CountersIgnoreNegativeAndAreThreadSafe) {
  MetricsRegistry r;
  auto& c = r.counter("parley_tokens_total", "Tokens.", {"kind"}).with({"out"});
  auto& h = r.histogram("parley_x_seconds", "X.", {}, latency_buckets_seconds()).with({});
  c.inc(-5);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.01);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.value(), 40000);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_NEAR(h.sum(), 400.0, 1e-6);
}

TEST(Metrics, RejectsBadNamesAndDuplicates) {
  MetricsRegistry r;
  r.counter("parley_ok_total", "ok");
  EXPECT_DEATH(r.counter("parley_ok_total", "again"), "registered twice");
  EXPECT_DEATH(r.gauge("9bad", "bad"), "invalid metric name");
  EXPECT_DEATH(r.histogram("parley_h", "h", {"le"}, {1}), "invalid label name");
}

TEST(RequestId, KeepsSaneClientIdsAndMakesUniqueOnes) {
  EXPECT_EQ(request_id_from_header("abc-123"), "abc-123");
  EXPECT_EQ(request_id_from_header("").rfind("req_", 0), 0u);
  EXPECT_EQ(request_id_from_header("bad id").rfind("req_", 0), 0u);
  EXPECT_EQ(request_id_from_header(std::string(200, 'a')).rfind("req_", 0), 0u);
  EXPECT_NE(new_request_id(), new_request_id());
  EXPECT_EQ(new_request_id().size(), 4u + 24u);
}

}  // namespace
}  // namespace parley
