// Status, Result<T>, the RETURN_IF_ERROR / ASSIGN_OR_RETURN macros, errno mapping and CHECK.
#include "base/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/check.h"
#include "base/result.h"

namespace parley {
namespace {

constexpr ErrorCode kAllCodes[] = {
    ErrorCode::kOk,
    ErrorCode::kCancelled,
    ErrorCode::kInvalidArgument,
    ErrorCode::kNotFound,
    ErrorCode::kAlreadyExists,
    ErrorCode::kPermissionDenied,
    ErrorCode::kUnauthenticated,
    ErrorCode::kResourceExhausted,
    ErrorCode::kFailedPrecondition,
    ErrorCode::kAborted,
    ErrorCode::kOutOfRange,
    ErrorCode::kUnimplemented,
    ErrorCode::kInternal,
    ErrorCode::kUnavailable,
    ErrorCode::kDeadlineExceeded,
    ErrorCode::kDataLoss,
    ErrorCode::kIoError,
};

TEST(StatusTest, DefaultIsOk) {
  const Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.to_string(), "ok");
  EXPECT_TRUE(ok_status().ok());
  // An explicit kOk code is OK too, whatever the message.
  EXPECT_TRUE(Status(ErrorCode::kOk, "ignored").ok());
  EXPECT_EQ(Status(ErrorCode::kOk, "ignored").message(), "");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  const Status s(ErrorCode::kNotFound, "no such key 'x'");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.message(), "no such key 'x'");
  EXPECT_EQ(s.to_string(), "not_found: no such key 'x'");
}

TEST(StatusTest, CodeNamesAreDistinctSnakeCase) {
  std::set<std::string_view> names;
  for (ErrorCode c : kAllCodes) {
    const std::string_view name = error_code_name(c);
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_NE(name, "unknown");
    for (char ch : name) EXPECT_TRUE((ch >= 'a' && ch <= 'z') || ch == '_') << name;
  }
  EXPECT_EQ(error_code_name(ErrorCode::kOk), "ok");
  EXPECT_EQ(error_code_name(ErrorCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(error_code_name(ErrorCode::kResourceExhausted), "resource_exhausted");
  EXPECT_EQ(error_code_name(ErrorCode::kIoError), "io_error");
  EXPECT_EQ(error_code_name(static_cast<ErrorCode>(200)), "unknown");
}

TEST(StatusTest, ErrorHelpersFormatAndPickTheirCode) {
  EXPECT_EQ(make_error(ErrorCode::kAborted, "retry {} of {}", 2, 3).to_string(), "aborted: retry 2 of 3");
  const std::pair<Status, ErrorCode> cases[] = {
      {cancelled_error("x {}", 1), ErrorCode::kCancelled},
      {invalid_argument_error("x {}", 1), ErrorCode::kInvalidArgument},
      {not_found_error("x {}", 1), ErrorCode::kNotFound},
      {already_exists_error("x {}", 1), ErrorCode::kAlreadyExists},
      {resource_exhausted_error("x {}", 1), ErrorCode::kResourceExhausted},
      {failed_precondition_error("x {}", 1), ErrorCode::kFailedPrecondition},
      {out_of_range_error("x {}", 1), ErrorCode::kOutOfRange},
      {unimplemented_error("x {}", 1), ErrorCode::kUnimplemented},
      {internal_error("x {}", 1), ErrorCode::kInternal},
      {unavailable_error("x {}", 1), ErrorCode::kUnavailable},
      {data_loss_error("x {}", 1), ErrorCode::kDataLoss},
      {io_error("x {}", 1), ErrorCode::kIoError},
  };
  for (const auto& [s, code] : cases) {
    EXPECT_EQ(s.code(), code);
    EXPECT_EQ(s.message(), "x 1");
  }
}

TEST(StatusTest, WithContextPrependsAndKeepsTheCode) {
  const Status base = not_found_error("key 'a' is missing");
  const Status s = base.with_context("loading model").with_context("/m.gguf");
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.message(), "/m.gguf: loading model: key 'a' is missing");
  EXPECT_EQ(base.message(), "key 'a' is missing");  // the original is untouched
  EXPECT_TRUE(ok_status().with_context("anything").ok());
}

TEST(StatusTest, CopiesCompareEqual) {
  const Status a = io_error("disk {}", "full");
  const Status b = a;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(a, b);
  EXPECT_EQ(Status(), ok_status());
  EXPECT_FALSE(a == io_error("disk empty"));
  EXPECT_FALSE(a == internal_error("disk full"));
}

TEST(StatusTest, ErrnoErrorMapsCodes) {
  EXPECT_EQ(errno_error("open", "/x", ENOENT).code(), ErrorCode::kNotFound);
  EXPECT_EQ(errno_error("open", "/x", ENOTDIR).code(), ErrorCode::kNotFound);
  EXPECT_EQ(errno_error("open", "/x", EACCES).code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(errno_error("open", "/x", EPERM).code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(errno_error("read", "/x", EIO).code(), ErrorCode::kIoError);
  EXPECT_EQ(errno_error("write", "/x", ENOSPC).code(), ErrorCode::kIoError);
  EXPECT_EQ(errno_error("open", "/x", ENOENT).message(), "open /x: No such file or directory");
}

// --- Result<T> ---

TEST(ResultTest, HoldsAValueOrAnError) {
  Result<int> v = 42;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 42);
  EXPECT_EQ(v.value(), 42);
  EXPECT_TRUE(v.status().ok());
  EXPECT_EQ(v.value_or(7), 42);

  Result<int> e = not_found_error("gone");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(e.status().message(), "gone");
  EXPECT_EQ(e.value_or(7), 7);
}

TEST(ResultTest, ConvertsFromCompatibleValuesAndHoldsMoveOnlyTypes) {
  Result<std::string> s = "text";  // const char* -> std::string
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 4u);

  Result<std::unique_ptr<int>> p = std::make_unique<int>(5);
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> owned = std::move(p).value();
  EXPECT_EQ(*owned, 5);

  Result<std::vector<int>> vec = std::vector<int>{1, 2, 3};
  vec->push_back(4);
  EXPECT_EQ(vec->size(), 4u);
}

TEST(ResultDeathTest, ValueOfAnErrorAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const Result<int> e = data_loss_error("corrupt block {}", 9);
  EXPECT_DEATH((void)e.value(), "Result::value\\(\\) on error.*data_loss: corrupt block 9");
}

TEST(ResultDeathTest, ConstructingFromOkStatusAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Result<int> r = ok_status();
        (void)r;
      },
      "OK status without a value");
}

