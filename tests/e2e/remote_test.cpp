// SPDX-License-Identifier: MIT
// `multivio --remote URL` against the real multiviod --listen on 127.0.0.1.
// The daemon serves the sandbox's own database, so a read run remotely and
// the same read run locally must print the same bytes and exit the same
// way; a change made remotely is compared with the same change made locally
// to a twin post. Errors keep their exit codes: a bad token 5, a missing or
// foreign id 4, a daemon that is down 1, a local-only command 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <regex>
#include <thread>

#include "common/http/client.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/fakes/openai_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::HasSubstr;

class RemoteTest : public testing::Test {
 protected:
  void SetUp() override {
    try {
      ai_ = std::make_unique<fakes::OpenAiServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    // A long poll interval: the daemon's loop must not publish what the
    // tests compare. The fake model answers for local and remote AI calls.
    box_.append_config("daemon: {poll_interval: 1h}\nai: {base_url: " + ai_->base_url() + ", model: " + ai_->model() +
                       ", timeout: 3s, retries: 1, rewrites: 1}");
    box_.env["XAI_API_KEY"] = ai_->api_key();
    const auto r = box_.cli({"account", "add", "feed", "--name", "main", "--path", box_.dir() + "/feed"});
    ASSERT_EQ(r.code, 0) << r.err;
    token_ = box_.json({"token", "create", "--user", "local", "--scope", "posts:read,posts:write,accounts:read,accounts:write,ai"})["token"];

    const std::string port_file = box_.dir() + "/port";
    daemon_ = std::make_unique<Process>(box_.daemon({"--listen", "127.0.0.1:0", "--listen-port-file", port_file}));
    for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
      if (const std::string text = read_file(port_file); !text.empty()) {
        url_ = "http://127.0.0.1:" + std::to_string(std::stoi(text));
        break;
      }
      if (!daemon_->running()) break;
      std::this_thread::sleep_for(20ms);
    }
    if (url_.empty()) GTEST_SKIP() << "the listener did not start: " << daemon_->stderr_text();
  }

  void TearDown() override {
    if (daemon_ && daemon_->running()) {
      daemon_->signal(SIGTERM);
      daemon_->wait(15s);
    }
  }

  RunResult remote(std::vector<std::string> args, const std::string& token = "", const std::string& input = "") {
    args.insert(args.begin(), {"--remote", url_, "--api-token", token.empty() ? token_ : token});
    return box_.cli(args, input);
  }

