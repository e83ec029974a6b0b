// SPDX-License-Identifier: MIT
#include "common/ai/sse.hpp"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

#include "common/error.hpp"

namespace multivio::ai {

// Found by argument-dependent lookup, so it must live in SseEvent's namespace.
void PrintTo(const SseEvent& e, std::ostream* os) {
  *os << "{event='" << e.event << "' data='" << e.data << "' id='" << e.id << "'}";
}

namespace {

using namespace std::chrono_literals;

// Parses a stream delivered in the given pieces, then ends it.
std::vector<SseEvent> parse(const std::vector<std::string_view>& pieces) {
  std::vector<SseEvent> out;
  SseParser parser;
  const auto collect = [&](const SseEvent& e) { out.push_back(e); };
  for (const auto piece : pieces) {
    parser.feed(piece, collect);
  }
  parser.finish(collect);
  return out;
}

std::vector<SseEvent> parse_whole(std::string_view stream) { return parse({stream}); }

struct Case {
  const char* name;
  std::string stream;
  std::vector<SseEvent> expected;
};

const std::string k_emoji = "\xF0\x9F\x98\x80";  // U+1F600, four bytes

// Every stream here must parse the same however it is cut.
std::vector<Case> cases() {
  return {
      {"openai", "data: {\"a\":1}\n\ndata: {\"b\":\"\xC3\xA9" + k_emoji + "\"}\n\ndata: [DONE]\n\n",
       {{"", "{\"a\":1}", ""}, {"", "{\"b\":\"\xC3\xA9" + k_emoji + "\"}", ""}, {"", "[DONE]", ""}}},
      {"crlf", "data: x\r\n\r\nevent: error\r\ndata: y\r\n\r\n", {{"", "x", ""}, {"error", "y", ""}}},
      {"cr only", "data: a\r\rdata: b\r\r", {{"", "a", ""}, {"", "b", ""}}},
      {"mixed endings", "data: a\r\n\ndata: b\n\r\ndata: c\r\r\n", {{"", "a", ""}, {"", "b", ""}, {"", "c", ""}}},
      {"comments", ": keep-alive\n\n: ping\ndata: x\n\n:\n\n", {{"", "x", ""}}},
      {"multi-line data", "data: first\ndata:second\ndata:  third\n\n", {{"", "first\nsecond\n third", ""}}},
      {"id persists", "id: 7\nevent: delta\ndata: d\n\ndata: e\n\n", {{"delta", "d", "7"}, {"", "e", "7"}}},
      {"field without colon", "data\n\ndata:\n\n", {{"", "", ""}, {"", "", ""}}},
      {"unknown field and blank runs", "\n\nfoo: bar\ndata: x\n\n\n\n", {{"", "x", ""}}},
      {"bom", "\xEF\xBB\xBF" "data: x\n\n", {{"", "x", ""}}},
      {"unterminated last event", "data: a\n\ndata: last", {{"", "a", ""}, {"", "last", ""}}},
      {"no blank line at the end", "data: a\ndata: b\n", {{"", "a\nb", ""}}},
      {"emoji alone", "data: " + k_emoji + "\n\n", {{"", k_emoji, ""}}},
      {"colons in value", "data: a: b:c\n\n", {{"", "a: b:c", ""}}},
  };
}

TEST(SseParser, WholeStreams) {
  for (const auto& c : cases()) {
    EXPECT_EQ(parse_whole(c.stream), c.expected) << c.name;
  }
}

TEST(SseParser, ByteByByte) {
  for (const auto& c : cases()) {
    std::vector<std::string_view> pieces;
    const std::string_view s = c.stream;
    for (std::size_t i = 0; i < s.size(); ++i) {
      pieces.push_back(s.substr(i, 1));
    }
    EXPECT_EQ(parse(pieces), c.expected) << c.name;
  }
}

TEST(SseParser, EveryTwoWaySplit) {
  for (const auto& c : cases()) {
    const std::string_view s = c.stream;
    for (std::size_t cut = 0; cut <= s.size(); ++cut) {
      EXPECT_EQ(parse({s.substr(0, cut), s.substr(cut)}), c.expected) << c.name << " cut at " << cut;
    }
  }
}

TEST(SseParser, RandomSplitsWithASeededRng) {
  std::mt19937 rng(20260101);
  for (const auto& c : cases()) {
    const std::string_view s = c.stream;
    for (int round = 0; round < 200; ++round) {
      std::vector<std::string_view> pieces;
      std::size_t pos = 0;
      while (pos < s.size()) {
        const std::size_t len = std::uniform_int_distribution<std::size_t>(0, 6)(rng);  // empty pieces too
        pieces.push_back(s.substr(pos, len));
        pos += std::min(len, s.size() - pos);
      }
      ASSERT_EQ(parse(pieces), c.expected) << c.name << " round " << round;
    }
  }
}

TEST(SseParser, CrlfSplitBetweenCrAndLfIsOneLineEnd) {
  // "\r" ends a piece; the "\n" that starts the next must not count as a
  // second (blank) line, which would dispatch "a" before "b" joins it.
  EXPECT_EQ(parse({"data: a\r", "\ndata: b\r", "\n\r", "\n"}), (std::vector<SseEvent>{{"", "a\nb", ""}}));
}

TEST(SseParser, EmojiSplitAcrossPiecesArrivesWhole) {
  const std::string stream = "data: <" + k_emoji + ">\n\n";
  const std::size_t at = stream.find(k_emoji);
  for (std::size_t inside = 1; inside < 4; ++inside) {
    const std::string_view s = stream;
    const auto events = parse({s.substr(0, at + inside), s.substr(at + inside)});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].data, "<" + k_emoji + ">");
  }
}

