#include "gateway/http_errors.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace parley {
namespace {

TEST(HttpErrors, MapsCodesToStatusesAndOpenAIBodies) {
  struct Case {
    Status st;
    int status;
    const char* type;
  };
  const Case cases[] = {
      {invalid_argument_error("x"), 400, "invalid_request_error"},
      {Status(ErrorCode::kUnauthenticated, "x"), 401, "authentication_error"},
      {Status(ErrorCode::kPermissionDenied, "x"), 403, "permission_error"},
      {not_found_error("x"), 404, "invalid_request_error"},
      {resource_exhausted_error("x"), 429, "rate_limit_error"},
      {unavailable_error("x"), 503, "server_error"},
      {unimplemented_error("x"), 501, "invalid_request_error"},
      {internal_error("x"), 500, "server_error"},
      {io_error("x"), 500, "server_error"},
  };
  for (const Case& c : cases) {
    const HttpError e = to_http_error(c.st);
    EXPECT_EQ(e.status, c.status) << c.st.to_string();
    EXPECT_EQ(e.type, c.type) << c.st.to_string();
  }
  EXPECT_EQ(to_http_error(resource_exhausted_error("busy")).retry_after_s, 1);
  EXPECT_EQ(to_http_error(resource_exhausted_error("busy").with_detail("retry_after", "7")).retry_after_s, 7);
  EXPECT_EQ(to_http_error(unavailable_error("busy")).retry_after_s, 1);
  EXPECT_EQ(to_http_error(invalid_argument_error("x")).retry_after_s, 0);

  const HttpError e = to_http_error(invalid_argument_error("too long").with_detail("param", "messages").with_detail("code", "context_length_exceeded"));
  const auto body = boost::json::parse(e.body()).as_object().at("error").as_object();
  EXPECT_EQ(body.at("message").as_string(), "too long");
  EXPECT_EQ(body.at("param").as_string(), "messages");
  EXPECT_EQ(body.at("code").as_string(), "context_length_exceeded");
  EXPECT_EQ(body.at("type").as_string(), "invalid_request_error");
}

TEST(HttpErrors, AnHttpStatusDetailOverridesTheStatusForCodesWithoutOne) {
  EXPECT_EQ(to_http_error(invalid_argument_error("json only").with_detail("http_status", "415")).status, 415);
  EXPECT_EQ(to_http_error(invalid_argument_error("big").with_detail("http_status", "413")).status, 413);
  const HttpError e = to_http_error(invalid_argument_error("x").with_detail("http_status", "405"));
  EXPECT_EQ(e.status, 405);
  EXPECT_EQ(e.type, "invalid_request_error");
  // Nonsense is ignored: the code's own status stands.
  for (const char* bad : {"200", "abc", "99999", ""}) {
    EXPECT_EQ(to_http_error(invalid_argument_error("x").with_detail("http_status", bad)).status, 400) << bad;
  }
}

}  // namespace
}  // namespace parley
