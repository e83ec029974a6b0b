// SPDX-License-Identifier: MIT
#include "common/notify/notifier.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <map>
#include <set>
#include <thread>

#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/http/smtp.hpp"
#include "common/notify/channels.hpp"
#include "common/notify/message.hpp"
#include "common/text/text.hpp"
#include "tests/fakes/mail_api_server.hpp"
#include "tests/fakes/smtp_server.hpp"
#include "tests/fakes/webhook_server.hpp"

namespace multivio::notify {
namespace {

using namespace std::chrono_literals;
using fakes::MailApiServer;
using fakes::SmtpServer;
using fakes::WebhookServer;
using nlohmann::json;
using testing::AllOf;
using testing::HasSubstr;
using testing::Not;

const model::Timestamp T0 = model::from_millis(1'780'000'000'000);  // 2026-05-28T20:26:40Z

Event failed(std::int64_t post, std::int64_t target, std::string message, model::Timestamp at = T0) {
  return Event{Event::Kind::target_failed, post, target, "x:alice", "x", std::move(message), at};
}

// Captures what spdlog writes while alive.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)), previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const {
    std::string out;
    for (const auto& line : sink_->last_formatted()) out += line;
    return out;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

// ---------------------------------------------------------------- message text

TEST(NotifyMessage, HeadlineCountsEachKind) {
  Batch batch;
  batch.events = {failed(1, 1, "a"), failed(2, 2, "b"), failed(3, 3, "c"),
                  Event{Event::Kind::account_needs_relink, 0, 0, "linkedin:me", "linkedin", "token refresh failed", T0},
                  Event{Event::Kind::target_unknown, 4, 4, "x:alice", "x", "timeout after sending", T0}};
  EXPECT_EQ(headline(batch), "3 targets failed, 1 target ended unknown, 1 account needs re-linking");
  batch.events = {Event{Event::Kind::overdue, 5, 6, "x:alice", "x", "due 2h ago", T0}};
  EXPECT_EQ(headline(batch), "1 target is overdue");
}

TEST(NotifyMessage, EventLines) {
  EXPECT_EQ(event_line(failed(12, 34, "HTTP 500: upstream")),
            "- failed: post 12, target 34 on x:alice: HTTP 500: upstream (2026-05-28T20:26:40Z)");
  EXPECT_EQ(event_line(Event{Event::Kind::account_needs_relink, 0, 0, "linkedin:me", "linkedin", "refresh token "
                                                                                                 "revoked", T0}),
            "- re-link needed: account linkedin:me: refresh token revoked (2026-05-28T20:26:40Z)");
  // Multi-line and over-long messages become one bounded line.
  const std::string line = event_line(failed(1, 2, "first\r\nsecond\t" + std::string(500, 'x')));
  EXPECT_THAT(line, HasSubstr("first second x"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_LT(line.size(), 300u);
  EXPECT_THAT(line, HasSubstr("..."));
}

TEST(NotifyMessage, RenderCapsAtFiftyLines) {
  Batch batch;
  for (int i = 1; i <= 60; ++i) batch.events.push_back(failed(i, i, "boom"));
  const std::string text = render_text(batch);
  EXPECT_THAT(text, testing::StartsWith("60 targets failed:\n- failed: post 1,"));
  EXPECT_THAT(text, HasSubstr("post 50,"));
  EXPECT_THAT(text, Not(HasSubstr("post 51,")));
  EXPECT_THAT(text, testing::EndsWith("\n... and 10 more"));
  batch.dropped = 7;
  EXPECT_THAT(render_text(batch), HasSubstr("7 older events were dropped"));
}

TEST(NotifyMessage, WebhookFormats) {
  Batch batch;
  batch.events = {failed(1, 2, "<!channel> & friends"), failed(3, 4, "second")};
  const json j = json::parse(webhook_body("json", batch));
  EXPECT_EQ(j["summary"], "2 targets failed");
  ASSERT_EQ(j["events"].size(), 2u);
  EXPECT_EQ(j["events"][0]["kind"], "target_failed");
  EXPECT_EQ(j["events"][0]["post_id"], 1);
  EXPECT_EQ(j["events"][0]["target_id"], 2);
  EXPECT_EQ(j["events"][0]["account"], "x:alice");
  EXPECT_EQ(j["events"][0]["at"], "2026-05-28T20:26:40Z");
  EXPECT_EQ(j["dropped"], 0);

  const json slack = json::parse(webhook_body("slack", batch));
  EXPECT_EQ(slack.size(), 1u);
  EXPECT_THAT(slack["text"].get<std::string>(), HasSubstr("&lt;!channel&gt; &amp; friends"));

  const json discord = json::parse(webhook_body("discord", batch));
  EXPECT_THAT(discord["content"].get<std::string>(), HasSubstr("2 targets failed:\n- failed: post 1"));
  EXPECT_EQ(discord["allowed_mentions"]["parse"], json::array());
}

TEST(NotifyMessage, DiscordContentStaysUnder2000Characters) {
  Batch batch;
  for (int i = 1; i <= 50; ++i) batch.events.push_back(failed(i, i, std::string(190, 'e') + "\xc3\xa9"));
  const std::string content = json::parse(webhook_body("discord", batch))["content"];
  EXPECT_LE(text::code_points(content), 2000u);
  EXPECT_TRUE(text::valid_utf8(content));
  EXPECT_THAT(content, AllOf(HasSubstr("\n... and "), testing::EndsWith(" more")));
}

TEST(NotifyMessage, MimeMessage) {
  const std::string mime = compose_mime("Multivio <alerts@example.com>", {"ops@example.com", "b@example.com"},
                                        "[multivio] Fehler \xc3\xbc\r\nBcc: evil@example.com", "line 1\nline 2\n",
                                        T0);
  EXPECT_THAT(mime, HasSubstr("Date: Thu, 28 May 2026 20:26:40 +0000\r\n"));
  EXPECT_THAT(mime, HasSubstr("From: Multivio <alerts@example.com>\r\n"));
  EXPECT_THAT(mime, HasSubstr("To: ops@example.com, b@example.com\r\n"));
  EXPECT_THAT(mime, HasSubstr("Subject: =?UTF-8?B?"));
  EXPECT_THAT(mime, Not(HasSubstr("\r\nBcc:")));  // no header injection
  EXPECT_THAT(mime, HasSubstr("@example.com>\r\n"));  // Message-ID in the sender's domain
  EXPECT_THAT(mime, HasSubstr("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n"));
  EXPECT_THAT(mime, testing::EndsWith("\r\n\r\nline 1\r\nline 2\r\n"));
}

// ---------------------------------------------------------------- batching (webhook)

class NotifierWebhookTest : public testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<WebhookServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    http_ = http::make_client();
    cfg_.timeout = 5s;
    cfg_.webhook_url = server_->base_url() + "/hooks/T000/B000/SECRETTOKEN42";
  }

  std::unique_ptr<Notifier> make() {
    return std::make_unique<Notifier>(cfg_, *http_, [](const std::string&) { return std::string(); });
  }

  json body(std::size_t i) const { return json::parse(server_->received().at(i).body); }

  std::unique_ptr<WebhookServer> server_;
  std::unique_ptr<http::Client> http_;
  config::NotifyConfig cfg_;
};

TEST_F(NotifierWebhookTest, EventsWithinTheWindowGoOutAsOnePost) {
  auto n = make();
  ASSERT_TRUE(n->enabled());
  n->add(failed(1, 11, "HTTP 500"));
  n->add(failed(2, 22, "HTTP 502", T0 + 5s));
  n->add(failed(3, 33, "timeout", T0 + 10s));
  EXPECT_EQ(n->pending(), 3u);
  EXPECT_EQ(n->next_flush(), T0 + 30s);

  EXPECT_EQ(n->flush(T0 + 10s), 0u);  // the window is still open
  EXPECT_EQ(n->flush(T0 + 29s), 0u);
  EXPECT_EQ(server_->count(), 0u);

  EXPECT_EQ(n->flush(T0 + 30s), 3u);
  ASSERT_EQ(server_->count(), 1u);
  const json j = body(0);
  EXPECT_EQ(j["summary"], "3 targets failed");
  ASSERT_EQ(j["events"].size(), 3u);
  EXPECT_EQ(j["events"][2]["message"], "timeout");
  const std::string text = j["text"];
  EXPECT_THAT(text,
              AllOf(HasSubstr("post 1, target 11"), HasSubstr("post 2, target 22"), HasSubstr("post 3, target 33")));
  EXPECT_EQ(server_->received()[0].path, "/hooks/T000/B000/SECRETTOKEN42");
  EXPECT_EQ(n->pending(), 0u);
  EXPECT_EQ(n->next_flush(), model::Timestamp::max());
  EXPECT_EQ(n->flush(T0 + 120s), 0u);
  EXPECT_EQ(server_->count(), 1u);
}

TEST_F(NotifierWebhookTest, AnEventAfterTheWindowStartsTheNextBatch) {
  auto n = make();
  n->add(failed(1, 1, "a"));
  EXPECT_EQ(n->flush(T0 + 30s), 1u);
  n->add(failed(2, 2, "b", T0 + 40s));
  n->add(failed(3, 3, "c", T0 + 45s));
  EXPECT_EQ(n->next_flush(), T0 + 70s);
  EXPECT_EQ(n->flush(T0 + 60s), 0u);
  EXPECT_EQ(n->flush(T0 + 70s), 2u);
  ASSERT_EQ(server_->count(), 2u);
  EXPECT_EQ(body(1)["events"].size(), 2u);
}

TEST_F(NotifierWebhookTest, ForceSendsBeforeTheWindowEnds) {
  auto n = make();
  n->add(failed(1, 1, "a"));
  EXPECT_EQ(n->flush(T0 + 1s), 0u);
  EXPECT_EQ(n->flush(T0 + 1s, true), 1u);
  EXPECT_EQ(server_->count(), 1u);
  EXPECT_EQ(n->flush(T0 + 2s, true), 0u);  // nothing left
  EXPECT_EQ(server_->count(), 1u);
}

TEST_F(NotifierWebhookTest, ZeroWindowSendsAtTheNextFlush) {
  cfg_.batch_window = 0s;
  auto n = make();
  n->add(failed(1, 1, "a"));
  EXPECT_EQ(n->next_flush(), T0);
  EXPECT_EQ(n->flush(T0), 1u);
}

TEST_F(NotifierWebhookTest, SlackAndDiscordFormats) {
  cfg_.webhook_format = "slack";
  auto slack = make();
  slack->add(failed(1, 2, "boom"));
  EXPECT_EQ(slack->flush(T0, true), 1u);
  cfg_.webhook_format = "discord";
  auto discord = make();
  discord->add(failed(3, 4, "bang"));
  EXPECT_EQ(discord->flush(T0, true), 1u);

  ASSERT_EQ(server_->count(), 2u);
  for (const auto& r : server_->received()) {
    EXPECT_TRUE(r.accepted) << r.reject_reason;
    EXPECT_EQ(r.header("Content-Type"), "application/json");
  }
  const json s = body(0);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_THAT(s["text"].get<std::string>(), HasSubstr("1 target failed:\n- failed: post 1, target 2 on x:alice: boom"));
  const json d = body(1);
  EXPECT_THAT(d["content"].get<std::string>(), HasSubstr("- failed: post 3, target 4 on x:alice: bang"));
}

TEST_F(NotifierWebhookTest, AFailingChannelKeepsItsEventsAndBacksOff) {
  LogCapture logs;
  server_->set_default({500, R"({"error":"down"})", {}, {}});
  auto n = make();
  n->add(failed(1, 1, "a"));
  n->add(failed(2, 2, "b"));
  n->add(failed(3, 3, "c"));
  EXPECT_NO_THROW(EXPECT_EQ(n->flush(T0 + 30s), 0u));
  EXPECT_EQ(n->pending(), 3u);
  auto status = n->status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].name, "webhook (json)");
  EXPECT_EQ(status[0].failures, 1);
  EXPECT_THAT(status[0].last_error, HasSubstr("HTTP 500"));
  EXPECT_EQ(n->next_flush(), T0 + 60s);  // one window later

