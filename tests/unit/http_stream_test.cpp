// SPDX-License-Identifier: MIT
// http::Client::send_streaming against the OpenAI fake, whose streams arrive
// in separately written pieces.
#include <gtest/gtest.h>

#include <stdexcept>

#include "common/http/client.hpp"
#include "tests/fakes/openai_server.hpp"

namespace multivio::http {
namespace {

using namespace std::chrono_literals;
using fakes::OpenAiServer;
using Reply = OpenAiServer::Reply;

class HttpStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      server_ = std::make_unique<OpenAiServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << e.what();
    }
    client_ = make_client();
  }

  Request chat(bool stream = true) {
    Request r;
    r.method = "POST";
    r.url = server_->base_url() + "/chat/completions";
    r.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + server_->api_key()}};
    r.body = std::string(R"({"model":")") + server_->model() +
             R"(","messages":[{"role":"user","content":"hi"}],"stream":)" + (stream ? "true" : "false") + "}";
    return r;
  }

  std::unique_ptr<OpenAiServer> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(HttpStreamTest, BodyArrivesInPiecesAfterTheHead) {
  Reply reply;
  reply.text = "one two three four five six";
  reply.piece_delay = 20ms;  // far apart: curl cannot merge them into one read
  server_->script({reply});

  std::vector<std::string> chunks;
  std::vector<int> statuses;
  std::vector<std::string> types;
  const Response resp = client_->send_streaming(chat(), [&](const Response& head, std::string_view chunk) {
    statuses.push_back(head.status);
    types.push_back(head.header("content-type").value_or(""));
    EXPECT_TRUE(head.body.empty());
    chunks.emplace_back(chunk);
  });
  EXPECT_EQ(resp.status, 200);
  EXPECT_TRUE(resp.body.empty());
  EXPECT_EQ(resp.header("Content-Type"), "text/event-stream");
  ASSERT_GT(chunks.size(), 3u);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(statuses[i], 200);
    EXPECT_EQ(types[i], "text/event-stream");
  }
  std::string joined;
  for (const auto& c : chunks) {
    joined += c;
  }
  EXPECT_EQ(joined, OpenAiServer::stream_for(reply, server_->model(), false));
}

TEST_F(HttpStreamTest, ErrorStatusIsVisibleWithTheFirstChunk) {
  Reply limited;
  limited.kind = Reply::rate_limited;
  limited.retry_after = 7;
  server_->script({limited});
  int status = 0;
  std::optional<std::string> retry_after;
  std::string body;
  const Response resp = client_->send_streaming(chat(), [&](const Response& head, std::string_view chunk) {
    status = head.status;
    retry_after = head.header("retry-after");
    body.append(chunk);
  });
  EXPECT_EQ(status, 429);
  EXPECT_EQ(retry_after, "7");
  EXPECT_EQ(resp.status, 429);
  EXPECT_NE(body.find("resource-exhausted"), std::string::npos) << body;
}

TEST_F(HttpStreamTest, ThrowingSinkAbortsAndItsExceptionPropagates) {
  Reply slow;
  slow.text = std::string(200, 'x');
  slow.delta_chars = 10;
  slow.piece_delay = 50ms;  // the whole stream would take a second
  server_->script({slow});
  struct Enough : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  int calls = 0;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(client_->send_streaming(chat(),
                                       [&](const Response&, std::string_view) {
                                         if (++calls == 2) {
                                           throw Enough("enough");
                                         }
                                       }),
               Enough);
  EXPECT_EQ(calls, 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 700ms);
  // The handle is reusable afterwards.
  server_->script({Reply{}});
  EXPECT_EQ(client_->send(chat(false)).status, 200);
}

TEST_F(HttpStreamTest, ConnectionDroppedMidStreamIsTransient) {
  Reply broken;
  broken.kind = Reply::broken;
  server_->script({broken});
  std::string got;
  try {
    client_->send_streaming(chat(), [&](const Response&, std::string_view chunk) { got.append(chunk); });
    FAIL() << "expected a transport error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient) << e.what();
    EXPECT_TRUE(e.outcome_unknown);
  }
  EXPECT_NE(got.find("\"Hell\""), std::string::npos) << "the pieces before the break were delivered";
}

TEST_F(HttpStreamTest, TimeoutBeforeTheFirstByteIsTransient) {
  Reply slow;
  slow.delay = 3s;
  server_->script({slow});
  Request r = chat();
  r.total_timeout = 300ms;
  int calls = 0;
  const auto start = std::chrono::steady_clock::now();
  try {
    client_->send_streaming(r, [&](const Response&, std::string_view) { ++calls; });
    FAIL() << "expected a timeout";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::transient);
    EXPECT_TRUE(e.outcome_unknown);
  }
  EXPECT_EQ(calls, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

// A test double that only implements send(): the default send_streaming
// hands the whole body over once.
class CannedClient final : public Client {
 public:
  Response send(const Request&) override {
    Response r;
    r.status = 201;
    r.headers = {{"X-Id", "9"}};
    r.body = "whole body";
    return r;
  }
};

TEST(HttpStreamDefault, HandsTheBodyOverInOnePiece) {
  CannedClient client;
  std::vector<std::string> chunks;
  const Response resp = client.send_streaming(Request{}, [&](const Response& head, std::string_view chunk) {
    EXPECT_EQ(head.status, 201);
    EXPECT_EQ(head.header("x-id"), "9");
    EXPECT_TRUE(head.body.empty());
    chunks.emplace_back(chunk);
  });
  EXPECT_EQ(chunks, std::vector<std::string>{"whole body"});
  EXPECT_EQ(resp.status, 201);
  EXPECT_TRUE(resp.body.empty());
}

}  // namespace
}  // namespace multivio::http
