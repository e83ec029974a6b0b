// SPDX-License-Identifier: MIT
// `multivio ai ...`, `post new --ai/--adapt` and the daemon's adaptation at
// publish time, against a fake OpenAI-compatible server on 127.0.0.1.
#include <signal.h>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/fakes/openai_server.hpp"
#include "tests/fakes/webhook_server.hpp"

namespace multivio::e2e {
namespace {

using namespace std::chrono_literals;
using fakes::OpenAiServer;
using Reply = OpenAiServer::Reply;

Reply says(std::string text) {
  Reply r;
  r.text = std::move(text);
  return r;
}

class AiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      ai_ = std::make_unique<OpenAiServer>();
      hook_ = std::make_unique<fakes::WebhookServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << "cannot bind a loopback socket: " << e.what();
    }
    ASSERT_EQ(box_.cli({"init"}).code, 0);
    box_.append_config("ai: {base_url: " + ai_->base_url() + ", model: " + ai_->model() +
                       ", timeout: 3s, retries: 2, rewrites: 2}\nlog: {format: text}");
    box_.env["XAI_API_KEY"] = ai_->api_key();
    ASSERT_EQ(box_.cli({"account", "add", "webhook", "--name", "discord", "--url", hook_->base_url() + "/d",
                        "--format", "discord"})
                  .code,
              0);
  }

  Sandbox box_;
  std::unique_ptr<OpenAiServer> ai_;
  std::unique_ptr<fakes::WebhookServer> hook_;
};

TEST_F(AiTest, GenerateForANetworkPrintsTheTextAndRecordsUsage) {
  ai_->set_default(says("Sync is 3x faster in v1.2 🚀 #release"));
  const auto out = box_.json({"ai", "generate", "announce v1.2", "--for", "x", "--tone", "friendly"});
  EXPECT_EQ(out["platform"], "x");
  EXPECT_EQ(out["text"], "Sync is 3x faster in v1.2 🚀 #release");
  EXPECT_EQ(out["limit"], 280);
  EXPECT_EQ(out["length"], 37) << "the emoji weighs 2 on X";
  EXPECT_EQ(out["usage"]["prompt_tokens"], 17);

  ASSERT_EQ(ai_->count(), 1u);
  const auto req = ai_->received().front().json;
  EXPECT_EQ(req["model"], ai_->model());
  const std::string prompt = req["messages"].back()["content"];
  for (const char* needle : {"announce v1.2", "x", "280", "friendly"}) {
    EXPECT_NE(prompt.find(needle), std::string::npos) << needle << " missing from: " << prompt;
  }
  const auto usage = box_.json({"ai", "usage"});
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0]["calls"], 1);
  EXPECT_EQ(usage[0]["completion_tokens"], 6);
}

TEST_F(AiTest, TooLongForXIsSentBackWithTheProblemAndTheSecondAnswerIsUsed) {
  ai_->script({says(std::string(300, 'a')), says("Short enough for X.")});
  const auto out = box_.json({"ai", "generate", "a long story", "--for", "x"});
  EXPECT_EQ(out["text"], "Short enough for X.");
  EXPECT_EQ(out["rewrites"], 1);
  ASSERT_EQ(ai_->count(), 2u);
  const auto second = ai_->received()[1].json["messages"];
  EXPECT_EQ(second[second.size() - 2]["role"], "assistant");
  const std::string complaint = second.back()["content"];
  EXPECT_NE(complaint.find("300"), std::string::npos) << complaint;
  EXPECT_NE(complaint.find("280"), std::string::npos) << complaint;
}