TEST(SseParser, EventsArriveAsSoonAsTheirBlankLineDoes) {
  SseParser parser;
  std::vector<std::string> got;
  const auto collect = [&](const SseEvent& e) { got.push_back(e.data); };
  parser.feed("data: one\n", collect);
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(parser.pending());
  parser.feed("\ndata: tw", collect);
  EXPECT_EQ(got, std::vector<std::string>{"one"});
  parser.feed("o\n\n", collect);
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two"}));
  EXPECT_FALSE(parser.pending());
  parser.finish(collect);
  EXPECT_EQ(got.size(), 2u);
}

TEST(SseParser, FinishWithoutPendingDataDispatchesNothing) {
  EXPECT_TRUE(parse_whole("").empty());
  EXPECT_TRUE(parse_whole(": only a comment").empty());
  EXPECT_TRUE(parse_whole("id: 3\n").empty());
}

TEST(SseParser, EventFieldWithoutDataIsStillDispatched) {
  EXPECT_EQ(parse_whole("event: error\n\n"), (std::vector<SseEvent>{{"error", "", ""}}));
}

TEST(SseParser, RetryFieldIsRemembered) {
  SseParser parser;
  const auto ignore = [](const SseEvent&) {};
  EXPECT_FALSE(parser.retry());
  parser.feed("retry: 1500\ndata: x\n\nretry: soon\n\n", ignore);
  EXPECT_EQ(parser.retry(), 1500ms);
}

TEST(SseParser, OversizedEventIsRefused) {
  SseParser parser(64);
  const auto ignore = [](const SseEvent&) {};
  parser.feed("data: " + std::string(40, 'a') + "\n", ignore);
  try {
    parser.feed("data: " + std::string(40, 'b'), ignore);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::permanent);
    EXPECT_NE(std::string(e.what()).find("larger than 64 bytes"), std::string::npos) << e.what();
  }
}

TEST(SseParser, HandlerExceptionsPropagateAndResetRecovers) {
  SseParser parser;
  EXPECT_THROW(parser.feed("data: x\n\n", [](const SseEvent&) { throw std::runtime_error("stop"); }),
               std::runtime_error);
  parser.reset();
  std::vector<std::string> got;
  parser.feed("data: y\n\n", [&](const SseEvent& e) { got.push_back(e.data); });
  EXPECT_EQ(got, std::vector<std::string>{"y"});
}

}  // namespace
}  // namespace multivio::ai