// --- macros ---

int g_calls = 0;

Status counted(Status s) {
  ++g_calls;
  return s;
}

Result<int> counted_result(Result<int> r) {
  ++g_calls;
  return r;
}

Status uses_return_if_error(Status first, bool* reached_end) {
  RETURN_IF_ERROR(counted(first));
  *reached_end = true;
  return ok_status();
}

Status uses_return_if_error_on_result(Result<int> r) {
  RETURN_IF_ERROR(counted_result(std::move(r)));
  return internal_error("reached the end");
}

Status uses_return_if_error_ctx(Status s) {
  RETURN_IF_ERROR_CTX(s, "step 2");
  return ok_status();
}

TEST(MacrosTest, ReturnIfErrorReturnsErrorsAndEvaluatesOnce) {
  g_calls = 0;
  bool reached = false;
  EXPECT_TRUE(uses_return_if_error(ok_status(), &reached).ok());
  EXPECT_TRUE(reached);
  EXPECT_EQ(g_calls, 1);

  g_calls = 0;
  reached = false;
  const Status s = uses_return_if_error(io_error("broken pipe"), &reached);
  EXPECT_EQ(s, io_error("broken pipe"));
  EXPECT_FALSE(reached);
  EXPECT_EQ(g_calls, 1);
}

TEST(MacrosTest, ReturnIfErrorAcceptsResults) {
  g_calls = 0;
  EXPECT_EQ(uses_return_if_error_on_result(3).code(), ErrorCode::kInternal);  // value: falls through
  EXPECT_EQ(uses_return_if_error_on_result(cancelled_error("stop")), cancelled_error("stop"));
  EXPECT_EQ(g_calls, 2);
}

