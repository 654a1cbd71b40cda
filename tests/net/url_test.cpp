#include "net/url.h"

#include <gtest/gtest.h>

namespace parley {
namespace {

TEST(Url, ParsesHostPortAndTarget) {
  auto u = parse_url("http://127.0.0.1:8080/v1/models?x=1");
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/v1/models?x=1");
  EXPECT_EQ(u->authority(), "127.0.0.1:8080");

  u = parse_url("HTTPS://Example.com");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->authority(), "Example.com");

  u = parse_url("http://[::1]:9000?q#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->target, "/?q");
  EXPECT_EQ(u->authority(), "[::1]:9000");

  u = parse_url("http://worker-3/health");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->authority(), "worker-3");
}

TEST(Url, RejectsWhatItCannotUse) {
  for (const char* bad : {"", "localhost:8080", "ftp://x/", "http://", "http://:80/", "http://h:0/", "http://h:65536/",
                          "http://h:8x/", "http://u:p@h/", "http://[::1/", "http://h/a b", "http://h:/"}) {
    EXPECT_EQ(parse_url(bad).status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(Url, PercentDecoding) {
  EXPECT_EQ(*percent_decode("/a%20b%2Fc"), "/a b/c");
  EXPECT_EQ(*percent_decode("a+b"), "a+b");
  EXPECT_EQ(*percent_decode("a+b", true), "a b");
  EXPECT_EQ(*percent_decode("%e2%82%ac"), "\xe2\x82\xac");
  for (const char* bad : {"%", "%2", "%zz", "a%00b"}) EXPECT_FALSE(percent_decode(bad).ok()) << bad;
}

TEST(Url, QueryParameters) {
  auto q = parse_query("limit=20&after=conv%201&flag&&name=a+b&empty=");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, (QueryParams{{"limit", "20"}, {"after", "conv 1"}, {"flag", ""}, {"name", "a b"}, {"empty", ""}}));
  EXPECT_FALSE(parse_query("a=%zz").ok());
  EXPECT_TRUE(parse_query("")->empty());
}

}  // namespace
}  // namespace parley