TEST_F(AiTest, StillTooLongFailsClearlyOrIsShortenedWithFit) {
  const std::string longer = "First sentence is fine. " + std::string(290, 'b') + ".";
  ai_->set_default(says(longer));
  const auto r = box_.cli({"ai", "generate", "x", "--for", "x"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("still breaks x's rules"), std::string::npos) << r.err;
  EXPECT_EQ(ai_->count(), 3u) << "the first answer and two rewrites";

  const auto fitted = box_.json({"ai", "generate", "x", "--for", "x", "--fit"});
  EXPECT_EQ(fitted["text"], "First sentence is fine.");
  EXPECT_FALSE(fitted["fit"].is_null());
}

TEST_F(AiTest, StreamedTextArrivesWholeDespiteAwkwardSplits) {
  Reply r = says("Zürich 🇨🇭 ships today");
  const std::string stream = OpenAiServer::stream_for(r, ai_->model(), true);
  for (std::size_t at = 3; at < stream.size(); at += 7) r.splits.push_back(at);
  r.keep_alive = true;
  r.crlf = true;
  ai_->set_default(r);
  const auto out = box_.cli({"ai", "generate", "ship it", "--stream"});
  EXPECT_EQ(out.code, 0) << out.err;
  EXPECT_EQ(out.out, "Zürich 🇨🇭 ships today\n") << "streamed pieces join to the text, nothing printed twice";
  EXPECT_TRUE(ai_->received().front().json.value("stream", false));
}

TEST_F(AiTest, ProviderErrorsMapToExitCodes) {
  ai_->set_default([] {
    Reply r;
    r.kind = Reply::server_error;
    return r;
  }());
  auto r = box_.cli({"ai", "generate", "hi"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(ai_->count(), 3u) << "two retries after the first 500";

  box_.env["XAI_API_KEY"] = "xai-wrong-key";
  r = box_.cli({"ai", "generate", "hi"});
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_EQ(r.err.find("xai-wrong-key"), std::string::npos) << "the key never appears: " << r.err;

  box_.env.erase("XAI_API_KEY");
  r = box_.cli({"ai", "generate", "hi"});
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_NE(r.err.find("ai login"), std::string::npos) << r.err;
}

TEST_F(AiTest, LoginStoresTheKeySealed) {
  box_.env.erase("XAI_API_KEY");
  ASSERT_EQ(box_.cli({"ai", "login"}, ai_->api_key() + "\n").code, 0);
  ai_->set_default(says("hello"));
  EXPECT_EQ(box_.json({"ai", "generate", "hi"})["text"], "hello");
  EXPECT_EQ(box_.database_bytes().find(ai_->api_key()), std::string::npos);
}

TEST_F(AiTest, TransformWritesOneValidVariantPerNetwork) {
  ai_->script({says("For X: v1.2 is out"), says("For Discord: v1.2 is out, with details")});
  const auto out = box_.json({"ai", "transform", "v1.2 is out with faster sync", "--for", "x,discord"});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["platform"], "x");
  EXPECT_EQ(out[1]["platform"], "discord");
  EXPECT_EQ(out[1]["limit"], 2000);
  EXPECT_NE(ai_->received()[0].json["messages"].back()["content"].get<std::string>().find("faster sync"),
            std::string::npos);
}

TEST_F(AiTest, HashtagsAreDeduplicatedAndClean) {
  ai_->set_default(says("#Release #release, #sync #2026 #self_hosted #git"));
  const auto tags = box_.json({"ai", "hashtags", "v1.2 ships faster sync", "--count", "4"});
  EXPECT_EQ(tags, nlohmann::json({"#Release", "#sync", "#self_hosted", "#git"}));
}

TEST_F(AiTest, PostNewFromAPromptIsADraftForReview) {
  ai_->set_default(says("Written by the model."));
  const auto post = box_.json({"post", "new", "--ai", "announce it", "--to", "webhook:discord"});
  EXPECT_EQ(post["status"], "draft");
  EXPECT_EQ(post["text"], "Written by the model.");
  const auto now = box_.json({"post", "new", "--ai", "announce it", "--to", "webhook:discord", "--now"});
  EXPECT_EQ(now["status"], "scheduled");
}

TEST_F(AiTest, AdaptFillsAVariantPerTarget) {
  ASSERT_EQ(box_.cli({"account", "add", "feed", "--name", "main", "--path", box_.dir() + "/feed"}).code, 0);
  ai_->script({says("Discord version"), says("Feed version")});
  const auto post = box_.json({"post", "new", "the main text", "--to", "webhook:discord,feed:main", "--adapt"});
  EXPECT_EQ(post["status"], "draft") << "adapted text waits for review";
  ASSERT_EQ(post["targets"].size(), 2u);
  EXPECT_EQ(post["targets"][0]["variant"], "Discord version");
  EXPECT_EQ(post["targets"][1]["variant"], "Feed version");
  EXPECT_EQ(post["text"], "the main text");
}

TEST_F(AiTest, CheckKnowsNetworksWithoutAccounts) {
  const auto r = box_.cli({"post", "check", std::string(281, 'a'), "--to", "x,bluesky,mastodon", "--json"});
  EXPECT_EQ(r.code, 3);
  const auto checks = nlohmann::json::parse(r.out);
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_EQ(checks[0]["limit"], 280);
  EXPECT_EQ(checks[0]["ok"], false);
  EXPECT_EQ(checks[1]["ok"], true);
  EXPECT_EQ(checks[2]["ok"], true);
}

TEST_F(AiTest, DaemonAdaptsAtPublishAndFallsBackToTheOriginal) {
  ai_->set_default(says("Adapted for Discord"));
  const auto adapted = box_.json({"post", "new", "original text", "--to", "webhook:discord", "--now",
                                  "--adapt-at-publish"});
  EXPECT_EQ(box_.daemon_run({"--once"}, 20s).code, 0);
  ASSERT_EQ(hook_->count(), 1u);
  EXPECT_EQ(nlohmann::json::parse(hook_->received()[0].body)["content"], "Adapted for Discord");
  const auto shown = box_.json({"post", "show", std::to_string(adapted["id"].get<long long>())});
  EXPECT_EQ(shown["targets"][0]["variant"], "Adapted for Discord") << "what was sent is on record";

  // AI trouble never blocks a scheduled post.
  ai_->set_default([] {
    Reply r;
    r.kind = Reply::unauthorized;
    return r;
  }());
  box_.json({"post", "new", "fallback text", "--to", "webhook:discord", "--now", "--adapt-at-publish"});
  const auto run = box_.daemon_run({"--once"}, 20s);
  EXPECT_EQ(run.code, 0) << run.err;
  ASSERT_EQ(hook_->count(), 2u);
  EXPECT_EQ(nlohmann::json::parse(hook_->received()[1].body)["content"], "fallback text");
  EXPECT_NE(run.err.find("AI adaptation failed"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace multivio::e2e
