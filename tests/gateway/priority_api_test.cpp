// Priority classes seen from the API: the "priority" extension, a role's default ([priority]) and
// an API key's "batch" scope decide the engine's class of a completion, and /metrics shows the
// scheduler per class (queue depth, running, time in queue, inter-token latency) and the step
// cost model.
#include <string>

#include "accounts_fixture.h"

namespace parley {
namespace {

using testing::AccountsTest;
using testing::Reply;
using testing::Session;

class PriorityApiTest : public AccountsTest {
 protected:
  std::string metrics() { return call("GET", "/metrics").body; }
  // Requests of `priority` whose time in queue was recorded (one per finished choice).
  std::string queue_count(const std::string& priority) {
    const std::string text = metrics();
    const std::string key = "parley_queue_time_seconds_count{model=\"tiny\",priority=\"" + priority + "\"} ";
    const std::size_t at = text.find(key);
    if (at == std::string::npos) return "absent";
    return text.substr(at + key.size(), text.find('\n', at) - at - key.size());
  }
  Reply chat_with(const std::string& key, const std::string& extra = "") {
    return with_key(key, "POST", "/v1/chat/completions",
                    R"({"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":3)" + extra + "}");
  }
};

TEST_F(PriorityApiTest, MetricsExposeTheSchedulerPerPriorityAndTheStepCostModel) {
  start();
  signup("admin@example.com");
  const std::string key = create_key(signup("a@example.com")).second;
  ASSERT_EQ(chat_with(key, R"(,"ignore_eos":true)").status, 200);  // 3 tokens, whatever is sampled
  const std::string text = metrics();
  // Gauges are the engine's last snapshot (it may lag the response by a step): names only.
  for (const char* name :
       {"parley_queue_depth_by_priority{model=\"tiny\",priority=\"interactive\"} ",
        "parley_queue_depth_by_priority{model=\"tiny\",priority=\"batch\"} ",
        "parley_running_requests_by_priority{model=\"tiny\",priority=\"interactive\"} ",
        "parley_running_requests_by_priority{model=\"tiny\",priority=\"batch\"} ",
        "parley_queue_time_seconds_bucket{model=\"tiny\",priority=\"interactive\",le=\"+Inf\"} 1",
        "parley_inter_token_latency_by_priority_seconds_count{model=\"tiny\",priority=\"interactive\"} ",
        "parley_engine_step_target_seconds{model=\"tiny\"} 0.25", "parley_engine_steps_total{model=\"tiny\"} ",
        "parley_engine_steps_over_target_total{model=\"tiny\"} ",
        "parley_engine_step_cost_model_error_ratio{model=\"tiny\"} "}) {
    EXPECT_NE(text.find(name), std::string::npos) << name << "\n" << text;
  }
  // One gap per token event after the first: 2 for the 3 tokens, 1 when a loaded machine hands
  // the last two over in one event (TokenEvent carries every token ready).
  const std::string itl =
      "parley_inter_token_latency_by_priority_seconds_count{model=\"tiny\",priority=\"interactive\"} ";
  const std::size_t at = text.find(itl);
  ASSERT_NE(at, std::string::npos);
  const int gaps = std::stoi(text.substr(at + itl.size()));
  EXPECT_GE(gaps, 1);
  EXPECT_LE(gaps, 2);
}

TEST_F(PriorityApiTest, TheRequestOrItsKeyChoosesTheClass) {
  start();
  const Session admin = signup("admin@example.com");
  const std::string key = create_key(signup("a@example.com")).second;
  ASSERT_EQ(chat_with(key).status, 200);
  EXPECT_EQ(queue_count("interactive"), "1");
  ASSERT_EQ(chat_with(key, R"(,"priority":"batch")").status, 200);
  EXPECT_EQ(queue_count("batch"), "1");
  const Reply bad = chat_with(key, R"(,"priority":"urgent")");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.json.at("error").at("param"), "priority");

  // A key with the "batch" scope runs in the batch class, whatever its requests ask.
  const std::string batch_key = create_key(admin, R"({"scopes":["chat","batch"]})").second;
  ASSERT_EQ(chat_with(batch_key, R"(,"priority":"interactive")").status, 200);
  EXPECT_EQ(queue_count("batch"), "2");
  EXPECT_EQ(queue_count("interactive"), "1");
  const Reply me = with_key(batch_key, "GET", "/api/auth/me");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(boost::json::serialize(me.json.at("scopes")), R"(["chat","batch"])");
  // A session is never batch: the web UI's chats are interactive.
  EXPECT_EQ(boost::json::serialize(as(admin, "GET", "/api/auth/me").json.at("scopes")), R"(["chat","models","admin"])");
}

TEST_F(PriorityApiTest, ARolesDefaultAppliesWhenTheRequestDoesNotSay) {
  gateway_options_.role_priority.user = Priority::kBatch;
  start();
  signup("admin@example.com");
  const std::string key = create_key(signup("a@example.com")).second;
  ASSERT_EQ(chat_with(key).status, 200);
  EXPECT_EQ(queue_count("batch"), "1");
  ASSERT_EQ(chat_with(key, R"(,"priority":"interactive")").status, 200);
  EXPECT_EQ(queue_count("interactive"), "1");
}

}  // namespace
}  // namespace parley
