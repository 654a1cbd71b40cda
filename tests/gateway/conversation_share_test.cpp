// Share links and exports over HTTP: the public snapshot (what it shows and what it never
// shows), revocation, deletion, tenant isolation, the per-address rate limit; Markdown and JSON
// exports with their file names.
#include <gtest/gtest.h>

#include <set>

#include "auth/crypto.h"
#include "conversation_test_util.h"
#include "gateway/conversation_export.h"

namespace parley::testing {
namespace {

using ConversationShareTest = ConversationApiFixture;

std::string send_body(std::string_view content) {
  return fmt::format(R"({{"content":{},"max_tokens":3,"temperature":0}})", json::serialize(json::string(content)));
}

std::set<std::string> keys(const json::value& v) {
  std::set<std::string> out;
  for (const auto& kv : v.as_object()) out.insert(std::string(kv.key()));
  return out;
}

class ShareFixture : public ConversationShareTest {
 protected:
  // A conversation of Alice's with a system prompt, settings and one exchange.
  std::string conversation_with_exchange(std::string_view title = "Lisbon") {
    const std::string id = create_conversation(fmt::format(
        R"({{"title":"{}","system_prompt":"SECRET-SYSTEM","settings":{{"system_prompt":"SECRET-SETTING"}}}})", title));
    Streamed s = stream("/api/conversations/" + id + "/messages", send_body("Plan a trip"));
    EXPECT_FALSE(s.last("done").is_null()) << s.body;
    return id;
  }

  json::value share(const std::string& id, std::string_view user = "alice") {
    HttpResponse r = call("POST", "/api/conversations/" + id + "/shares", "{}", user);
    EXPECT_EQ(r.status, 201) << r.body;
    return body_json(r);
  }

  HttpResponse view(std::string_view token) {
    return call("GET", "/api/shared/" + std::string(token), {}, "alice", "");
  }
};

TEST_F(ShareFixture, TheLinkShowsTheSnapshotAndNothingElseOfTheOwner) {
  const std::string id = conversation_with_exchange();
  const json::value s = share(id);
  EXPECT_EQ(keys(s), (std::set<std::string>{"id", "object", "conversation_id", "title", "url", "token", "message_count",
                                            "created_at", "revoked_at"}));
  EXPECT_EQ(s.at("object"), "share");
  EXPECT_EQ(s.at("conversation_id"), id.c_str());
  EXPECT_EQ(s.at("title"), "Lisbon");
  EXPECT_EQ(s.at("message_count"), 2);  // the user message and the answer; not the system prompt
  EXPECT_TRUE(s.at("revoked_at").is_null());
  const std::string token(s.at("token").as_string());
  EXPECT_EQ(token.size(), 43u);  // 32 random bytes, base64url
  EXPECT_TRUE(auth::is_base64url(token));
  EXPECT_EQ(s.at("url"), ("/share/" + token).c_str());
  EXPECT_EQ(std::string(s.at("id").as_string()).rfind("shr_", 0), 0u);

  // The conversation goes on after sharing: the link still shows the snapshot.
  Streamed more = stream("/api/conversations/" + id + "/messages", send_body("And Porto?"));
  ASSERT_FALSE(more.last("done").is_null());
  ASSERT_EQ(call("PATCH", "/api/conversations/" + id, R"({"title":"Renamed later"})").status, 200);

  HttpResponse r = view(token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("X-Robots-Tag"), "noindex, nofollow");
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  const json::value v = body_json(r);
  EXPECT_EQ(keys(v), (std::set<std::string>{"object", "title", "created_at", "messages"}));
  EXPECT_EQ(v.at("object"), "shared_conversation");
  EXPECT_EQ(v.at("title"), "Lisbon");
  EXPECT_EQ(v.at("created_at"), s.at("created_at"));
  const json::array& messages = v.at("messages").as_array();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].at("role"), "user");
  EXPECT_EQ(messages[0].at("content"), "Plan a trip");
  EXPECT_TRUE(messages[0].at("model").is_null());
  EXPECT_EQ(messages[1].at("role"), "assistant");
  EXPECT_EQ(messages[1].at("model"), "tiny");
  for (const json::value& m : messages) {
    EXPECT_EQ(keys(m), (std::set<std::string>{"role", "content", "model", "created_at"}));
  }
  // Nothing else of the owner: no ids, no system prompt, no settings, no usage, no account.
  for (const std::string& secret : {id, alice_.user_id, std::string("SECRET-SYSTEM"), std::string("SECRET-SETTING"),
                                    std::string("alice@example.com"), std::string("msg_"), std::string("shr_"),
                                    std::string("And Porto"), std::string("Renamed later")}) {
    EXPECT_EQ(r.body.find(secret), std::string::npos) << secret;
  }
}

