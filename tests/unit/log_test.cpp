// SPDX-License-Identifier: MIT
#include "common/log/log.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/error.hpp"

namespace multivio::log {
namespace {

using namespace std::chrono;
using namespace std::string_literals;

const system_clock::time_point kTs = sys_days{year{2026} / 11 / 25} + hours{23} + milliseconds{123};

TEST(JsonEscape, Basics) {
  EXPECT_EQ(json_escape(""), "");
  EXPECT_EQ(json_escape("plain"), "plain");
  EXPECT_EQ(json_escape(R"(say "hi")"), R"(say \"hi\")");
  EXPECT_EQ(json_escape(R"(C:\path)"), R"(C:\\path)");
  EXPECT_EQ(json_escape("a\nb\tc\r"), R"(a\nb\tc\r)");
  EXPECT_EQ(json_escape("\x01\x1f\x7f"), R"(\u0001\u001f\u007f)");
  EXPECT_EQ(json_escape("nul\0!"s), R"(nul\u0000!)");
  EXPECT_EQ(json_escape("/"), "/");
}

TEST(JsonEscape, Utf8PassesThroughAndInvalidBytesAreReplaced) {
  EXPECT_EQ(json_escape("caf\xC3\xA9 \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xF0\x9F\x98\x80");
  EXPECT_EQ(json_escape("a\xFF" "b"), R"(a\ufffdb)");
  EXPECT_EQ(json_escape("\xED\xA0\x80"), R"(\ufffd\ufffd\ufffd)");
  EXPECT_EQ(json_escape("cut \xE2\x82"), R"(cut \ufffd\ufffd)");
  // Whatever the bytes, the result embeds into a parseable document.
  const std::string nasty = "\"\\\x01\xC3\x28\xF0\x9F\x98\x80\xC0\xAF\n";
  EXPECT_NO_THROW(nlohmann::json::parse("\"" + json_escape(nasty) + "\""));
}

TEST(JsonLine, FixedFieldsAndLiftedIds) {
  const auto line = format_json_line("multiviod", "info", kTs, "published post=1 target=2 attempt=41");
  EXPECT_EQ(line,
            R"({"ts":"2026-11-25T23:00:00.123Z","level":"info","program":"multiviod",)"
            R"("msg":"published post=1 target=2 attempt=41","post":1,"target":2,"attempt":41})");
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["post"], 1);
  EXPECT_TRUE(j["target"].is_number_integer());
}

TEST(JsonLine, ValuesKeysAndCollisions) {
  const auto j = nlohmann::json::parse(format_json_line(
      "multivio", "warning", kTs,
      "retry platform=mastodon:main status=429 wait=1.5s delta=-3 zero=0 pad=007 big=123456789012345678901 "
      "level=9 msg=x ts=y program=z post=1 post=2 Upper=1 two-word=1 empty= =lone quote=\"a\\b\" "
      "utf=caf\xC3\xA9"));
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["program"], "multivio");
  EXPECT_EQ(j["ts"], "2026-11-25T23:00:00.123Z");
  EXPECT_EQ(j["msg"].get<std::string>().substr(0, 6), "retry ");
  EXPECT_EQ(j["platform"], "mastodon:main");
  EXPECT_EQ(j["status"], 429);
  EXPECT_EQ(j["wait"], "1.5s");
  EXPECT_EQ(j["delta"], -3);
  EXPECT_EQ(j["zero"], 0);
  EXPECT_EQ(j["pad"], "007");
  EXPECT_EQ(j["big"], "123456789012345678901");
  EXPECT_EQ(j["post"], 1);
  EXPECT_EQ(j["quote"], "\"a\\b\"");
  EXPECT_EQ(j["utf"], "caf\xC3\xA9");
  for (const char* absent : {"Upper", "two-word", "empty", ""}) EXPECT_FALSE(j.contains(absent)) << absent;
}

TEST(JsonLine, MessageWithControlCharsAndBadBytesStillParses) {
  const std::string msg = "line one\nline \"two\" \x02 \xFF post=5";
  const auto j = nlohmann::json::parse(format_json_line("multiviod", "error", kTs, msg));
  EXPECT_EQ(j["msg"], "line one\nline \"two\" \x02 \xEF\xBF\xBD post=5");
  EXPECT_EQ(j["post"], 5);
}

TEST(JsonLine, TimestampIsUtcWithMillis) {
  const auto j = nlohmann::json::parse(
      format_json_line("p", "info", system_clock::time_point{} + milliseconds{7}, "epoch"));
  EXPECT_EQ(j["ts"], "1970-01-01T00:00:00.007Z");
}

TEST(Setup, RejectsUnknownLevelAndFormat) {
  try {
    setup("multivio", "loud", "text");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_STREQ(e.what(), "unknown log level 'loud': use trace, debug, info, warn, error or off");
  }
  try {
    setup("multivio", "info", "xml");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_STREQ(e.what(), "unknown log format 'xml': use auto, text or json");
  }
}

TEST(Setup, InstallsTheDefaultLogger) {
  setup("multiviod", "debug", "json");
  EXPECT_EQ(spdlog::default_logger()->name(), "multiviod");
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
  setup("multivio", "off", "auto");
  EXPECT_EQ(spdlog::default_logger()->name(), "multivio");
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::off);
  setup("multivio", "warn", "text");
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
}

TEST(Setup, WritesJsonLinesToStderr) {
  setup("multiviod", "info", "json");
  testing::internal::CaptureStderr();
  spdlog::info("published post={} target={}", 12, 30);
  spdlog::debug("hidden post=1");
  const std::string out = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;  // one line only
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["msg"], "published post=12 target=30");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["post"], 12);
  EXPECT_EQ(j["target"], 30);
}

TEST(Setup, WritesTextLinesToStderr) {
  setup("multiviod", "info", "text");
  testing::internal::CaptureStderr();
  spdlog::warn("lease lost target=3");
  const std::string out = testing::internal::GetCapturedStderr();
  // "2026-11-25 23:00:00.123 multiviod warning lease lost target=3"
  EXPECT_EQ(out.size(), 24 + std::string("multiviod warning lease lost target=3\n").size()) << out;
  EXPECT_EQ(out.substr(23), " multiviod warning lease lost target=3\n");
}

}  // namespace
}  // namespace multivio::log
