// SPDX-License-Identifier: MIT
#include "common/ai/client.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/http/client.hpp"
#include "tests/fakes/openai_server.hpp"

namespace multivio::ai {
namespace {

using namespace std::chrono_literals;
using fakes::OpenAiServer;
using Reply = OpenAiServer::Reply;
using testing::HasSubstr;
using testing::StartsWith;

const std::string k_emoji = "\xF0\x9F\x9A\x80";  // U+1F680 ROCKET, four bytes

// True when s is well-formed UTF-8 (no sequence cut at either end).
bool whole_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
        return false;
      }
    }
    i += len;
  }
  return true;
}

class AiClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<OpenAiServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    http_ = http::make_client();
  }

  ChatOptions options() {
    ChatOptions o;
    o.base_url = server_->base_url();
    o.model = server_->model();
    o.api_key = server_->api_key();
    o.timeout = 5s;
    o.retry_base = 10ms;
    o.retry_max = 2s;
    o.sleep = [this](std::chrono::milliseconds d) { sleeps_.push_back(d); };  // never really waits
    return o;
  }

  ChatClient client(ChatOptions o) { return ChatClient(*http_, std::move(o)); }
  ChatClient client() { return client(options()); }

  static std::vector<Message> prompt() {
    return {{"system", "You write short social media posts."}, {"user", "Announce version 1.0."}};
  }

  // Streams and collects the deltas.
  ChatResult stream(ChatClient c) {
    return c.complete(prompt(), [this](std::string_view d) { deltas_.emplace_back(d); });
  }

  std::string joined() const {
    std::string out;
    for (const auto& d : deltas_) {
      out += d;
    }
    return out;
  }

  // The error complete() throws; fails the test when there is none.
  template <typename Fn>
  Error error_of(Fn&& fn) {
    try {
      fn();
    } catch (const IncompleteStream& e) {
      ADD_FAILURE() << "unexpected IncompleteStream: " << e.what();
      return e;
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "no error";
    return Error(ErrorKind::permanent, "none");
  }

  template <typename Fn>
  IncompleteStream incomplete_of(Fn&& fn) {
    try {
      fn();
    } catch (const IncompleteStream& e) {
      return e;
    } catch (const Error& e) {
      ADD_FAILURE() << "expected IncompleteStream, got: " << e.what();
    }
    ADD_FAILURE() << "no error";
    return IncompleteStream("none", "");
  }

  std::unique_ptr<OpenAiServer> server_;
  std::unique_ptr<http::Client> http_;
  std::vector<std::chrono::milliseconds> sleeps_;
  std::vector<std::string> deltas_;
};

TEST_F(AiClientTest, NonStreamingAnswerWithUsage) {
  Reply reply;
  reply.text = "Version 1.0 is out! " + k_emoji;
  reply.prompt_tokens = 31;
  reply.completion_tokens = 9;
  server_->script({reply});
  ChatOptions o = options();
  o.temperature = 0.4;
  o.max_tokens = 120;

  const ChatResult r = client(o).complete(prompt());
  EXPECT_EQ(r.text, reply.text);
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.usage.model, server_->model());
  EXPECT_EQ(r.usage.prompt_tokens, 31);
  EXPECT_EQ(r.usage.completion_tokens, 9);
  EXPECT_GE(r.usage.latency, 0ms);

  const auto got = server_->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].accepted) << got[0].reject_reason;
  EXPECT_EQ(got[0].path, "/v1/chat/completions");
  EXPECT_EQ(got[0].header("authorization"), "Bearer " + server_->api_key());
  EXPECT_EQ(got[0].header("content-type"), "application/json");
  const auto& body = got[0].json;
  EXPECT_EQ(body["model"], server_->model());
  EXPECT_EQ(body["stream"], false);
  EXPECT_FALSE(body.contains("stream_options"));
  EXPECT_EQ(body["temperature"], 0.4);
  EXPECT_EQ(body["max_tokens"], 120);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_EQ(body["messages"][1]["content"], "Announce version 1.0.");
}

