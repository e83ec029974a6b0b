// SPDX-License-Identifier: MIT
#include "common/platforms/webhook/webhook.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/platforms/platform.hpp"
#include "tests/fakes/webhook_server.hpp"

namespace multivio::platforms {
namespace {

using namespace std::chrono_literals;
using fakes::WebhookServer;

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<WebhookServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    config_.daemon.http_timeout = 2s;
    config_.daemon.connect_timeout = 1s;
    http_ = http::make_client();
    adapter_ = make_adapter("webhook", Context{*http_, config_});
    use_format("json");

    post_.id = 7;
    post_.text = "hello";
    post_.media = {"/home/u/shots/pic.png"};
    post_.tags = {"release"};
    post_.scheduled_at = model::Timestamp{std::chrono::sys_days{std::chrono::year{2026} / 12 / 1} + 8h};
    target_.id = 9;
    target_.post_id = 7;
  }

  void use_format(const std::string& format, const std::string& path = "/hook") {
    account_.platform = "webhook";
    account_.name = "ci";
    account_.options = {{"url", server_->base_url() + path}, {"format", format}};
    adapter_->configure_account(account_.options);
  }

  PublishRequest request(const std::string& text = "hello") {
    text_ = text;
    return PublishRequest{post_, target_, account_, secrets_, text_, "key-1"};
  }

  Error publish_error() {
    try {
      adapter_->publish(request());
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "publish did not throw";
    return Error(ErrorKind::permanent, "none");
  }

  std::unique_ptr<WebhookServer> server_;
  config::Config config_;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<Adapter> adapter_;
  model::Account account_;
  model::Post post_;
  model::Target target_;
  nlohmann::json secrets_ = nlohmann::json::object();
  std::string text_;
};

TEST_F(WebhookTest, JsonFormatBodyAndHeaders) {
  const PublishResult r = adapter_->publish(request());
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.remote_ids, std::vector<std::string>{"key-1"});  // "ok" carries no id

  const auto got = server_->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].accepted) << got[0].reject_reason;
  EXPECT_EQ(got[0].path, "/hook");
  EXPECT_EQ(got[0].body,
            R"({"post_id":7,"target_id":9,"account":"webhook:ci","text":"hello","media":["pic.png"],)"
            R"("tags":["release"],"scheduled_at":"2026-12-01T08:00:00Z","idempotency_key":"key-1"})");
  EXPECT_EQ(got[0].header("content-type"), "application/json");
  EXPECT_EQ(got[0].header("idempotency-key"), "key-1");
  EXPECT_FALSE(got[0].header("x-multivio-signature"));
}

TEST_F(WebhookTest, JsonFormatNullScheduleAndRemoteIdFromResponse) {
  post_.scheduled_at.reset();
  post_.media.clear();
  post_.tags.clear();
  server_->script({{201, R"({"id":"evt_123"})", {}, 0ms}});
  const PublishResult r = adapter_->publish(request());
  EXPECT_EQ(r.http_status, 201);
  EXPECT_EQ(r.remote_ids, std::vector<std::string>{"evt_123"});
  EXPECT_EQ(server_->received().at(0).body,
            R"({"post_id":7,"target_id":9,"account":"webhook:ci","text":"hello","media":[],)"
            R"("tags":[],"scheduled_at":null,"idempotency_key":"key-1"})");
}

TEST_F(WebhookTest, SlackAndDiscordBodies) {
  use_format("slack");
  adapter_->publish(request("Ship \"it\" <now> ✓"));
  use_format("discord");
  adapter_->publish(request("line1\nline2"));
  const auto got = server_->received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, R"({"text":"Ship \"it\" <now> ✓"})");
  EXPECT_EQ(got[1].body, R"({"content":"line1\nline2"})");
  EXPECT_TRUE(got[0].accepted);
  EXPECT_TRUE(got[1].accepted);
}

TEST_F(WebhookTest, SignatureIsVerifiedByTheReceiver) {
  server_->require_signature("s3cret");
  secrets_ = {{"signing_secret", "s3cret"}};
  adapter_->publish(request());
  const auto got = server_->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].accepted) << got[0].reject_reason;
  const std::string sig = got[0].header("X-Multivio-Signature").value_or("");
  EXPECT_TRUE(sig.starts_with("t=")) << sig;
  EXPECT_NE(sig.find(",v1="), std::string::npos) << sig;
  EXPECT_TRUE(fakes::verify_signature(sig, got[0].body, "s3cret", std::chrono::system_clock::now(), 300s));
  EXPECT_FALSE(fakes::verify_signature(sig, got[0].body + " ", "s3cret", std::chrono::system_clock::now(), 300s));
  // A replay much later is refused.
  EXPECT_FALSE(fakes::verify_signature(sig, got[0].body, "s3cret", std::chrono::system_clock::now() + 10min, 300s));
}

TEST_F(WebhookTest, WrongSecretIsAnAuthError) {
  server_->require_signature("s3cret");
  secrets_ = {{"signing_secret", "other"}};
  const Error e = publish_error();
  EXPECT_EQ(e.kind(), ErrorKind::auth);
  EXPECT_EQ(e.http_status, 401);
  EXPECT_FALSE(server_->received().at(0).accepted);
}