TEST_F(ShareFixture, SharesAreListedRevokedAndEndWithTheConversation) {
  const std::string id = conversation_with_exchange();
  const json::value first = share(id);
  const json::value second = share(id);
  HttpResponse list = call("GET", "/api/conversations/" + id + "/shares");
  ASSERT_EQ(list.status, 200) << list.body;
  const json::value l = body_json(list);
  EXPECT_EQ(l.at("object"), "list");
  ASSERT_EQ(l.at("data").as_array().size(), 2u);
  EXPECT_EQ(l.at("data").at(0).at("id"), second.at("id"));        // newest first
  EXPECT_EQ(l.at("data").at(0).at("token"), second.at("token"));  // its owner can copy it again

  const std::string first_id(first.at("id").as_string());
  HttpResponse revoked = call("DELETE", "/api/shares/" + first_id, {}, "alice", "");
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_FALSE(body_json(revoked).at("revoked_at").is_null());
  HttpResponse again = call("DELETE", "/api/shares/" + first_id, {}, "alice", "");
  EXPECT_EQ(body_json(again).at("revoked_at"), body_json(revoked).at("revoked_at"));
  HttpResponse gone = view(first.at("token").as_string());
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(body_json(gone).at("error").at("code"), "share_not_found");
  EXPECT_EQ(gone.header("X-Robots-Tag"), "noindex, nofollow");
  EXPECT_EQ(view(second.at("token").as_string()).status, 200);
  const json::value after = body_json(call("GET", "/api/conversations/" + id + "/shares"));
  EXPECT_FALSE(after.at("data").at(1).at("revoked_at").is_null());  // revoked ones stay listed

  // Deleting the conversation ends every link.
  ASSERT_EQ(call("DELETE", "/api/conversations/" + id, {}, "alice", "").status, 204);
  EXPECT_EQ(view(second.at("token").as_string()).status, 404);
  EXPECT_EQ(call("GET", "/api/conversations/" + id + "/shares").status, 404);
  // Unknown and malformed tokens alike.
  EXPECT_EQ(view(std::string(43, 'A')).status, 404);
  EXPECT_EQ(view("short").status, 404);
  EXPECT_EQ(view(std::string(43, '~')).status, 404);
}

TEST_F(ShareFixture, OnlyTheOwnerSharesListsAndRevokes) {
  const std::string id = conversation_with_exchange();
  const json::value s = share(id);
  const std::string share_id(s.at("id").as_string());
  // Bob: Alice's conversation and share are "not found", exactly as missing ones.
  HttpResponse r = call("POST", "/api/conversations/" + id + "/shares", "{}", "bob");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_json(r).at("error").at("code"), "conversation_not_found");
  EXPECT_EQ(call("GET", "/api/conversations/" + id + "/shares", {}, "bob").status, 404);
  r = call("DELETE", "/api/shares/" + share_id, {}, "bob", "");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_json(r).at("error").at("code"), "share_not_found");
  HttpResponse missing = call("DELETE", "/api/shares/shr_00000000000000000000000000", {}, "alice", "");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(body_json(missing).at("error"), body_json(r).at("error"));
  // Alice's link still works; an API key without the chat scope cannot share.
  EXPECT_EQ(view(s.at("token").as_string()).status, 200);
  EXPECT_EQ(call("POST", "/api/conversations/" + id + "/shares", "{}", "models-only").status, 403);
  // Nothing to share yet, a body with fields, a body that is not JSON.
  const std::string empty = create_conversation();
  r = call("POST", "/api/conversations/" + empty + "/shares", "{}");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(call("POST", "/api/conversations/" + id + "/shares", R"({"leaf":"x"})").status, 400);
  EXPECT_EQ(call("POST", "/api/conversations/" + id + "/shares", "{}", "alice", "text/plain").status, 415);
  EXPECT_EQ(call("POST", "/api/conversations/" + id + "/shares", "").status, 201);  // no body at all is fine
}

class ShareRateTest : public ShareFixture {
 protected:
  ShareRateTest() { shared_per_minute_ip_ = 3; }
};

TEST_F(ShareRateTest, ReadsOfSharedConversationsAreLimitedPerAddress) {
  const std::string id = conversation_with_exchange();
  const std::string token(share(id).at("token").as_string());
  EXPECT_EQ(view(token).status, 200);
  EXPECT_EQ(view(std::string(43, 'B')).status, 404);  // misses count too: guessing is slowed
  EXPECT_EQ(view(token).status, 200);
  HttpResponse limited = view(token);
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_FALSE(limited.header("Retry-After").empty());
  EXPECT_EQ(limited.header("X-Robots-Tag"), "noindex, nofollow");
  // The owner's own endpoints are not affected.
  EXPECT_EQ(call("GET", "/api/conversations/" + id + "/shares").status, 200);
}

