// Traces across the internal API: the gateway's context reaches the worker (RemoteEngineClient
// sends GenerateRequest::traceparent), whose span joins the trace under the gateway's span.
#include <gtest/gtest.h>

#include "router/remote_engine.h"
#include "trace_collector.h"
#include "worker_fixture.h"

namespace parley {
namespace {

using testing::long_request;
using testing::WaitingSink;
using testing::WorkerTest;

constexpr std::string_view kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

class WorkerTraceTest : public WorkerTest {
 protected:
  void TearDown() override {
    WorkerTest::TearDown();
    tracer_.reset();  // it exports into spans: gone before it
  }
  testing::SpanCollector spans;
};

TEST_F(WorkerTraceTest, AGenerateCallJoinsTheCallersTrace) {
  tracer_ = spans.tracer();
  start_worker();
  RemoteEngineClient remote(engine_options());
  GenerateRequest q = long_request(3);
  q.traceparent = std::string(kParent);
  auto sink = std::make_shared<WaitingSink>();
  ASSERT_TRUE(remote.submit(q, sink).ok());
  EXPECT_EQ(sink->wait().completion_tokens, 3);
  ASSERT_TRUE(worker_streams_done());
  tracer_->flush();
  const auto span = spans.find("worker generate");
  ASSERT_TRUE(span.has_value());
  const TraceContext parent = *parse_traceparent(kParent);
  EXPECT_EQ(span->context.trace_id, parent.trace_id);
  EXPECT_EQ(span->parent_span_id, parent.span_id);
  EXPECT_EQ(span->kind, SpanKind::kServer);
  EXPECT_FALSE(span->error);
  bool has_tokens = false;
  for (const auto& [k, v] : span->int_attributes) has_tokens |= k == "parley.completion_tokens" && v == 3;
  EXPECT_TRUE(has_tokens);
}

TEST_F(WorkerTraceTest, WithoutAContextNothingIsRecorded) {
  tracer_ = spans.tracer();
  start_worker();
  RemoteEngineClient remote(engine_options());
  auto sink = std::make_shared<WaitingSink>();
  ASSERT_TRUE(remote.submit(long_request(2), sink).ok());
  sink->wait();
  ASSERT_TRUE(worker_streams_done());
  tracer_->flush();
  // A worker does not start traces of its own: the gateway decides what is sampled.
  EXPECT_TRUE(spans.spans().empty());
}

}  // namespace
}  // namespace parley