TEST_F(WebhookTest, SignatureHeaderIsStripeStyle) {
  // printf '1700000000.{}' | openssl dgst -sha256 -hmac key
  EXPECT_EQ(webhook::signature_header("key", "{}", 1700000000),
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
  EXPECT_TRUE(fakes::verify_signature(webhook::signature_header("key", "{}", 1700000000), "{}", "key",
                                      std::chrono::system_clock::time_point{1700000000s}, 300s));
}

TEST_F(WebhookTest, RateLimitIsTransientWithRetryAfter) {
  server_->script({{429, R"({"error":"rate limited"})", {{"Retry-After", "30"}}, 0ms}});
  const Error e = publish_error();
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_EQ(e.retry_after, 30s);
  EXPECT_EQ(e.http_status, 429);
  EXPECT_TRUE(std::string(e.what()).starts_with("webhook:ci: HTTP 429")) << e.what();
}

TEST_F(WebhookTest, ServerErrorIsTransientAndBadRequestPermanent) {
  server_->script({{500, "oops", {}, 0ms}, {400, R"({"error":"bad"})", {}, 0ms}});
  EXPECT_EQ(publish_error().kind(), ErrorKind::transient);
  const Error bad = publish_error();
  EXPECT_EQ(bad.kind(), ErrorKind::permanent);
  EXPECT_EQ(bad.http_status, 400);
}

TEST_F(WebhookTest, StalledReceiverTimesOutWithUnknownOutcome) {
  config_.daemon.http_timeout = 300ms;
  server_->script({{200, "late", {}, 5s}});
  const Error e = publish_error();
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_TRUE(e.outcome_unknown);
}

TEST_F(WebhookTest, TransportErrorsNameTheAccountNotTheUrl) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  account_.options["url"] = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/api/webhooks/1/TOKEN";
  const Error e = publish_error();
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_FALSE(e.outcome_unknown);
  const std::string msg = e.what();
  EXPECT_TRUE(msg.starts_with("webhook:ci: POST: ")) << msg;
  EXPECT_EQ(msg.find("TOKEN"), std::string::npos) << msg;
}

TEST_F(WebhookTest, DiscordLengthIsCheckedInCodePoints) {
  use_format("discord");
  std::string at_limit;
  for (int i = 0; i < 2000; ++i) {
    at_limit += "\xC3\xA9";  // é: 2 bytes, 1 code point
  }
  const auto ok = adapter_->validate(at_limit, {}, &account_);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.length, 2000u);
  EXPECT_EQ(ok.limit, 2000u);

  const auto over = adapter_->validate(std::string(2150, 'x'), {}, &account_);
  EXPECT_EQ(over.problems, std::vector<std::string>{"text is 2150 characters; discord allows 2000"});
  EXPECT_EQ(adapter_->capabilities(&account_).max_length, 2000u);
  EXPECT_EQ(adapter_->validate("", {}, &account_).problems, std::vector<std::string>{"text is empty"});

  // publish refuses before any network call.
  try {
    adapter_->publish(request(std::string(2150, 'x')));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::validation);
  }
  EXPECT_EQ(server_->count(), 0u);

  use_format("slack");
  EXPECT_EQ(adapter_->validate(std::string(40'001, 'x'), {}, &account_).problems,
            std::vector<std::string>{"text is 40001 characters; slack allows 40000"});
  use_format("json");
  EXPECT_TRUE(adapter_->validate(std::string(100'000, 'x'), {}, &account_).ok());
}

TEST_F(WebhookTest, ConfigureAccountChecksUrlAndFormat) {
  auto usage_error = [&](nlohmann::json options) -> std::string {
    try {
      adapter_->configure_account(options);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage);
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(usage_error(nlohmann::json::object()), "webhook: option 'url' is required (--url https://...)");
  EXPECT_EQ(usage_error({{"url", "https://x.example/h"}, {"format", "xml"}}),
            "webhook: format 'xml' is not one of json, slack, discord");
  EXPECT_EQ(usage_error({{"url", "ftp://x.example/h"}}),
            "webhook: url 'ftp://x.example/h' must be an http:// or https:// URL with a host");
  EXPECT_NE(usage_error({{"url", "https:///nohost"}}), "no error");
  EXPECT_NE(usage_error({{"url", "file:///etc/passwd"}}), "no error");
  EXPECT_EQ(usage_error({{"url", "https://x.example/h"}, {"secret", "s"}}),
            "webhook: unknown option 'secret' (known: url, format)");

  nlohmann::json ok = {{"url", "HTTPS://hooks.example.com/x"}};
  adapter_->configure_account(ok);
  EXPECT_EQ(ok["format"], "json");
}

TEST_F(WebhookTest, PreviewRedactsTheSignature) {
  secrets_ = {{"signing_secret", "s3cret"}};
  account_.options["url"] = server_->base_url() + "/hook?token=abc";
  const Preview p = adapter_->preview(request());
  EXPECT_EQ(p.method, "POST");
  EXPECT_EQ(p.url, server_->base_url() + "/hook?token=***");
  const nlohmann::json j = p.to_json();
  const std::string sig = j["headers"]["X-Multivio-Signature"].get<std::string>();
  EXPECT_TRUE(sig.starts_with("t=")) << sig;
  EXPECT_TRUE(sig.ends_with(",v1=***")) << sig;
  EXPECT_EQ(j["headers"]["Idempotency-Key"], "key-1");
  EXPECT_EQ(j["body"]["text"], "hello");  // parsed, not a string
  EXPECT_EQ(server_->count(), 0u);
}

}  // namespace
}  // namespace multivio::platforms