// ---- export -----------------------------------------------------------------------------------

TEST_F(ShareFixture, ExportsAreMarkdownOrTheTreeAsJson) {
  const std::string id = conversation_with_exchange("Plan: a trip / to Lisbon?");
  HttpResponse md = call("GET", "/api/conversations/" + id + "/export?format=markdown", {}, "alice", "");
  ASSERT_EQ(md.status, 200) << md.body;
  EXPECT_EQ(md.header("Content-Type"), "text/markdown; charset=utf-8");
  EXPECT_EQ(md.header("Content-Disposition"), "attachment; filename=\"Plan a trip to Lisbon.md\"");
  EXPECT_EQ(md.header("Cache-Control"), "no-store");
  const json::value t = tree(id);
  const json::array& messages = t.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u);
  std::string answer(messages[2].at("content").as_string());
  if (!answer.empty() && answer.back() != '\n') answer += '\n';
  const std::string expected =
      "# Plan: a trip / to Lisbon?\n\n**System**\n\nSECRET-SYSTEM\n\n**User**\n\nPlan a trip\n\n"
      "**Assistant** (tiny)\n\n" +
      answer;
  EXPECT_EQ(md.body, expected);
  // The default format is Markdown.
  EXPECT_EQ(call("GET", "/api/conversations/" + id + "/export", {}, "alice", "").body, md.body);

  HttpResponse js = call("GET", "/api/conversations/" + id + "/export?format=json", {}, "alice", "");
  ASSERT_EQ(js.status, 200) << js.body;
  EXPECT_EQ(js.header("Content-Type"), "application/json");
  EXPECT_EQ(js.header("Content-Disposition"), "attachment; filename=\"Plan a trip to Lisbon.json\"");
  EXPECT_EQ(body_json(js), t);  // the tree response: settings, usage and every message
  EXPECT_TRUE(body_json(js).at("conversation").as_object().contains("usage"));

  EXPECT_EQ(call("GET", "/api/conversations/" + id + "/export?format=pdf", {}, "alice", "").status, 400);
  EXPECT_EQ(call("GET", "/api/conversations/" + id + "/export", {}, "bob", "").status, 404);
  const std::string untitled = create_conversation();
  HttpResponse empty = call("GET", "/api/conversations/" + untitled + "/export", {}, "alice", "");
  EXPECT_EQ(empty.header("Content-Disposition"), "attachment; filename=\"conversation.md\"");
  EXPECT_EQ(empty.body, "# Conversation\n");
}

TEST(ConversationExport, FileNamesAreSafe) {
  EXPECT_EQ(export_file_name("Trip plans", "md"), "Trip plans.md");
  EXPECT_EQ(export_file_name("", "md"), "conversation.md");
  EXPECT_EQ(export_file_name("   ", "json"), "conversation.json");
  EXPECT_EQ(export_file_name("\"quoted\"\r\nContent-Type: evil", "md"), "quotedContent-Type evil.md");
  EXPECT_EQ(export_file_name("../../etc/passwd", "md"), "etcpasswd.md");
  EXPECT_EQ(export_file_name("..hidden..", "md"), "hidden.md");
  EXPECT_EQ(export_file_name("Caf\u00e9 \u2615 au lait", "md"), "Caf au lait.md");
  EXPECT_EQ(export_file_name("\u65e5\u672c\u8a9e", "md"), "conversation.md");
  EXPECT_EQ(export_file_name("a;b\\c/d%e*f", "md"), "abcdef.md");
  EXPECT_EQ(export_file_name(std::string(300, 'x'), "md"), std::string(100, 'x') + ".md");
}

TEST(ConversationExport, MarkdownKeepsContentsVerbatim) {
  std::vector<store::Message> path(2);
  path[0].role = store::MessageRole::kUser;
  path[0].content = "# not a title\n```\ncode\n```";
  path[1].role = store::MessageRole::kAssistant;
  path[1].model = "m";
  path[1].content = "**bold**\n";
  EXPECT_EQ(export_markdown("Two\nlines", path),
            "# Two lines\n\n**User**\n\n# not a title\n```\ncode\n```\n\n**Assistant** (m)\n\n**bold**\n");
}

TEST(ConversationExport, MarkdownMarksAnInterruptedReply) {
  std::vector<store::Message> path(2);
  path[0].role = store::MessageRole::kUser;
  path[0].content = "Hi";
  path[1].role = store::MessageRole::kAssistant;
  path[1].content = "Half of";
  path[1].status = store::MessageStatus::kInterrupted;
  EXPECT_EQ(export_markdown("t", path),
            "# t\n\n**User**\n\nHi\n\n**Assistant**\n\nHalf of\n\n*(interrupted: this reply was cut short)*\n");
}

}  // namespace
}  // namespace parley::testing
