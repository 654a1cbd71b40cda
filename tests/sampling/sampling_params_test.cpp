// SamplingParams::validate: every field's range, with messages that name the field.
#include "sampling/sampling_params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace parley {
namespace {

constexpr std::int32_t kVocab = 1000;
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

void expect_invalid(const std::function<void(SamplingParams&)>& edit, const std::string& field) {
  SamplingParams p;
  edit(p);
  const Status st = p.validate(kVocab);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << field;
  EXPECT_NE(st.message().find(field), std::string_view::npos) << st.to_string();
}

void expect_valid(const std::function<void(SamplingParams&)>& edit) {
  SamplingParams p;
  edit(p);
  const Status st = p.validate(kVocab);
  EXPECT_TRUE(st.ok()) << st.to_string();
}

TEST(SamplingParamsTest, DefaultsAreValid) { EXPECT_TRUE(SamplingParams{}.validate(kVocab).ok()); }

TEST(SamplingParamsTest, Temperature) {
  expect_valid([](SamplingParams& p) { p.temperature = 0.0f; });
  expect_valid([](SamplingParams& p) { p.temperature = 100.0f; });
  expect_invalid([](SamplingParams& p) { p.temperature = -0.1f; }, "temperature");
  expect_invalid([](SamplingParams& p) { p.temperature = 100.5f; }, "temperature");
  expect_invalid([](SamplingParams& p) { p.temperature = kNan; }, "temperature");
  expect_invalid([](SamplingParams& p) { p.temperature = kInf; }, "temperature");
}

TEST(SamplingParamsTest, TopKTopPMinP) {
  expect_valid([](SamplingParams& p) { p.top_k = 0; });
  expect_valid([](SamplingParams& p) { p.top_k = kVocab * 10; });  // larger than the vocabulary: off
  expect_invalid([](SamplingParams& p) { p.top_k = -1; }, "top_k");
  expect_valid([](SamplingParams& p) { p.top_p = 1e-6f; });
  expect_invalid([](SamplingParams& p) { p.top_p = 0.0f; }, "top_p");
  expect_invalid([](SamplingParams& p) { p.top_p = 1.01f; }, "top_p");
  expect_invalid([](SamplingParams& p) { p.top_p = kNan; }, "top_p");
  expect_valid([](SamplingParams& p) { p.min_p = 1.0f; });
  expect_invalid([](SamplingParams& p) { p.min_p = -0.01f; }, "min_p");
  expect_invalid([](SamplingParams& p) { p.min_p = 1.5f; }, "min_p");
  expect_invalid([](SamplingParams& p) { p.min_p = kNan; }, "min_p");
}

TEST(SamplingParamsTest, Penalties) {
  expect_valid([](SamplingParams& p) { p.repetition_penalty = 10.0f; });
  expect_valid([](SamplingParams& p) { p.repetition_penalty = 0.5f; });
  expect_invalid([](SamplingParams& p) { p.repetition_penalty = 0.0f; }, "repetition_penalty");
  expect_invalid([](SamplingParams& p) { p.repetition_penalty = 10.5f; }, "repetition_penalty");
  expect_invalid([](SamplingParams& p) { p.repetition_penalty = kNan; }, "repetition_penalty");
  expect_valid([](SamplingParams& p) { p.presence_penalty = -2.0f; });
  expect_valid([](SamplingParams& p) { p.frequency_penalty = 2.0f; });
  expect_invalid([](SamplingParams& p) { p.presence_penalty = 2.5f; }, "presence_penalty");
  expect_invalid([](SamplingParams& p) { p.presence_penalty = kNan; }, "presence_penalty");
  expect_invalid([](SamplingParams& p) { p.frequency_penalty = -2.5f; }, "frequency_penalty");
  expect_invalid([](SamplingParams& p) { p.frequency_penalty = -kInf; }, "frequency_penalty");
  expect_invalid([](SamplingParams& p) { p.penalty_last_n = -1; }, "penalty_last_n");
}

TEST(SamplingParamsTest, Logprobs) {
  expect_valid([](SamplingParams& p) { p.n_logprobs = -1; });
  expect_valid([](SamplingParams& p) { p.n_logprobs = 0; });
  expect_valid([](SamplingParams& p) { p.n_logprobs = 20; });
  expect_invalid([](SamplingParams& p) { p.n_logprobs = 21; }, "n_logprobs");
  expect_invalid([](SamplingParams& p) { p.n_logprobs = -2; }, "n_logprobs");
}

TEST(SamplingParamsTest, LogitBias) {
  expect_valid([](SamplingParams& p) { p.logit_bias = {{0, -100.0f}, {kVocab - 1, 100.0f}, {5, 0.5f}}; });
  expect_invalid([](SamplingParams& p) { p.logit_bias = {{kVocab, 1.0f}}; }, "logit_bias: token 1000");
  expect_invalid([](SamplingParams& p) { p.logit_bias = {{-1, 1.0f}}; }, "logit_bias: token -1");
  expect_invalid([](SamplingParams& p) { p.logit_bias = {{3, 100.5f}}; }, "logit_bias: value for token 3");
  expect_invalid([](SamplingParams& p) { p.logit_bias = {{3, kNan}}; }, "logit_bias: value for token 3");
  expect_invalid([](SamplingParams& p) { p.logit_bias = {{3, -kInf}}; }, "logit_bias: value for token 3");
  expect_invalid([](SamplingParams& p) { p.logit_bias = {{7, 1.0f}, {3, 1.0f}, {7, 2.0f}}; },
                 "logit_bias: token 7 appears more than once");
}

TEST(SamplingParamsTest, Vocabulary) {
  EXPECT_EQ(SamplingParams{}.validate(0).code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace parley