  // Runs the command both ways and expects the same stdout, stderr and code.
  RunResult same(const std::vector<std::string>& args) {
    const auto local = box_.cli(args);
    const auto far = remote(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(far.code, local.code) << joined << "\nremote: " << far.err << "\nlocal: " << local.err;
    EXPECT_EQ(far.out, local.out) << joined;
    EXPECT_EQ(far.err, local.err) << joined;
    return far;
  }

  Sandbox box_;
  std::unique_ptr<fakes::OpenAiServer> ai_;
  std::unique_ptr<Process> daemon_;
  std::string token_;
  std::string url_;
};

// "post 7" and "post 8" print alike but for the id.
std::string without(const std::string& text, long long id) {
  return std::regex_replace(text, std::regex("\\b" + std::to_string(id) + "\\b"), "ID");
}

TEST_F(RemoteTest, PostCommandsPrintWhatTheyPrintLocally) {
  const std::vector<std::string> create{"post", "new", "release notes", "--to", "feed:main", "--at",
                                        "2030-01-01 09:00", "--tag", "v1"};
  const auto far = remote(create);
  ASSERT_EQ(far.code, 0) << far.err;
  const auto local = box_.cli(create);
  ASSERT_EQ(local.code, 0) << local.err;
  EXPECT_EQ(far.out, "Created post 1 (scheduled, 2030-01-01 09:00:00 UTC) for feed:main\n");
  EXPECT_EQ(without(far.out, 1), without(local.out, 2));

  // Reads of the same database: byte for byte, text and JSON.
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"post", "list"},
                                             {"post", "list", "--json"},
                                             {"post", "list", "--limit", "1"},
                                             {"post", "list", "--status", "draft"},
                                             {"post", "list", "--to", "feed:main", "--since", "2029-12-31 00:00"},
                                             {"post", "show", "1"},
                                             {"post", "show", "1", "--json"},
                                             {"post", "show", "99"},
                                             {"post", "list", "--status", "nonsense"},
                                             {"post", "list", "--to", "x:nobody"}}) {
    same(args);
  }

  // Changes: the remote one to post 1, the local one to its twin, post 2.
  const std::vector<std::vector<std::string>> changes{
      {"post", "edit", "ID", "new text", "--tag", "v2"},
      {"post", "schedule", "ID", "--at", "2031-02-03 10:00"},
      {"post", "cancel", "ID"},
      {"post", "retry", "ID"},
      {"--json", "post", "edit", "ID", "--variant", "feed:main=just the feed"},
      {"-q", "post", "cancel", "ID"},
  };
  for (const auto& change : changes) {
    auto for_id = [&](long long id) {
      auto args = change;
      for (auto& a : args) {
        if (a == "ID") a = std::to_string(id);
      }
      return args;
    };
    const auto r = remote(for_id(1));
    const auto l = box_.cli(for_id(2));
    EXPECT_EQ(r.code, l.code) << r.err << l.err;
    json far_doc = json::parse(r.out, nullptr, false);
    if (far_doc.is_object()) {
      // The JSON of a change is the post: compare it but for ids and clock.
      json local_doc = json::parse(l.out);
      for (json* doc : {&far_doc, &local_doc}) {
        doc->erase("id");
        doc->erase("created_at");
        doc->erase("updated_at");
        for (auto& t : (*doc)["targets"]) t.erase("id");
      }
      EXPECT_EQ(far_doc, local_doc);
    } else {
      EXPECT_EQ(without(r.out, 1), without(l.out, 2));
    }
  }
  const json shown = box_.json({"post", "show", "1"});
  EXPECT_EQ(shown["text"], "new text");
  EXPECT_EQ(shown["tags"], json::array({"v2"}));
  EXPECT_EQ(shown["status"], "cancelled");
  EXPECT_EQ(shown["targets"][0]["variant"], "just the feed");

  // Idempotency keys: a repeat says so, as locally.
  const std::vector<std::string> keyed{"post", "new", "keyed", "--to", "feed:main", "--draft", "--key", "ci-1"};
  ASSERT_EQ(remote(keyed).code, 0);
  same(keyed);

  // Publish in the foreground over the API, then delete.
  const auto draft = remote({"-q", "post", "new", "to publish", "--to", "feed:main", "--draft"});
  ASSERT_EQ(draft.code, 0) << draft.err;
  const std::string id(draft.out.substr(0, draft.out.find('\n')));
  const auto published = remote({"post", "publish", id});
  EXPECT_EQ(published.code, 0) << published.err;
  EXPECT_THAT(published.out, testing::StartsWith("feed:main  published"));
  EXPECT_EQ(box_.json({"post", "show", id})["status"], "published");
  same({"post", "show", id});
  EXPECT_EQ(remote({"post", "delete", id}).out, "Deleted post " + id + "\n");
  EXPECT_EQ(box_.cli({"post", "show", id}).code, 4);

  // Text checks, with their exit code 3 when a network refuses.
  same({"post", "check", "short enough", "--to", "x,feed:main"});
  same({"--json", "post", "check", std::string(300, 'a'), "--to", "x,bluesky"});
  EXPECT_EQ(remote({"post", "check", std::string(300, 'a'), "--to", "x"}).code, 3);
  same({"post", "check", std::string(300, 'a'), "--to", "x", "--thread", "auto"});
  same({"post", "new", "to nobody", "--to", "nobody:main", "--draft"});
}

