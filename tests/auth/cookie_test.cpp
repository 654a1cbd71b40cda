// Set-Cookie building and Cookie header parsing: attributes, prefix rules, limits, malformed input.
#include "auth/cookie.h"

#include <gtest/gtest.h>

#include <string>

namespace parley::auth {
namespace {

TEST(SetCookieHeader, SessionCookieOverTls) {
  SetCookie c;
  c.name = "__Host-parley_session";
  c.value = "abc-_09";
  c.max_age = std::chrono::hours(24 * 30);
  EXPECT_EQ(set_cookie_header(c).value(),
            "__Host-parley_session=abc-_09; Max-Age=2592000; Path=/; Secure; HttpOnly; SameSite=Lax");
}

TEST(SetCookieHeader, PlainHttpStrictSessionLifetime) {
  SetCookie c;
  c.name = "parley_session";
  c.value = "v";
  c.secure = false;
  c.same_site = SameSite::kStrict;
  EXPECT_EQ(set_cookie_header(c).value(), "parley_session=v; Path=/; HttpOnly; SameSite=Strict");
  c.http_only = false;
  c.path = "/api";
  EXPECT_EQ(set_cookie_header(c).value(), "parley_session=v; Path=/api; SameSite=Strict");
}

TEST(SetCookieHeader, Delete) {
  EXPECT_EQ(delete_cookie_header("__Host-parley_session", true).value(),
            "__Host-parley_session=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax");
  EXPECT_EQ(delete_cookie_header("parley_session", false).value(),
            "parley_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax");
}

TEST(SetCookieHeader, RejectsWhatBrowsersWouldDropOrMisread) {
  auto with = [](auto change) {
    SetCookie c;
    c.name = "n";
    c.value = "v";
    change(c);
    return set_cookie_header(c).status().code();
  };
  EXPECT_EQ(with([](SetCookie&) {}), ErrorCode::kOk);
  EXPECT_EQ(with([](SetCookie& c) { c.name = ""; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) { c.name = "a b"; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) { c.name = "a=b"; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) { c.name = "a;b"; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) { c.value = "a;b"; }), ErrorCode::kInvalidArgument);  // attribute injection
  EXPECT_EQ(with([](SetCookie& c) { c.value = "a b"; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) { c.value = "a\r\nSet-Cookie: x=y"; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) { c.value = "\"q\""; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) { c.value = "a,b"; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) { c.path = "api"; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) { c.path = "/a;Domain=evil"; }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) { c.max_age = std::chrono::seconds(-1); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) {
              c.name = "__Host-s";
              c.secure = false;
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) {
              c.name = "__Host-s";
              c.path = "/api";
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) {
              c.name = "__Secure-s";
              c.secure = false;
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(with([](SetCookie& c) {
              c.name = "__Secure-s";
              c.path = "/api";
            }),
            ErrorCode::kOk);
}

TEST(CookieHeader, ParsesPairs) {
  const std::string header = "a=1; b=two;c=3 ;\td=\"quoted\"; e=; f=x=y";
  const ParsedCookies p = parse_cookie_header(header).value();
  ASSERT_EQ(p.cookies.size(), 6u);
  EXPECT_EQ(p.n_malformed, 0u);
  EXPECT_EQ(p.cookies[0].name, "a");
  EXPECT_EQ(p.cookies[0].value, "1");
  EXPECT_EQ(p.find("b").value(), "two");
  EXPECT_EQ(p.find("c").value(), "3");
  EXPECT_EQ(p.find("d").value(), "quoted");
  EXPECT_EQ(p.find("e").value(), "");
  EXPECT_EQ(p.find("f").value(), "x=y");  // the first '=' separates
  EXPECT_FALSE(p.find("g").has_value());
  EXPECT_FALSE(p.find("A").has_value());  // names are case-sensitive
}

TEST(CookieHeader, EmptyAndSeparatorsOnly) {
  for (const std::string_view h : {"", ";", " ; ;; ", "\t"}) {
    const ParsedCookies p = parse_cookie_header(h).value();
    EXPECT_TRUE(p.cookies.empty()) << h;
    EXPECT_EQ(p.n_malformed, 0u) << h;
  }
}

TEST(CookieHeader, DuplicatesKeepOrder) {
  const ParsedCookies p = parse_cookie_header("s=first; x=1; s=second").value();
  EXPECT_EQ(p.find("s").value(), "first");
  EXPECT_EQ(p.count("s"), 2u);
  EXPECT_EQ(p.count("x"), 1u);
  EXPECT_EQ(p.count("y"), 0u);
}

TEST(CookieHeader, MalformedPairsAreDroppedAndCounted) {
  const ParsedCookies p = parse_cookie_header(
                              "good=1; novalue; =anon; bad name=2; q=\"unterminated; sp=a b; "
                              "ctl=a\x01; hi=\xc3\xa9; bs=a\\b; comma=a,b; dq=\"\"\"; ok2=2")
                              .value();
  ASSERT_EQ(p.cookies.size(), 2u);
  EXPECT_EQ(p.find("good").value(), "1");
  EXPECT_EQ(p.find("ok2").value(), "2");
  EXPECT_EQ(p.n_malformed, 10u);
}

TEST(CookieHeader, EmptyQuotedValue) {
  const ParsedCookies p = parse_cookie_header("e=\"\"").value();
  ASSERT_EQ(p.cookies.size(), 1u);
  EXPECT_EQ(p.cookies[0].value, "");
}

TEST(CookieHeader, SizeLimit) {
  CookieLimits limits;
  limits.header_bytes_max = 16;
  EXPECT_TRUE(parse_cookie_header("a=0123456789abc", limits).ok());   // 15 bytes
  EXPECT_TRUE(parse_cookie_header("a=0123456789abcd", limits).ok());  // 16 bytes
  const auto r = parse_cookie_header("a=0123456789abcde", limits);    // 17 bytes
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_cookie_header(std::string(8193, 'a')).status().code(), ErrorCode::kInvalidArgument);
}

TEST(CookieHeader, CountLimitIncludesMalformedPairs) {
  CookieLimits limits;
  limits.cookies_max = 3;
  EXPECT_EQ(parse_cookie_header("a=1; b=2; c=3", limits).value().cookies.size(), 3u);
  EXPECT_EQ(parse_cookie_header("a=1; b=2; c=3; d=4", limits).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_cookie_header("a=1; junk; junk; junk", limits).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(parse_cookie_header("a=1;;;;;;; b=2", limits).ok());  // empty pairs do not count
  std::string many;
  for (int i = 0; i < 65; ++i) many += "c" + std::to_string(i) + "=v; ";
  EXPECT_EQ(parse_cookie_header(many).status().code(), ErrorCode::kInvalidArgument);
}

TEST(CookieHeader, RoundTripWithBuilder) {
  SetCookie c;
  c.name = "__Host-parley_session";
  c.value = "Zm9vYmFy-_";
  const std::string set = set_cookie_header(c).value();
  // What a browser sends back is the name=value part before the first "; ".
  const std::string sent = set.substr(0, set.find(';'));
  EXPECT_EQ(parse_cookie_header("theme=dark; " + sent).value().find(c.name).value(), c.value);
}

TEST(CookieCharacterClasses, NamesAndValues) {
  EXPECT_TRUE(is_cookie_name("__Host-x.y_z!#$%&'*+^`|~"));
  for (const std::string_view bad : {"",   "a b", "a\"", "a(", "a)",  "a,", "a/", "a:", "a;",   "a<",      "a=",
                                     "a>", "a?",  "a@",  "a[", "a\\", "a]", "a{", "a}", "\x7f", "\xc3\xa9"}) {
    EXPECT_FALSE(is_cookie_name(bad)) << bad;
  }
  EXPECT_TRUE(is_cookie_value(""));
  EXPECT_TRUE(is_cookie_value("!#$%&'()*+-./09:<=>?@AZ[]^_`az{|}~"));
  for (const std::string_view bad : {" ", "\"", ",", ";", "\\", "\x7f", "\x1f", "\xc3\xa9"}) {
    EXPECT_FALSE(is_cookie_value(bad)) << bad;
  }
}

}  // namespace
}  // namespace parley::auth