TEST_F(AiClientTest, OptionalFieldsAreLeftOutWhenUnset) {
  client().complete(prompt());
  const auto body = server_->received().at(0).json;
  EXPECT_FALSE(body.contains("temperature"));
  EXPECT_FALSE(body.contains("max_tokens"));
}

TEST_F(AiClientTest, StreamingDeltasJoinToTheText) {
  Reply reply;
  reply.text = "Gr\xC3\xBC\xC3\x9F" "e aus K\xC3\xB6ln " + k_emoji + " \xE2\x82\xAC" "5 deal";
  reply.delta_chars = 3;
  reply.prompt_tokens = 12;
  reply.completion_tokens = 8;
  server_->script({reply});

  const ChatResult r = stream(client());
  EXPECT_EQ(r.text, reply.text);
  EXPECT_EQ(joined(), reply.text);
  EXPECT_GT(deltas_.size(), 3u);
  for (const auto& d : deltas_) {
    EXPECT_TRUE(whole_utf8(d)) << d;
  }
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.usage.prompt_tokens, 12);  // from the usage-only chunk
  EXPECT_EQ(r.usage.completion_tokens, 8);
  EXPECT_EQ(r.usage.model, server_->model());

  const auto got = server_->received().at(0);
  EXPECT_EQ(got.json["stream"], true);
  EXPECT_EQ(got.json["stream_options"]["include_usage"], true);
  EXPECT_EQ(got.header("accept"), "text/event-stream");
}

TEST_F(AiClientTest, StreamSplitInsideDataCrlfAndAnEmoji) {
  Reply reply;
  reply.text = "Launch day " + k_emoji + k_emoji + " is here";
  reply.delta_chars = 11;  // "Launch day " then the rockets in one delta
  reply.crlf = true;
  const std::string wire = OpenAiServer::stream_for(reply, server_->model(), true);
  const std::size_t data = wire.find("data:", 10);
  const std::size_t crlf = wire.find("\r\n");
  const std::size_t emoji = wire.find(k_emoji);
  ASSERT_NE(emoji, std::string::npos);
  reply.splits = {data + 2, crlf + 1, emoji + 1, emoji + 2, emoji + 4 + 3};
  reply.piece_delay = 15ms;
  server_->script({reply});

  const ChatResult r = stream(client());
  EXPECT_EQ(r.text, reply.text);
  EXPECT_EQ(joined(), reply.text);
  for (const auto& d : deltas_) {
    EXPECT_TRUE(whole_utf8(d)) << d;
  }
}

TEST_F(AiClientTest, StreamCutIntoManySmallPieces) {
  Reply reply;
  reply.text = "tiny " + k_emoji + " pieces \xC3\xA9verywhere";
  const std::string wire = OpenAiServer::stream_for(reply, server_->model(), true);
  for (std::size_t at = 3; at < wire.size(); at += 3) {
    reply.splits.push_back(at);
  }
  reply.piece_delay = 0ms;
  server_->script({reply});
  const ChatResult r = stream(client());
  EXPECT_EQ(r.text, reply.text);
  EXPECT_EQ(joined(), reply.text);
}

TEST_F(AiClientTest, KeepAliveCommentsAreIgnored) {
  Reply reply;
  reply.text = "kept alive";
  reply.keep_alive = true;
  server_->script({reply});
  const ChatResult r = stream(client());
  EXPECT_EQ(r.text, "kept alive");
  EXPECT_EQ(joined(), "kept alive");
}

TEST_F(AiClientTest, StreamWithoutUsageChunkStillSucceeds) {
  Reply reply;
  reply.text = "no usage";
  reply.send_usage = false;
  server_->script({reply});
  const ChatResult r = stream(client());
  EXPECT_EQ(r.text, "no usage");
  EXPECT_EQ(r.usage.prompt_tokens, 0);
}

TEST_F(AiClientTest, BrokenStreamKeepsThePartialText) {
  Reply reply;
  reply.kind = Reply::broken;
  reply.text = "Half an ans";
  server_->script({reply});
  const IncompleteStream e = incomplete_of([&] { stream(client()); });
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_EQ(e.partial_text, "Half an ans");
  EXPECT_EQ(joined(), "Half an ans");
  EXPECT_THAT(e.what(), StartsWith("ai (" + server_->base_url() + "): stream broke off"));
  EXPECT_EQ(server_->count(), 1u);  // text was handed out: never retried
}

