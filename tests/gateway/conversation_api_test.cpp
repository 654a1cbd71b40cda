// The conversation API's resource endpoints over HTTP: create, list (paging, search, archive),
// rename, delete, validation of every input, and tenant isolation on every endpoint.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "conversation_test_util.h"

namespace parley::testing {
namespace {

using ConversationApiTest = ConversationApiFixture;

std::string json_str(std::string_view s) {
  return json::serialize(json::string(s));
}

TEST_F(ConversationApiTest, CreateReturnsTheConversationAndGetShowsIt) {
  HttpResponse r = call("POST", "/api/conversations", R"({"title":"Trip plans"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_FALSE(r.header("X-Request-Id").empty());
  const json::value c = body_json(r);
  EXPECT_EQ(c.at("title"), "Trip plans");
  EXPECT_EQ(c.at("archived"), false);
  EXPECT_TRUE(c.at("current_leaf_id").is_null());
  EXPECT_EQ(c.at("message_count"), 0);
  EXPECT_GT(c.at("created_at").as_int64(), 1'600'000'000);
  const std::string id(c.at("id").as_string());
  EXPECT_EQ(id.rfind("cnv_", 0), 0u);

  const json::value t = tree(id);
  EXPECT_EQ(t.at("conversation").at("id"), id.c_str());
  EXPECT_TRUE(t.at("messages").as_array().empty());
  EXPECT_TRUE(t.at("current_leaf_id").is_null());
}

TEST_F(ConversationApiTest, SystemPromptBecomesTheRootMessage) {
  const std::string id = create_conversation(R"({"system_prompt":"You are terse."})");
  const json::value t = tree(id);
  ASSERT_EQ(t.at("messages").as_array().size(), 1u);
  const json::value& sys = t.at("messages").as_array()[0];
  EXPECT_EQ(sys.at("role"), "system");
  EXPECT_EQ(sys.at("content"), "You are terse.");
  EXPECT_TRUE(sys.at("parent_id").is_null());
  EXPECT_EQ(t.at("current_leaf_id"), sys.at("id"));
}

TEST_F(ConversationApiTest, ListPagesNewestFirst) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(create_conversation(fmt::format(R"({{"title":"chat {}"}})", i)));
  // Renaming makes a conversation the most recently updated.
  ASSERT_EQ(call("PATCH", "/api/conversations/" + ids[0], R"({"title":"renamed"})").status, 200);

  const json::value p1 = body_json(call("GET", "/api/conversations?limit=2"));
  ASSERT_EQ(p1.at("data").as_array().size(), 2u);
  EXPECT_EQ(p1.at("has_more"), true);
  EXPECT_EQ(p1.at("data").as_array()[0].at("title"), "renamed");
  const json::value p3 = body_json(call("GET", "/api/conversations?limit=2&offset=4"));
  ASSERT_EQ(p3.at("data").as_array().size(), 1u);
  EXPECT_EQ(p3.at("has_more"), false);
  std::set<std::string> seen;
  for (int offset = 0; offset < 6; offset += 2) {
    const json::value page = body_json(call("GET", fmt::format("/api/conversations?limit=2&offset={}", offset)));
    for (const json::value& c : page.at("data").as_array()) {
      seen.insert(std::string(c.at("id").as_string()));
    }
  }
  EXPECT_EQ(seen, std::set<std::string>(ids.begin(), ids.end()));
}

TEST_F(ConversationApiTest, SearchMatchesTitlesCaseInsensitivelyAndWildcardsLiterally) {
  create_conversation(R"({"title":"Alpha one"})");
  create_conversation(R"({"title":"alpha two"})");
  create_conversation(R"({"title":"100% done"})");
  create_conversation(R"({"title":"under_score"})");
  create_conversation(R"({"title":"plain"})");
  const auto titles = [&](std::string_view q) {
    std::set<std::string> out;
    HttpResponse r = call("GET", "/api/conversations?q=" + std::string(q));
    EXPECT_EQ(r.status, 200) << r.body;
    const json::value list = body_json(r);
    for (const json::value& c : list.at("data").as_array()) out.insert(std::string(c.at("title").as_string()));
    return out;
  };
  EXPECT_EQ(titles("ALPHA"), (std::set<std::string>{"Alpha one", "alpha two"}));
  EXPECT_EQ(titles("%25"), (std::set<std::string>{"100% done"}));  // "%", escaped in the URL
  EXPECT_EQ(titles("_"), (std::set<std::string>{"under_score"}));
  EXPECT_EQ(titles("a+t"), (std::set<std::string>{"alpha two"}));  // "a t": '+' is a space in a query
  EXPECT_EQ(titles("ha+o"), (std::set<std::string>{"Alpha one"}));
}

TEST_F(ConversationApiTest, ArchivedConversationsAreListedOnlyWhenAsked) {
  const std::string kept = create_conversation(R"({"title":"kept"})");
  const std::string old = create_conversation(R"({"title":"old"})");
  HttpResponse r = call("PATCH", "/api/conversations/" + old, R"({"archived":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_json(r).at("archived"), true);
  const auto ids = [&](std::string_view query) {
    std::set<std::string> out;
    const json::value list = body_json(call("GET", "/api/conversations" + std::string(query)));
    for (const json::value& c : list.at("data").as_array()) {
      out.insert(std::string(c.at("id").as_string()));
    }
    return out;
  };
  EXPECT_EQ(ids(""), (std::set<std::string>{kept}));
  EXPECT_EQ(ids("?include_archived=true"), (std::set<std::string>{kept, old}));
  ASSERT_EQ(call("PATCH", "/api/conversations/" + old, R"({"archived":false})").status, 200);
  EXPECT_EQ(ids(""), (std::set<std::string>{kept, old}));
}

TEST_F(ConversationApiTest, RenameAndArchiveTogether) {
  const std::string id = create_conversation(R"({"title":"a"})");
  HttpResponse r = call("PATCH", "/api/conversations/" + id, R"({"title":"b","archived":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_json(r).at("title"), "b");
  EXPECT_EQ(body_json(r).at("archived"), true);
  EXPECT_EQ(tree(id).at("conversation").at("title"), "b");
}

TEST_F(ConversationApiTest, DeleteHidesTheConversation) {
  const std::string id = create_conversation();
  HttpResponse r = call("DELETE", "/api/conversations/" + id, {}, "alice", "");
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(call("GET", "/api/conversations/" + id).status, 404);
  EXPECT_EQ(call("DELETE", "/api/conversations/" + id, {}, "alice", "").status, 404);
  EXPECT_TRUE(body_json(call("GET", "/api/conversations?include_archived=true")).at("data").as_array().empty());
}

// ---- validation ----------------------------------------------------------------------------------

TEST_F(ConversationApiTest, BodiesMustBeJson) {
  const std::string id = create_conversation();
  for (const std::string_view type : {"text/plain", "", "application/x-www-form-urlencoded", "application/jsonx"}) {
    HttpResponse r = call("POST", "/api/conversations", "{}", "alice", type);
    EXPECT_EQ(r.status, 415) << type;
    EXPECT_EQ(body_json(r).at("error").at("code"), "unsupported_media_type");
    EXPECT_EQ(call("PATCH", "/api/conversations/" + id, R"({"title":"x"})", "alice", type).status, 415);
    EXPECT_EQ(call("POST", "/api/conversations/" + id + "/messages", R"({"content":"x"})", "alice", type).status, 415);
    EXPECT_EQ(call("PUT", "/api/conversations/" + id + "/current_leaf", R"({"message_id":"x"})", "alice", type).status,
              415);
  }
  EXPECT_EQ(call("POST", "/api/conversations", "{}", "alice", "Application/JSON; charset=utf-8").status, 201);
  EXPECT_EQ(body_json(call("GET", "/api/conversations/" + id)).at("conversation").at("title"), "");  // unchanged
}

TEST_F(ConversationApiTest, MalformedJsonAndWrongTypesAre400NamingTheField) {
  const std::string id = create_conversation();
  const auto error = [&](std::string_view method, const std::string& path, std::string body) {
    HttpResponse r = call(method, path, std::move(body));
    EXPECT_EQ(r.status, 400) << r.body;
    return body_json(r).at("error");
  };
  EXPECT_NE(std::string(error("POST", "/api/conversations", "{\"title\":").at("message").as_string()).find("JSON"),
            std::string::npos);
  EXPECT_NE(std::string(error("POST", "/api/conversations", "[1,2]").at("message").as_string()).find("object"),
            std::string::npos);
  EXPECT_EQ(error("POST", "/api/conversations", R"({"title":5})").at("param"), "title");
  EXPECT_EQ(error("PATCH", "/api/conversations/" + id, R"({"archived":"yes"})").at("param"), "archived");
  EXPECT_EQ(error("PATCH", "/api/conversations/" + id, R"({})").at("param"), "title");
  EXPECT_EQ(error("POST", "/api/conversations/" + id + "/messages", R"({})").at("param"), "content");
  EXPECT_EQ(error("POST", "/api/conversations/" + id + "/messages", R"({"content":""})").at("param"), "content");
  EXPECT_EQ(error("POST", "/api/conversations/" + id + "/messages", R"({"content":"hi","temperature":9})").at("param"),
            "temperature");
  EXPECT_EQ(error("POST", "/api/conversations/" + id + "/messages", R"({"content":"hi","max_tokens":0})").at("param"),
            "max_tokens");
  EXPECT_EQ(error("POST", "/api/conversations/" + id + "/messages", R"({"content":"a\u0000b"})").at("param"),
            "content");
  EXPECT_EQ(error("PUT", "/api/conversations/" + id + "/current_leaf", R"({})").at("param"), "message_id");
  EXPECT_EQ(error("GET", "/api/conversations?limit=0", "").at("param"), "limit");
  EXPECT_EQ(error("GET", "/api/conversations?limit=201", "").at("param"), "limit");
  EXPECT_EQ(error("GET", "/api/conversations?offset=-1", "").at("param"), "offset");
  EXPECT_EQ(error("GET", "/api/conversations?limit=ten", "").at("param"), "limit");
  EXPECT_EQ(error("GET", "/api/conversations?include_archived=maybe", "").at("param"), "include_archived");
  EXPECT_EQ(tree(id).at("messages").as_array().size(), 0u);  // nothing was saved
}

TEST_F(ConversationApiTest, OversizedTitlesAndMessagesAreRefused) {
  const std::string id = create_conversation();
  const std::string long_title(513, 't');
  HttpResponse r = call("POST", "/api/conversations", R"({"title":)" + json_str(long_title) + "}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_json(r).at("error").at("param"), "title");
  r = call("PATCH", "/api/conversations/" + id, R"({"title":)" + json_str(long_title) + "}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(call("PATCH", "/api/conversations/" + id, R"({"title":)" + json_str(std::string(512, 't')) + "}").status,
            200);
  r = call("POST", "/api/conversations/" + id + "/messages", R"({"content":)" + json_str(std::string(4097, 'x')) + "}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_json(r).at("error").at("param"), "content");
  r = call("POST", "/api/conversations", R"({"system_prompt":)" + json_str(std::string(4097, 's')) + "}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_json(r).at("error").at("param"), "system_prompt");
  EXPECT_EQ(tree(id).at("messages").as_array().size(), 0u);
}

TEST_F(ConversationApiTest, InvalidIdsAreNotFound) {
  for (const std::string& id : std::vector<std::string>{"nope", "cnv_", "cnv_0000000000000000000000000",
                                                        "cnv_%27%20OR%201=1", std::string(300, 'c')}) {
    HttpResponse r = call("GET", "/api/conversations/" + id);
    EXPECT_EQ(r.status, 404) << id;
    EXPECT_EQ(body_json(r).at("error").at("code"), "conversation_not_found") << id;
    EXPECT_EQ(call("POST", "/api/conversations/" + id + "/messages", R"({"content":"hi"})").status, 404) << id;
  }
  const std::string id = create_conversation();
  HttpResponse r = call("POST", "/api/conversations/" + id + "/messages/msg_nope/regenerate", "{}");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_json(r).at("error").at("code"), "message_not_found");
  r = call("POST", "/api/conversations/" + id + "/messages",
           R"({"content":"hi","parent_id":"msg_0000000000000000000000000A"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_json(r).at("error").at("param"), "parent_id");
  r = call("PUT", "/api/conversations/" + id + "/current_leaf", R"({"message_id":"msg_0000000000000000000000000A"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_json(r).at("error").at("param"), "message_id");
}

TEST_F(ConversationApiTest, UnknownPathsAndWrongMethods) {
  const std::string id = create_conversation();
  EXPECT_EQ(call("GET", "/api/conversations/" + id + "/nothing").status, 404);
  EXPECT_EQ(call("GET", "/api/conversations/" + id + "/").status, 404);
  EXPECT_EQ(call("GET", "/api/conversations//messages").status, 404);
  EXPECT_EQ(call("GET", "/api/conversationsX").status, 404);
  HttpResponse r = call("PUT", "/api/conversations");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET, HEAD, POST");
  EXPECT_EQ(call("GET", "/api/conversations/" + id + "/messages").status, 405);
  EXPECT_EQ(call("GET", "/api/conversations/" + id + "/stop").status, 405);
  EXPECT_EQ(call("POST", "/api/conversations/" + id, "{}").status, 405);
}

TEST_F(ConversationApiTest, StopWithNothingRunningStopsNothing) {
  const std::string id = create_conversation();
  HttpResponse r = call("POST", "/api/conversations/" + id + "/stop", {}, "alice", "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_json(r).at("stopped"), 0);
}

TEST_F(ConversationApiTest, AKeyWithoutTheChatScopeIsRefused) {
  const std::string id = create_conversation();
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/api/conversations"},
                                                        {"GET", "/api/conversations/" + id},
                                                        {"POST", "/api/conversations"},
                                                        {"DELETE", "/api/conversations/" + id}}) {
    HttpResponse r = call(method, path, method == "POST" ? "{}" : "", "models-only");
    EXPECT_EQ(r.status, 403) << method << " " << path;
    EXPECT_EQ(body_json(r).at("error").at("type"), "permission_error");
  }
  EXPECT_EQ(call("GET", "/api/conversations/" + id).status, 200);  // still there
}

// ---- tenant isolation ------------------------------------------------------------------------------

TEST_F(ConversationApiTest, AnotherUserCanNeitherReadNorChangeAConversation) {
  const std::string id = create_conversation(R"({"title":"Alice's","system_prompt":"secret"})");
  Streamed s = stream("/api/conversations/" + id + "/messages", R"({"content":"hi","temperature":0,"max_tokens":4})");
  ASSERT_EQ(s.status, 200) << s.body;
  const json::value before = tree(id);
  const std::string user_msg(before.at("messages").as_array()[1].at("id").as_string());
  const std::string answer(before.at("current_leaf_id").as_string());
  const std::string missing = "cnv_00000000000000000000000000";

  // Every endpoint answers Bob exactly as it answers for a conversation that does not exist.
  struct Probe {
    std::string method, path_suffix, body;
  };
  const std::vector<Probe> probes = {
      {"GET", "", ""},
      {"PATCH", "", R"({"title":"Bob's now"})"},
      {"PATCH", "", R"({"archived":true})"},
      {"DELETE", "", ""},
      {"POST", "/messages", R"({"content":"hello"})"},
      {"POST", "/messages", R"({"content":"hello","parent_id":")" + user_msg + "\"}"},
      {"POST", "/messages/" + answer + "/regenerate", "{}"},
      {"POST", "/messages/" + user_msg + "/regenerate", "{}"},
      {"PUT", "/current_leaf", R"({"message_id":")" + user_msg + "\"}"},
      {"POST", "/stop", ""},
  };
  for (const Probe& p : probes) {
    HttpResponse theirs = call(p.method, "/api/conversations/" + id + p.path_suffix, p.body, "bob");
    HttpResponse nobody = call(p.method, "/api/conversations/" + missing + p.path_suffix, p.body, "bob");
    EXPECT_EQ(theirs.status, 404) << p.method << " " << p.path_suffix << ": " << theirs.body;
    EXPECT_EQ(theirs.body, nobody.body) << p.method << " " << p.path_suffix;
  }
  // Bob's list does not show it, whatever he searches.
  EXPECT_TRUE(
      body_json(call("GET", "/api/conversations?include_archived=true", {}, "bob")).at("data").as_array().empty());
  EXPECT_TRUE(body_json(call("GET", "/api/conversations?q=Alice", {}, "bob")).at("data").as_array().empty());

  // Bob cannot graft his messages onto Alice's tree, or point his leaf at her messages.
  const std::string bobs = create_conversation("{}", "bob");
  HttpResponse r = call("POST", "/api/conversations/" + bobs + "/messages",
                        R"({"content":"x","parent_id":")" + answer + "\"}", "bob");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_json(r).at("error").at("param"), "parent_id");
  r = call("PUT", "/api/conversations/" + bobs + "/current_leaf", R"({"message_id":")" + answer + "\"}", "bob");
  EXPECT_EQ(r.status, 400);
  r = call("POST", "/api/conversations/" + bobs + "/messages/" + answer + "/regenerate", "{}", "bob");
  EXPECT_EQ(r.status, 404);

  // Nothing of Alice's changed.
  const json::value after = tree(id);
  EXPECT_EQ(json::serialize(after), json::serialize(before));
}

TEST_F(ConversationApiTest, TheKvPrefixCacheIsNotSharedBetweenUsers) {
  // The same system prompt and message from Alice, then Bob, then Alice again: only Alice's own
  // repeat may reuse cached blocks (the engine's prefix-hit count is what time to first token
  // would reveal).
  const std::string conversation = R"({"system_prompt":"The vault code is 7-4-1-9-Z. Never tell it to anyone."})";
  std::int64_t finished = 0;
  const auto send_as = [&](std::string_view user) {
    const std::string id = create_conversation(conversation, user);
    const Streamed s = stream("/api/conversations/" + id + "/messages",
                              R"({"content":"What is the code?","temperature":0,"max_tokens":1})", user);
    EXPECT_EQ(s.status, 200) << s.body;
    ++finished;
    // The engine's stats snapshot follows the step that finished the reply.
    for (int i = 0; i < 2000 && model().engine().stats().requests_finished < finished; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(model().engine().stats().requests_finished, finished);
    return model().engine().stats().prefix_hit_tokens;
  };
  EXPECT_EQ(send_as("alice"), 0);
  EXPECT_EQ(send_as("bob"), 0);
  EXPECT_GT(send_as("alice"), 0);
}

}  // namespace
}  // namespace parley::testing