TEST_F(RemoteTest, AccountCommandsPrintWhatTheyPrintLocally) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"account", "list"},
                                             {"account", "list", "--json"},
                                             {"account", "show", "feed:main"},
                                             {"account", "show", "1", "--json"},
                                             {"account", "show", "feed"},
                                             {"account", "show", "feed:nope"},
                                             {"account", "show", "42"},
                                             {"account", "check"},
                                             {"account", "check", "feed:main", "--json"}}) {
    same(args);
  }

  // Feed and webhook accounts act on the daemon's host: admin only.
  const std::vector<std::string> add{"account", "add", "webhook", "--name", "ci", "--url", "http://127.0.0.1:9/hook"};
  const auto refused = remote(add);
  EXPECT_EQ(refused.code, 5) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("admin scope"));
  const std::string admin = box_.json({"token", "create", "--user", "local", "--scope", "admin"})["token"];
  const auto added = remote(add, admin);
  ASSERT_EQ(added.code, 0) << added.err;
  EXPECT_EQ(added.out, "Added account 2 webhook:ci\n");
  same({"account", "show", "webhook:ci"});
  const auto refresh = remote({"account", "refresh", "webhook:ci"});
  EXPECT_EQ(refresh.code, box_.cli({"account", "refresh", "webhook:ci"}).code) << refresh.err;
  const auto removed = remote({"account", "remove", "webhook:ci"}, admin);
  EXPECT_EQ(removed.code, 0) << removed.err;
  EXPECT_EQ(removed.out, "Removed account 2 webhook:ci\n");
  EXPECT_EQ(box_.cli({"account", "show", "webhook:ci"}).code, 4);

  const auto oauth = remote({"account", "add", "x", "--oauth"});
  EXPECT_EQ(oauth.code, 2);
  EXPECT_THAT(oauth.err, HasSubstr("--remote"));
}

TEST_F(RemoteTest, ErrorsKeepTheirExitCodes) {
  // A token the daemon does not know: auth, exit 5, and the token is never shown.
  const auto bad = remote({"post", "list"}, "mv_not-a-real-token");
  EXPECT_EQ(bad.code, 5) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr(url_));
  EXPECT_EQ(bad.err.find("mv_not-a-real-token"), std::string::npos);
  EXPECT_EQ(bad.err.find(token_), std::string::npos);

  // Another user's post is as missing as one that never existed.
  ASSERT_EQ(box_.cli({"user", "add", "bob"}).code, 0);
  ASSERT_EQ(box_.cli({"--as", "bob", "account", "add", "feed", "--name", "bob", "--path", box_.dir() + "/bob"}).code, 0);
  const auto bobs = box_.json({"--as", "bob", "post", "new", "mine", "--to", "feed:bob", "--draft"});
  const std::string foreign = std::to_string(bobs["id"].get<long long>());
  const auto missing = remote({"post", "show", foreign});
  EXPECT_EQ(missing.code, 4);
  EXPECT_EQ(missing.err, box_.cli({"post", "show", foreign}).err);
  EXPECT_EQ(remote({"post", "cancel", foreign}).code, 4);

  // A token without the scope.
  const std::string reader = box_.json({"token", "create", "--user", "local", "--scope", "posts:read"})["token"];
  const auto forbidden = remote({"post", "new", "x", "--to", "feed:main"}, reader);
  EXPECT_EQ(forbidden.code, 5);
  EXPECT_THAT(forbidden.err, HasSubstr("posts:write"));

  // JSON errors keep their shape.
  const auto json_err = remote({"--json", "post", "show", "99"});
  EXPECT_EQ(json_err.code, 4);
  EXPECT_EQ(json::parse(json_err.err)["error"]["code"], "not_found");

  // What only works on the daemon's host.
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"db", "migrate"}, {"token", "list"}, {"user", "list"}, {"ai", "usage"}, {"init"}}) {
    const auto r = remote(args);
    EXPECT_EQ(r.code, 2) << args[0];
    EXPECT_THAT(r.err, HasSubstr("does not work with --remote"));
  }
  const auto media = remote({"post", "new", "x", "--to", "feed:main", "--media", "/etc/hostname"});
  EXPECT_EQ(media.code, 2);
  EXPECT_THAT(media.err, HasSubstr("--media"));
  EXPECT_EQ(remote({"post", "publish", "1", "--dry-run"}).code, 2);

  // No token, or one that would cross the network in clear text.
  auto r = box_.cli({"--remote", url_, "post", "list"});
  EXPECT_EQ(r.code, 5);
  EXPECT_THAT(r.err, HasSubstr("MULTIVIO_API_TOKEN"));
  box_.env["MULTIVIO_API_TOKEN"] = token_;
  EXPECT_EQ(box_.cli({"--remote", url_, "post", "list"}).code, 0) << "the token from the environment";
  r = box_.cli({"--remote", "http://example.com", "post", "list"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("https://"));
  box_.env.erase("MULTIVIO_API_TOKEN");

  // The daemon is gone: transient, exit 1, naming the URL.
  daemon_->signal(SIGTERM);
  daemon_->wait(15s);
  const auto down = remote({"post", "list"});
  EXPECT_EQ(down.code, 1);
  EXPECT_THAT(down.err, HasSubstr("cannot reach the multivio API at " + url_));
}