  EXPECT_EQ(n->flush(T0 + 60s), 0u);
  EXPECT_EQ(n->next_flush(), T0 + 120s);  // doubled
  EXPECT_EQ(n->flush(T0 + 90s), 0u);       // not before the retry time
  EXPECT_EQ(server_->count(), 2u);

  n->add(failed(4, 4, "d", T0 + 100s));
  server_->set_default({200, "ok", {}, {}});
  EXPECT_EQ(n->flush(T0 + 120s), 4u);
  EXPECT_EQ(n->pending(), 0u);
  EXPECT_EQ(body(2)["events"].size(), 4u);
  EXPECT_EQ(n->status()[0].failures, 0);
  EXPECT_EQ(n->status()[0].delivered, 4u);
  EXPECT_THAT(logs.text(), HasSubstr("keeping 3 events"));
}

TEST_F(NotifierWebhookTest, TheQueueIsBounded) {
  server_->set_default({503, "busy", {}, {}});
  auto n = make();
  for (std::size_t i = 0; i < Notifier::kMaxPending + 5; ++i) n->add(failed(static_cast<std::int64_t>(i + 1), 1, "x"));
  EXPECT_EQ(n->flush(T0, true), 0u);
  EXPECT_EQ(n->pending(), Notifier::kMaxPending);
  EXPECT_EQ(n->status()[0].dropped, 5u);
  server_->set_default({200, "ok", {}, {}});
  EXPECT_EQ(n->flush(T0, true), Notifier::kMaxPending);
  const json j = body(1);
  EXPECT_EQ(j["dropped"], 5);
  EXPECT_EQ(j["events"][0]["post_id"], 6);  // the oldest went first
  EXPECT_THAT(j["text"].get<std::string>(), HasSubstr("5 older events were dropped"));
  EXPECT_EQ(n->status()[0].dropped, 0u);
}