TEST_F(AiClientTest, StreamEndingCleanlyWithoutDoneIsIncomplete) {
  Reply reply;
  reply.kind = Reply::broken;
  reply.clean_close = true;
  reply.text = "Cut short";
  server_->script({reply});
  const IncompleteStream e = incomplete_of([&] { stream(client()); });
  EXPECT_EQ(e.partial_text, "Cut short");
  EXPECT_THAT(e.what(), HasSubstr("stream ended before the answer was complete"));
}

TEST_F(AiClientTest, ErrorPayloadMidStreamFails) {
  Reply data_error;
  data_error.kind = Reply::stream_error;
  data_error.text = "Some text";
  data_error.message = "model overloaded";
  Reply event_error = data_error;
  event_error.error_event = true;
  server_->script({data_error, event_error});

  const IncompleteStream a = incomplete_of([&] { stream(client()); });
  EXPECT_EQ(a.partial_text, "Some text");
  EXPECT_THAT(a.what(), HasSubstr("stream failed: model overloaded"));
  deltas_.clear();
  const IncompleteStream b = incomplete_of([&] { stream(client()); });
  EXPECT_THAT(b.what(), HasSubstr("stream failed: model overloaded"));
}

TEST_F(AiClientTest, TimeoutMidStreamIsIncomplete) {
  Reply reply;
  reply.text = "abcdefgh";
  reply.delta_chars = 2;
  const std::string wire = OpenAiServer::stream_for(reply, server_->model(), true);
  // Role chunk and two deltas ("ab", "cd") come at once; the rest is late.
  std::size_t third_event = 0;
  for (int i = 0; i < 3; ++i) {
    third_event = wire.find("\n\n", third_event) + 2;
  }
  reply.splits = {third_event};
  reply.piece_delay = 3s;
  server_->script({reply});
  ChatOptions o = options();
  o.timeout = 500ms;
  const auto start = std::chrono::steady_clock::now();
  const IncompleteStream e = incomplete_of([&] { stream(client(o)); });
  EXPECT_EQ(e.partial_text, "abcd");
  EXPECT_THAT(e.what(), HasSubstr("stream broke off"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(AiClientTest, RateLimitHonoursRetryAfterThenSucceeds) {
  Reply limited;
  limited.kind = Reply::rate_limited;
  limited.retry_after = 1;
  Reply ok;
  ok.text = "after the wait";
  server_->script({limited, ok});
  const ChatResult r = client().complete(prompt());
  EXPECT_EQ(r.text, "after the wait");
  EXPECT_EQ(server_->count(), 2u);
  EXPECT_EQ(sleeps_, std::vector<std::chrono::milliseconds>{1000ms});
}

TEST_F(AiClientTest, RateLimitWhileStreamingIsRetriedToo) {
  Reply limited;
  limited.kind = Reply::rate_limited;
  limited.retry_after = -1;  // no Retry-After: backoff
  Reply ok;
  ok.text = "streamed after backoff";
  server_->script({limited, ok});
  const ChatResult r = stream(client());
  EXPECT_EQ(r.text, "streamed after backoff");
  EXPECT_EQ(joined(), "streamed after backoff");
  EXPECT_EQ(server_->count(), 2u);
  ASSERT_EQ(sleeps_.size(), 1u);
  EXPECT_GE(sleeps_[0], 5ms);  // jitter within [base/2, base]
  EXPECT_LE(sleeps_[0], 10ms);
}

TEST_F(AiClientTest, ServerErrorsForeverAreTransientAfterAllAttempts) {
  Reply boom;
  boom.kind = Reply::server_error;
  boom.message = "upstream exploded";
  server_->set_default(boom);
  ChatOptions o = options();
  o.max_retries = 3;
  const Error e = error_of([&] { client(o).complete(prompt()); });
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_EQ(e.http_status, 500);
  EXPECT_EQ(std::string(e.what()),
            "ai (" + server_->base_url() + "): HTTP 500: upstream exploded after 4 attempts");
  EXPECT_EQ(server_->count(), 4u);
  ASSERT_EQ(sleeps_.size(), 3u);
  // Exponential: 10, 20, 40 ms, each jittered down to no less than half.
  EXPECT_GE(sleeps_[0], 5ms);
  EXPECT_LE(sleeps_[0], 10ms);
  EXPECT_GE(sleeps_[1], 10ms);
  EXPECT_LE(sleeps_[1], 20ms);
  EXPECT_GE(sleeps_[2], 20ms);
  EXPECT_LE(sleeps_[2], 40ms);
}

TEST_F(AiClientTest, RetryAfterLongerThanRetryMaxIsHandedUp) {
  Reply limited;
  limited.kind = Reply::rate_limited;
  limited.retry_after = 3600;
  server_->set_default(limited);
  const Error e = error_of([&] { client().complete(prompt()); });
  EXPECT_EQ(e.kind(), ErrorKind::transient);
  EXPECT_EQ(e.retry_after, 3600s);
  EXPECT_EQ(server_->count(), 1u);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(AiClientTest, MissingKeyIsAuth) {
  ChatOptions o = options();
  o.api_key.clear();
  const Error e = error_of([&] { client(o).complete(prompt()); });
  EXPECT_EQ(e.kind(), ErrorKind::auth);
  EXPECT_EQ(e.http_status, 401);
  EXPECT_THAT(e.what(), StartsWith("ai (" + server_->base_url() + "): credentials rejected: "));
  EXPECT_FALSE(server_->received().at(0).header("authorization"));
  EXPECT_EQ(server_->count(), 1u);
}

TEST_F(AiClientTest, UnauthorizedAndForbiddenAreAuth) {
  Reply unauthorized;
  unauthorized.kind = Reply::unauthorized;
  unauthorized.message = "key revoked";
  Reply credits;
  credits.kind = Reply::error;
  credits.status = 403;
  credits.code = "permission-denied";
  credits.message = "Your team has used all available credits";
  server_->script({unauthorized, credits});
  const Error a = error_of([&] { stream(client()); });
  EXPECT_EQ(a.kind(), ErrorKind::auth);
  EXPECT_EQ(std::string(a.what()), "ai (" + server_->base_url() + "): credentials rejected: key revoked");
  const Error b = error_of([&] { client().complete(prompt()); });
  EXPECT_EQ(b.kind(), ErrorKind::auth);
  EXPECT_THAT(b.what(), HasSubstr("used all available credits"));
  EXPECT_TRUE(deltas_.empty());
}

TEST_F(AiClientTest, WrongKeyAnsweredWith400IsAuthAndNeverEchoed) {
  ChatOptions o = options();
  o.api_key = "xai-wrong-0000000000000000";
  const Error e = error_of([&] { client(o).complete(prompt()); });
  EXPECT_EQ(e.kind(), ErrorKind::auth);
  EXPECT_EQ(e.http_status, 400);
  EXPECT_THAT(e.what(), HasSubstr("credentials rejected: Incorrect API key provided"));
  EXPECT_EQ(std::string(e.what()).find(o.api_key), std::string::npos);
  EXPECT_EQ(server_->count(), 1u);
}

TEST_F(AiClientTest, WrongModelIsPermanentAndNamesTheModel) {
  ChatOptions o = options();
  o.model = "grok-99-imaginary";
  const Error e = error_of([&] { stream(client(o)); });
  EXPECT_EQ(e.kind(), ErrorKind::permanent);
  EXPECT_EQ(e.http_status, 404);
  EXPECT_THAT(e.what(), HasSubstr("HTTP 404: The model grok-99-imaginary does not exist"));
  EXPECT_EQ(server_->count(), 1u);
}

TEST_F(AiClientTest, OutOfRangeTemperatureIsPermanentWithTheProviderMessage) {
  ChatOptions o = options();
  o.temperature = 3.5;
  const Error e = error_of([&] { client(o).complete(prompt()); });
  EXPECT_EQ(e.kind(), ErrorKind::permanent);
  EXPECT_THAT(e.what(), HasSubstr("HTTP 400: temperature must be a number between 0 and 2"));
}

TEST_F(AiClientTest, SlowFirstTokenTimesOutAsTransient) {
  Reply slow;
  slow.delay = 3s;
  server_->set_default(slow);
  ChatOptions o = options();
  o.timeout = 300ms;
  for (bool streaming : {false, true}) {
    const auto start = std::chrono::steady_clock::now();
    const Error e = error_of([&] {
      if (streaming) {
        stream(client(o));
      } else {
        client(o).complete(prompt());
      }
    });
    EXPECT_EQ(e.kind(), ErrorKind::transient) << e.what();
    EXPECT_TRUE(e.outcome_unknown);
    EXPECT_THAT(e.what(), StartsWith("ai (" + server_->base_url() + "): "));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  }
  EXPECT_EQ(server_->count(), 2u);  // a timed-out request is not sent again
  EXPECT_TRUE(deltas_.empty());
}

TEST_F(AiClientTest, ConnectionRefusedIsRetriedThenTransient) {
  ChatOptions o = options();
  o.max_retries = 2;
  const std::string base = o.base_url;
  server_->stop();  // the port is closed now: connections are refused
  ChatClient c(*http_, o);
  try {
    c.complete(prompt());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient);
    EXPECT_THAT(e.what(), StartsWith("ai (" + base + "): "));
    EXPECT_THAT(e.what(), HasSubstr("after 3 attempts"));
  }
  EXPECT_EQ(sleeps_.size(), 2u);
}

TEST_F(AiClientTest, MalformedBodiesArePermanentAndNameTheProvider) {
  Reply not_json;
  not_json.kind = Reply::raw;
  not_json.body = "<html>gateway</html>";
  not_json.content_type = "text/html";
  Reply no_choices;
  no_choices.kind = Reply::raw;
  no_choices.body = R"({"id":"x","choices":[]})";
  Reply bad_event;
  bad_event.kind = Reply::raw;
  bad_event.body = "data: {not json\n\n";
  bad_event.content_type = "text/event-stream";
  server_->script({not_json, no_choices, bad_event});

  const std::string prefix = "ai (" + server_->base_url() + "): malformed response: ";
  const Error a = error_of([&] { client().complete(prompt()); });
  EXPECT_EQ(a.kind(), ErrorKind::permanent);
  EXPECT_THAT(a.what(), StartsWith(prefix + "body is not JSON"));
  const Error b = error_of([&] { client().complete(prompt()); });
  EXPECT_EQ(b.kind(), ErrorKind::permanent);
  EXPECT_THAT(b.what(), StartsWith(prefix + "no choices"));
  const Error c = error_of([&] { stream(client()); });
  EXPECT_EQ(c.kind(), ErrorKind::permanent);
  EXPECT_THAT(c.what(), StartsWith(prefix + "stream event is not a JSON object"));
}

TEST_F(AiClientTest, PlainJsonAnswerToAStreamRequestIsOneDelta) {
  Reply plain;
  plain.kind = Reply::raw;
  plain.body = OpenAiServer::completion_for(Reply{}, server_->model());
  server_->script({plain});
  const ChatResult r = stream(client());
  EXPECT_EQ(r.text, Reply{}.text);
  EXPECT_EQ(deltas_, std::vector<std::string>{Reply{}.text});
}

TEST_F(AiClientTest, SuccessiveCallsGetSuccessiveScriptedTexts) {
  Reply long_text;
  long_text.text = std::string(300, 'a');
  Reply short_text;
  short_text.text = "short";
  server_->script({long_text, short_text});
  ChatClient c = client();
  EXPECT_EQ(c.complete(prompt()).text.size(), 300u);
  EXPECT_EQ(stream(client()).text, "short");
}

TEST_F(AiClientTest, EmptyMessagesAreAUsageError) {
  const Error e = error_of([&] { client().complete({}); });
  EXPECT_EQ(e.kind(), ErrorKind::usage);
  EXPECT_EQ(server_->count(), 0u);
}

}  // namespace
}  // namespace multivio::ai