TEST(MacrosTest, ReturnIfErrorCtxAddsContext) {
  EXPECT_TRUE(uses_return_if_error_ctx(ok_status()).ok());
  const Status s = uses_return_if_error_ctx(not_found_error("no file"));
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.message(), "step 2: no file");
}

Result<int> parse_positive(int x) {
  if (x <= 0) return invalid_argument_error("{} is not positive", x);
  return x;
}

Result<int> sum_positive(int a, int b) {
  ASSIGN_OR_RETURN(const int x, parse_positive(a));
  ASSIGN_OR_RETURN(int y, parse_positive(b));  // a second use in the same scope
  y += x;
  return y;
}

Result<std::unique_ptr<int>> make_owned(int v) {
  if (v < 0) return out_of_range_error("negative");
  return std::make_unique<int>(v);
}

Status take_owned(int v, int* out) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> p, make_owned(v));
  *out = *p;
  return ok_status();
}

Status assign_existing(int a, int* out) {
  ASSIGN_OR_RETURN(*out, parse_positive(a));  // assigns to an existing lvalue
  return ok_status();
}

TEST(MacrosTest, AssignOrReturnAssignsOrPropagates) {
  EXPECT_EQ(sum_positive(2, 3).value(), 5);
  const Result<int> bad_first = sum_positive(-1, 3);
  ASSERT_FALSE(bad_first.ok());
  EXPECT_EQ(bad_first.status().message(), "-1 is not positive");
  const Result<int> bad_second = sum_positive(1, 0);
  ASSERT_FALSE(bad_second.ok());
  EXPECT_EQ(bad_second.status().message(), "0 is not positive");

  int out = 0;
  EXPECT_TRUE(take_owned(9, &out).ok());
  EXPECT_EQ(out, 9);
  EXPECT_EQ(take_owned(-1, &out).code(), ErrorCode::kOutOfRange);
  EXPECT_EQ(out, 9);

  EXPECT_TRUE(assign_existing(4, &out).ok());
  EXPECT_EQ(out, 4);
  EXPECT_EQ(assign_existing(-4, &out).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(out, 4);
}

// --- CHECK ---

TEST(CheckTest, PassingCheckDoesNotEvaluateTheMessage) {
  int evaluated = 0;
  auto side_effect = [&evaluated] { return ++evaluated; };
  CHECK(1 + 1 == 2, "never formatted {}", side_effect());
  CHECK(true);
  EXPECT_EQ(evaluated, 0);
}

TEST(CheckDeathTest, FailingCheckAbortsWithExpressionAndMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const int n = 5;
  EXPECT_DEATH(CHECK(n == 6, "n was {}", n), "CHECK failed at .*status_test\\.cpp:[0-9]+: n == 6: n was 5");
  EXPECT_DEATH(CHECK(n < 0), "CHECK failed at .*: n < 0");
}

TEST(CheckDeathTest, DcheckFollowsNdebug) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const int n = 5;
#ifdef NDEBUG
  DCHECK(n == 6, "compiled away {}", n);  // type-checked, never evaluated
  SUCCEED();
#else
  EXPECT_DEATH(DCHECK(n == 6, "debug {}", n), "n == 6: debug 5");
#endif
}

}  // namespace
}  // namespace parley

namespace parley {
namespace {

TEST(StatusDetails, CarryStructuredFieldsThroughContext) {
  const Status s = invalid_argument_error("bad role").with_detail("param", "messages[1].role").with_detail("x", "1");
  EXPECT_EQ(s.detail("param"), "messages[1].role");
  EXPECT_EQ(s.detail("x"), "1");
  EXPECT_EQ(s.detail("missing"), "");
  const Status ctx = s.with_context("request");
  EXPECT_EQ(ctx.message(), "request: bad role");
  EXPECT_EQ(ctx.detail("param"), "messages[1].role");
  EXPECT_EQ(s.with_detail("x", "2").detail("x"), "2");
  EXPECT_EQ(s.detail("x"), "1");  // statuses are immutable values
  EXPECT_EQ(ok_status().with_detail("param", "p").detail("param"), "");
}

}  // namespace
}  // namespace parley