TEST_F(NotifierWebhookTest, ConnectionFailureDoesNotThrow) {
  server_->stop();
  auto n = make();
  n->add(failed(1, 1, "a"));
  EXPECT_EQ(n->flush(T0, true), 0u);
  EXPECT_EQ(n->pending(), 1u);
  EXPECT_FALSE(n->status()[0].last_error.empty());
}

TEST_F(NotifierWebhookTest, TheWebhookTokenIsNeverInErrorsOrLogs) {
  LogCapture logs;
  server_->set_default({401, "bad token SECRETTOKEN42", {}, {}});
  auto n = make();
  n->add(failed(1, 1, "a"));
  EXPECT_EQ(n->flush(T0, true), 0u);
  const std::string error = n->status()[0].last_error;
  EXPECT_THAT(error, AllOf(HasSubstr("webhook (json)"), HasSubstr("HTTP 401"), HasSubstr("/***"),
                           Not(HasSubstr("SECRETTOKEN42")), Not(HasSubstr("B000"))));
  EXPECT_THAT(logs.text(), AllOf(HasSubstr("HTTP 401"), Not(HasSubstr("SECRETTOKEN42"))));

  // Transport errors name the URL too.
  server_->stop();
  EXPECT_EQ(n->flush(T0 + 1h, true), 0u);
  EXPECT_THAT(n->status()[0].last_error, Not(HasSubstr("SECRETTOKEN42")));
  EXPECT_THAT(logs.text(), Not(HasSubstr("SECRETTOKEN42")));
}