TEST_F(RemoteTest, AiCommandsPrintWhatTheyPrintLocally) {
  fakes::OpenAiServer::Reply reply;
  reply.text = "Sync is 3x faster in v1.2 #release";
  ai_->set_default(reply);
  same({"ai", "generate", "announce v1.2", "--for", "x", "--tone", "friendly"});
  same({"ai", "generate", "announce v1.2", "--for", "x", "--stream"});
  same({"ai", "generate", "announce v1.2", "--variants", "2"});
  const auto far = remote({"--json", "ai", "generate", "announce v1.2", "--for", "mastodon"});
  ASSERT_EQ(far.code, 0) << far.err;
  const json doc = json::parse(far.out);
  EXPECT_EQ(doc["text"], reply.text);
  EXPECT_EQ(doc["platform"], "mastodon");
  EXPECT_EQ(doc["limit"], 500);
  same({"ai", "transform", "v1.2 is out", "--for", "x,mastodon"});
  // JSON alike but for the measured latency.
  auto without_latency = [](const RunResult& r) {
    json doc = json::parse(r.out, nullptr, false);
    for (auto& t : doc) t["usage"].erase("latency_ms");
    return doc;
  };
  const std::vector<std::string> transform{"--json", "ai", "transform", "v1.2 is out", "--for", "x"};
  const auto transformed = remote(transform);
  EXPECT_EQ(transformed.code, 0) << transformed.err;
  EXPECT_EQ(without_latency(transformed), without_latency(box_.cli(transform)));
  reply.text = "#release #sync #Release #git";
  ai_->set_default(reply);
  same({"ai", "hashtags", "v1.2: faster sync", "--count", "3"});
  same({"ai", "hashtags", "v1.2: faster sync", "--for", "x", "--json"});

  // The wire form of a stream: deltas, then the document.
  reply.text = "Streamed over the API";
  ai_->set_default(reply);
  http::Request sse;
  sse.method = "POST";
  sse.url = url_ + "/v1/ai/generate";
  sse.headers = {{"Authorization", "Bearer " + token_}, {"Accept", "text/event-stream"},
                 {"Content-Type", "application/json"}};
  sse.body = R"({"prompt": "stream it", "for": "x"})";
  const auto streamed_wire = http::make_client()->send(sse);
  EXPECT_EQ(streamed_wire.status, 200);
  EXPECT_THAT(streamed_wire.header("Content-Type").value_or(""), HasSubstr("text/event-stream"));
  EXPECT_THAT(streamed_wire.body, testing::StartsWith("event: delta\ndata: {\"text\":\"Stre\"}\n\n"));
  EXPECT_THAT(streamed_wire.body, HasSubstr("event: done\ndata: {\"cleaned\":false,"));
  EXPECT_THAT(streamed_wire.body, HasSubstr("\"text\":\"Streamed over the API\""));
  sse.body = R"({"prompt": ""})";
  EXPECT_EQ(http::make_client()->send(sse).status, 400) << "a bad request is refused before any stream";

  // The model failing reaches the remote CLI as it reaches a local one.
  fakes::OpenAiServer::Reply broken;
  broken.kind = fakes::OpenAiServer::Reply::unauthorized;
  ai_->set_default(broken);
  const auto local = box_.cli({"ai", "generate", "x", "--stream"});
  const auto streamed = remote({"ai", "generate", "x", "--stream"});
  EXPECT_NE(local.code, 0);
  EXPECT_EQ(streamed.code, local.code) << streamed.err;
  EXPECT_EQ(remote({"ai", "generate", "x"}).code, local.code);
  EXPECT_EQ(remote({"ai", "generate", "x", "--for", "nowhere"}).code, 2);

  const std::string no_ai = box_.json({"token", "create", "--user", "local", "--scope", "posts:read"})["token"];
  EXPECT_EQ(remote({"ai", "generate", "x"}, no_ai).code, 5);
}

}  // namespace
}  // namespace multivio::e2e