TEST_F(NotifierWebhookTest, ConcurrentAddsAreDeliveredExactlyOnce) {
  auto n = make();
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&n, w] {
      for (int i = 0; i < 200; ++i) n->add(failed(w * 1000 + i + 1, 1, "x"));
    });
  }
  std::size_t sent = 0;
  for (int i = 0; i < 20; ++i) sent += n->flush(T0, true);
  for (auto& t : writers) t.join();
  sent += n->flush(T0, true);
  EXPECT_EQ(sent, 800u);
  std::set<std::int64_t> posts;
  std::size_t total = 0;
  for (const auto& r : server_->received()) {
    const json j = json::parse(r.body);
    for (const auto& e : j["events"]) {
      posts.insert(e["post_id"].get<std::int64_t>());
      ++total;
    }
  }
  EXPECT_EQ(total, 800u);
  EXPECT_EQ(posts.size(), 800u);
}

TEST(Notifier, NoChannelsMeansDisabled) {
  auto http = http::make_client();
  Notifier n(config::NotifyConfig{}, *http, [](const std::string&) { return std::string(); });
  EXPECT_FALSE(n.enabled());
  n.add(failed(1, 1, "a"));
  EXPECT_EQ(n.pending(), 0u);
  EXPECT_EQ(n.flush(T0, true), 0u);
  EXPECT_EQ(n.next_flush(), model::Timestamp::max());
}

TEST(Notifier, IncompleteEmailConfigIsAUsageError) {
  auto http = http::make_client();
  config::NotifyConfig cfg;
  cfg.email.to = {"ops@example.com"};
  cfg.email.from = "alerts@example.com";
  try {
    Notifier n(cfg, *http, [](const std::string&) { return std::string(); });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_THAT(e.what(), HasSubstr("smtp_url"));
  }
}

// A channel that throws something that is not an Error.
class Exploding final : public Channel {
 public:
  const std::string& name() const override { return name_; }
  void send(const Batch&) override { throw 42; }

 private:
  std::string name_ = "exploding";
};

TEST(Notifier, FlushNeverThrows) {
  std::vector<std::unique_ptr<Channel>> channels;
  channels.push_back(std::make_unique<Exploding>());
  Notifier n(config::NotifyConfig{}, std::move(channels));
  n.add(failed(1, 1, "a"));
  EXPECT_NO_THROW(EXPECT_EQ(n.flush(T0, true), 0u));
  EXPECT_EQ(n.pending(), 1u);
}

// ---------------------------------------------------------------- email over HTTP APIs

class NotifierMailApiTest : public testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<MailApiServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    http_ = http::make_client();
    cfg_.timeout = 5s;
    cfg_.email.from = "Multivio <alerts@example.com>";
    cfg_.email.to = {"ops@example.com", "Dev Team <dev@example.com>"};
    cfg_.email.api_base = server_->base_url() + "/";
    env_["RESEND_API_KEY"] = MailApiServer::kResendKey;
    env_["SENDGRID_API_KEY"] = MailApiServer::kSendgridKey;
    env_["MG_KEY"] = MailApiServer::kMailgunKey;
  }

  std::unique_ptr<Notifier> make(const std::string& provider) {
    cfg_.email.provider = provider;
    return std::make_unique<Notifier>(cfg_, *http_, [env = env_](const std::string& name) {
      const auto it = env.find(name);
      return it == env.end() ? std::string() : it->second;
    });
  }

  // Sends two failures; returns what flush() returned.
  std::size_t send_two(Notifier& n) {
    n.add(failed(1, 11, "HTTP 500"));
    n.add(Event{Event::Kind::account_needs_relink, 0, 0, "linkedin:me", "linkedin", "refresh token revoked", T0});
    return n.flush(T0 + 30s);
  }

  std::unique_ptr<MailApiServer> server_;
  std::unique_ptr<http::Client> http_;
  config::NotifyConfig cfg_;
  std::map<std::string, std::string> env_;
};

TEST_F(NotifierMailApiTest, Resend) {
  auto n = make("resend");
  EXPECT_EQ(send_two(*n), 2u);
  ASSERT_EQ(server_->mails().size(), 1u) << server_->received().at(0).body;
  const auto mail = server_->mails()[0];
  EXPECT_EQ(mail.provider, "resend");
  EXPECT_EQ(mail.from, "Multivio <alerts@example.com>");
  EXPECT_EQ(mail.to, (std::vector<std::string>{"ops@example.com", "Dev Team <dev@example.com>"}));
  EXPECT_EQ(mail.subject, "[multivio] 1 target failed, 1 account needs re-linking");
  EXPECT_THAT(mail.text, AllOf(HasSubstr("- failed: post 1, target 11 on x:alice: HTTP 500"),
                               HasSubstr("- re-link needed: account linkedin:me: refresh token revoked")));
  const auto req = server_->received()[0];
  EXPECT_EQ(req.status, 200);
  EXPECT_EQ(req.header("Authorization"), std::string("Bearer ") + MailApiServer::kResendKey);
  EXPECT_EQ(req.header("Content-Type"), "application/json");
}

TEST_F(NotifierMailApiTest, SendGrid) {
  cfg_.email.subject_prefix = "";
  auto n = make("sendgrid");
  EXPECT_EQ(send_two(*n), 2u);
  ASSERT_EQ(server_->mails().size(), 1u) << server_->received().at(0).body;
  const auto mail = server_->mails()[0];
  EXPECT_EQ(mail.from, "alerts@example.com");
  EXPECT_EQ(mail.to, (std::vector<std::string>{"ops@example.com", "dev@example.com"}));
  EXPECT_EQ(mail.subject, "1 target failed, 1 account needs re-linking");
  EXPECT_THAT(mail.text, HasSubstr("post 1, target 11"));
  const auto req = server_->received()[0];
  EXPECT_EQ(req.status, 202);
  EXPECT_EQ(req.path, "/v3/mail/send");
  const json body = json::parse(req.body);
  EXPECT_EQ(body["from"]["name"], "Multivio");
  EXPECT_EQ(body["personalizations"][0]["to"][1]["name"], "Dev Team");
  EXPECT_EQ(body["content"][0]["type"], "text/plain");
}

TEST_F(NotifierMailApiTest, Mailgun) {
  cfg_.email.domain = MailApiServer::kMailgunDomain;
  cfg_.email.api_key_env = "MG_KEY";
  auto n = make("mailgun");
  EXPECT_EQ(send_two(*n), 2u);
  ASSERT_EQ(server_->mails().size(), 1u) << server_->received().at(0).body;
  const auto mail = server_->mails()[0];
  EXPECT_EQ(mail.from, "Multivio <alerts@example.com>");
  EXPECT_EQ(mail.to, (std::vector<std::string>{"ops@example.com", "Dev Team <dev@example.com>"}));
  EXPECT_EQ(mail.subject, "[multivio] 1 target failed, 1 account needs re-linking");
  EXPECT_THAT(mail.text, HasSubstr("refresh token revoked"));
  const auto req = server_->received()[0];
  EXPECT_EQ(req.status, 200);
  EXPECT_EQ(req.path, std::string("/v3/") + MailApiServer::kMailgunDomain + "/messages");
  EXPECT_EQ(req.header("Authorization"),
            "Basic " + crypto::base64_encode(std::string("api:") + MailApiServer::kMailgunKey));
}

TEST_F(NotifierMailApiTest, WrongKeysAreAuthFailuresWithoutTheKey) {
  LogCapture logs;
  env_["RESEND_API_KEY"] = "re_live_wrong_0123456789";
  env_["SENDGRID_API_KEY"] = "SG.wrong.0123456789";
  env_["MG_KEY"] = "key-wrong-0123456789";
  cfg_.email.domain = MailApiServer::kMailgunDomain;
  cfg_.email.api_key_env = "";
  auto resend = make("resend");
  cfg_.email.api_key_env = "";
  auto sendgrid = make("sendgrid");
  cfg_.email.api_key_env = "MG_KEY";
  auto mailgun = make("mailgun");
  for (Notifier* n : {resend.get(), sendgrid.get(), mailgun.get()}) {
    EXPECT_EQ(send_two(*n), 0u);
    EXPECT_EQ(n->pending(), 2u);
  }
  EXPECT_THAT(resend->status()[0].last_error, AllOf(HasSubstr("email (resend)"), HasSubstr("HTTP 403")));
  EXPECT_THAT(sendgrid->status()[0].last_error, AllOf(HasSubstr("email (sendgrid)"), HasSubstr("HTTP 401")));
  EXPECT_THAT(mailgun->status()[0].last_error, AllOf(HasSubstr("email (mailgun)"), HasSubstr("HTTP 401")));
  EXPECT_TRUE(server_->mails().empty());
  const std::string all = resend->status()[0].last_error + sendgrid->status()[0].last_error +
                          mailgun->status()[0].last_error + logs.text();
  for (const char* secret : {"0123456789", "wrong"}) EXPECT_THAT(all, Not(HasSubstr(secret)));
}

TEST_F(NotifierMailApiTest, AMissingKeyNamesTheVariable) {
  env_.erase("RESEND_API_KEY");
  auto n = make("resend");
  EXPECT_EQ(send_two(*n), 0u);
  EXPECT_THAT(n->status()[0].last_error,
              AllOf(HasSubstr("email (resend)"), HasSubstr("RESEND_API_KEY"), HasSubstr("not set")));
  EXPECT_EQ(server_->count(), 0u);
}

TEST_F(NotifierMailApiTest, AKeyEchoedByTheServerIsHidden) {
  // A misbehaving proxy that repeats the Authorization header in its error.
  WebhookServer echo;
  echo.set_default({502, std::string("upstream rejected Bearer ") + MailApiServer::kResendKey, {}, {}});
  cfg_.email.api_base = echo.base_url();
  auto n = make("resend");
  EXPECT_EQ(send_two(*n), 0u);
  const std::string error = n->status()[0].last_error;
  EXPECT_THAT(error, AllOf(HasSubstr("HTTP 502"), HasSubstr("Bearer ***"), Not(HasSubstr(MailApiServer::kResendKey))));
}

TEST_F(NotifierMailApiTest, A500KeepsTheMailForTheNextFlush) {
  server_->fail_next(500, R"({"message":"internal"})");
  auto n = make("resend");
  EXPECT_EQ(send_two(*n), 0u);
  EXPECT_TRUE(server_->mails().empty());
  EXPECT_EQ(n->flush(n->next_flush()), 2u);
  ASSERT_EQ(server_->mails().size(), 1u);
  EXPECT_THAT(server_->mails()[0].text, HasSubstr("post 1, target 11"));
}

// The fake refuses what the real APIs refuse.
TEST_F(NotifierMailApiTest, FakeChecksRequiredFields) {
  const auto post = [&](const std::string& path, const std::string& auth, const std::string& type,
                        const std::string& body) {
    http::Request r;
    r.method = "POST";
    r.url = server_->base_url() + path;
    r.headers = {{"Authorization", auth}, {"Content-Type", type}};
    r.body = body;
    return http_->send(r);
  };
  const std::string resend = std::string("Bearer ") + MailApiServer::kResendKey;
  EXPECT_EQ(post("/emails", "", "application/json", "{}").status, 401);
  EXPECT_EQ(post("/emails", resend, "application/json", R"({"from":"a@b.c","to":["d@e.f"]})").status, 422);
  EXPECT_EQ(
      post("/emails", resend, "application/json", R"({"from":"nope","to":"d@e.f","subject":"s","text":"t"})").status,
      422);
  EXPECT_EQ(post("/emails", resend, "application/json", R"({"from":"a@b.c","to":"d@e.f","subject":"s"})").status,
            422);
  EXPECT_EQ(post("/emails", resend, "application/json", "not json").status, 400);
  EXPECT_EQ(post("/emails", resend, "application/json", R"({"from":"a@b.c","to":"d@e.f","subject":"s","text":"t"})")
                .status,
            200);

  const std::string sendgrid = std::string("Bearer ") + MailApiServer::kSendgridKey;
  const auto missing_from = post("/v3/mail/send", sendgrid, "application/json",
                                 R"({"personalizations":[{"to":[{"email":"d@e.f"}]}],"subject":"s",)"
                                 R"("content":[{"type":"text/plain","value":"t"}]})");
  EXPECT_EQ(missing_from.status, 400);
  EXPECT_EQ(json::parse(missing_from.body)["errors"][0]["field"], "from.email");

  const std::string mailgun = "Basic " + crypto::base64_encode(std::string("api:") + MailApiServer::kMailgunKey);
  const std::string path = std::string("/v3/") + MailApiServer::kMailgunDomain + "/messages";
  const auto no_from = post(path, mailgun, "application/x-www-form-urlencoded", "to=d%40e.f&subject=s&text=t");
  EXPECT_EQ(no_from.status, 400);
  EXPECT_EQ(json::parse(no_from.body)["message"], "from parameter is missing");
  EXPECT_EQ(post("/v3/other.example/messages", mailgun, "application/x-www-form-urlencoded", "").status, 404);
  EXPECT_EQ(post(path, "Basic eDp5", "application/x-www-form-urlencoded", "").status, 401);
}

// ---------------------------------------------------------------- email over SMTP

class NotifierSmtpTest : public testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<SmtpServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    http_ = http::make_client();
    cfg_.timeout = 5s;
    cfg_.email.provider = "smtp";
    cfg_.email.smtp_url = server_->url();
    cfg_.email.starttls = false;
    cfg_.email.from = "Multivio <alerts@example.com>";
    cfg_.email.to = {"ops@example.com", "dev@example.com"};
  }

  std::unique_ptr<Notifier> make() {
    return std::make_unique<Notifier>(cfg_, *http_, [env = env_](const std::string& name) {
      const auto it = env.find(name);
      return it == env.end() ? std::string() : it->second;
    });
  }

  std::unique_ptr<SmtpServer> server_;
  std::unique_ptr<http::Client> http_;
  config::NotifyConfig cfg_;
  std::map<std::string, std::string> env_;
};

TEST_F(NotifierSmtpTest, SendsOneMailPerBatch) {
  auto n = make();
  n->add(failed(1, 11, "HTTP 500"));
  n->add(failed(2, 22, "HTTP 503", T0 + 1s));
  n->add(Event{Event::Kind::overdue, 3, 33, "mastodon:me", "mastodon", "was due 3h ago", T0 + 2s});
  EXPECT_EQ(n->flush(T0 + 30s), 3u) << n->status()[0].last_error;
  ASSERT_EQ(server_->count(), 1u);
  const auto m = server_->messages()[0];
  EXPECT_EQ(m.from, "alerts@example.com");
  EXPECT_EQ(m.rcpts, (std::vector<std::string>{"ops@example.com", "dev@example.com"}));
  EXPECT_EQ(m.header("Subject"), "[multivio] 2 targets failed, 1 target is overdue");
  EXPECT_EQ(m.header("From"), "Multivio <alerts@example.com>");
  EXPECT_EQ(m.header("To"), "ops@example.com, dev@example.com");
  EXPECT_EQ(m.header("Auto-Submitted"), "auto-generated");
  EXPECT_THAT(m.body(), AllOf(HasSubstr("- failed: post 1, target 11 on x:alice: HTTP 500"),
                              HasSubstr("- overdue: post 3, target 33 on mastodon:me: was due 3h ago")));
  EXPECT_EQ(m.auth_user, "");
}

TEST_F(NotifierSmtpTest, AuthPlainAndLogin) {
  cfg_.email.username_env = "SMTP_USER";
  cfg_.email.password_env = "SMTP_PASS";
  env_ = {{"SMTP_USER", "alerts"}, {"SMTP_PASS", "s3cret-pa55"}};
  server_->require_auth("alerts", "s3cret-pa55", {"PLAIN"});
  auto n = make();
  n->add(failed(1, 1, "a"));
  EXPECT_EQ(n->flush(T0, true), 1u) << n->status()[0].last_error;
  ASSERT_EQ(server_->count(), 1u);
  EXPECT_EQ(server_->messages()[0].auth_user, "alerts");
  const auto transcript = server_->transcript();
  EXPECT_NE(std::find(transcript.begin(), transcript.end(), "AUTH PLAIN ***"), transcript.end());

  SmtpServer login_only;
  login_only.require_auth("alerts", "s3cret-pa55", {"LOGIN"});
  cfg_.email.smtp_url = login_only.url();
  auto n2 = make();
  n2->add(failed(2, 2, "b"));
  EXPECT_EQ(n2->flush(T0, true), 1u) << n2->status()[0].last_error;
  ASSERT_EQ(login_only.count(), 1u);
  EXPECT_EQ(login_only.messages()[0].auth_user, "alerts");
}

TEST_F(NotifierSmtpTest, AWrongPasswordIsAnAuthErrorWithoutThePassword) {
  LogCapture logs;
  cfg_.email.username_env = "SMTP_USER";
  cfg_.email.password_env = "SMTP_PASS";
  env_ = {{"SMTP_USER", "alerts"}, {"SMTP_PASS", "wrong-pa55word"}};
  server_->require_auth("alerts", "s3cret-pa55");
  auto n = make();
  n->add(failed(1, 1, "a"));
  EXPECT_EQ(n->flush(T0, true), 0u);
  EXPECT_EQ(server_->count(), 0u);
  EXPECT_EQ(n->pending(), 1u);
  const std::string error = n->status()[0].last_error;
  EXPECT_THAT(error, AllOf(HasSubstr("email (smtp)"), HasSubstr("535"), Not(HasSubstr("pa55"))));
  EXPECT_THAT(logs.text(), Not(HasSubstr("pa55")));

  try {
    http::SmtpRequest r;
    r.url = server_->url();
    r.starttls = false;
    r.from = "a@example.com";
    r.recipients = {"b@example.com"};
    r.message = "Subject: x\r\n\r\nhi\r\n";
    r.username = "alerts";
    r.password = "wrong-pa55word";
    http::send_mail(r);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
  }
}

TEST_F(NotifierSmtpTest, StarttlsIsRequiredByDefault) {
  cfg_.email.starttls = true;
  auto n = make();
  n->add(failed(1, 1, "a"));
  EXPECT_EQ(n->flush(T0, true), 0u);
  EXPECT_THAT(n->status()[0].last_error, HasSubstr("STARTTLS"));
  EXPECT_EQ(server_->count(), 0u);
}

TEST_F(NotifierSmtpTest, RejectedRecipientAndTemporaryFailureKeepTheEvents) {
  server_->reject_recipient("dev@example.com");
  auto n = make();
  n->add(failed(1, 1, "a"));
  EXPECT_EQ(n->flush(T0, true), 0u);
  EXPECT_THAT(n->status()[0].last_error, HasSubstr("550"));

  cfg_.email.to = {"ops@example.com"};
  auto n2 = make();
  server_->fail_data(451);
  n2->add(failed(2, 2, "b"));
  EXPECT_EQ(n2->flush(T0, true), 0u);
  EXPECT_THAT(n2->status()[0].last_error, HasSubstr("451"));
  EXPECT_EQ(n2->flush(T0 + 1min, true), 1u);
  EXPECT_EQ(server_->count(), 1u);
}

TEST_F(NotifierSmtpTest, SendMailDotStuffsAndTimesOut) {
  http::SmtpRequest r;
  r.url = server_->url();
  r.starttls = false;
  r.from = "Ops <a@example.com>";
  r.recipients = {"b@example.com"};
  r.message = "Subject: dots\r\n\r\n.starts with a dot\r\n.\r\n..two\r\nend\r\n";
  http::send_mail(r);
  ASSERT_EQ(server_->count(), 1u);
  EXPECT_EQ(server_->messages()[0].data, r.message);
  EXPECT_EQ(server_->messages()[0].from, "a@example.com");

  // A server that accepts the connection but never greets: the timeout ends it.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  r.url = "smtp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  r.total_timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  try {
    http::send_mail(r);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ::close(fd);
}

// A raw client for the fake's protocol checks.
class RawSmtp {
 public:
  explicit RawSmtp(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (connected_) read_reply();  // greeting
  }
  ~RawSmtp() { ::close(fd_); }
  bool connected() const { return connected_; }

  // Sends one line; returns the reply's last line.
  std::string command(const std::string& line) {
    const std::string out = line + "\r\n";
    if (::send(fd_, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) return "";
    return read_reply();
  }

 private:
  std::string read_reply() {
    while (true) {
      const auto nl = buffer_.find("\r\n");
      if (nl != std::string::npos) {
        const std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 2);
        if (line.size() >= 4 && line[3] == '-') continue;  // multi-line reply
        return line;
      }
      char chunk[1024];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return "";
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  int fd_;
  bool connected_ = false;
  std::string buffer_;
};

TEST_F(NotifierSmtpTest, FakeRejectsBadSequences) {
  RawSmtp c(server_->port());
  ASSERT_TRUE(c.connected());
  EXPECT_THAT(c.command("MAIL FROM:<a@example.com>"), testing::StartsWith("503 "));
  EXPECT_THAT(c.command("EHLO test"), testing::StartsWith("250 "));
  EXPECT_THAT(c.command("RCPT TO:<b@example.com>"), testing::StartsWith("503 "));
  EXPECT_THAT(c.command("DATA"), testing::StartsWith("503 "));
  EXPECT_THAT(c.command("MAIL FROM:a@example.com"), testing::StartsWith("501 "));
  EXPECT_THAT(c.command("MAIL FROM:<a@example.com>"), testing::StartsWith("250 "));
  EXPECT_THAT(c.command("MAIL FROM:<a@example.com>"), testing::StartsWith("503 "));
  EXPECT_THAT(c.command("DATA"), testing::StartsWith("503 "));  // no recipient yet
  EXPECT_THAT(c.command("RCPT TO:<b@example.com>"), testing::StartsWith("250 "));
  EXPECT_THAT(c.command("DATA"), testing::StartsWith("354 "));
  EXPECT_THAT(c.command("..dot\r\n."), testing::StartsWith("250 "));
  EXPECT_THAT(c.command("BOGUS"), testing::StartsWith("500 "));
  EXPECT_THAT(c.command("QUIT"), testing::StartsWith("221 "));
  ASSERT_EQ(server_->count(), 1u);
  EXPECT_EQ(server_->messages()[0].data, ".dot\r\n");

  server_->require_auth("u", "p");
  RawSmtp d(server_->port());
  EXPECT_THAT(d.command("EHLO test"), testing::StartsWith("250 "));
  EXPECT_THAT(d.command("MAIL FROM:<a@example.com>"), testing::StartsWith("530 "));
  EXPECT_THAT(d.command("AUTH PLAIN " + crypto::base64_encode(std::string("\0u\0x", 4))), testing::StartsWith("535 "));
  EXPECT_THAT(d.command("AUTH PLAIN " + crypto::base64_encode(std::string("\0u\0p", 4))), testing::StartsWith("235 "));
  EXPECT_THAT(d.command("MAIL FROM:<a@example.com>"), testing::StartsWith("250 "));
}

}  // namespace
}  // namespace multivio::notify
