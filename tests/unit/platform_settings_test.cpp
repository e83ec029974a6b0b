// SPDX-License-Identifier: MIT
// common/platforms/settings: the platforms.NAME readers and JSON field
// readers every adapter shares.
#include <cstdlib>
#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/config.hpp"
#include "common/error.hpp"
#include "common/platforms/settings.hpp"

namespace multivio::platforms {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

config::Config config_with(std::map<std::string, std::string> section) {
  config::Config c;
  c.platforms["demo"] = std::move(section);
  return c;
}

// A fixed environment, so the tests neither read nor change the real one.
config::EnvLookup env_with(std::string name, std::string value) {
  return [name = std::move(name), value = std::move(value)](const std::string& asked) -> std::optional<std::string> {
    if (asked == name) return value;
    return std::nullopt;
  };
}

// The Error `f` throws; a test failure when it throws none.
Error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no Error thrown";
  return Error(ErrorKind::permanent, "");
}

TEST(PlatformSettings, MissingSectionGivesTheFallbacks) {
  const config::Config c;
  const SettingsReader r(c, "demo", env_with("UNUSED", "x"));
  EXPECT_EQ(r.string("client_id"), "");
  EXPECT_EQ(r.string("api_version", "v1"), "v1");
  EXPECT_EQ(r.url("api_base", "https://api.example/"), "https://api.example");
  EXPECT_EQ(r.client_secret(), "");
  EXPECT_EQ(r.size("upload_chunk_bytes", 1, 10, 7), 7U);
  EXPECT_EQ(r.duration("media_timeout", 5min), 5min);
}

TEST(PlatformSettings, ValuesAreTrimmedAndBlankMeansUnset) {
  const auto c = config_with({{"client_id", "  abc \t"}, {"api_version", "   "}, {"other", "x"}});
  const SettingsReader r(c, "demo");
  EXPECT_EQ(r.string("client_id"), "abc");
  EXPECT_EQ(r.string("api_version", "v2"), "v2");
  // Another network's section is not consulted.
  EXPECT_EQ(SettingsReader(c, "elsewhere").string("client_id", "none"), "none");
}

TEST(PlatformSettings, UrlsLoseEveryTrailingSlash) {
  const auto c = config_with({{"api_base", " http://127.0.0.1:8080/api/// "}, {"auth_base", "http://h"}});
  const SettingsReader r(c, "demo");
  EXPECT_EQ(r.url("api_base", "https://default"), "http://127.0.0.1:8080/api");
  EXPECT_EQ(r.url("auth_base", "https://default"), "http://h");
  EXPECT_EQ(r.url("upload_base", "https://default//"), "https://default");
  EXPECT_EQ(without_trailing_slash("/"), "");
  EXPECT_EQ(without_trailing_slash("a/b"), "a/b");
}

TEST(PlatformSettings, ClientSecretFromTheConfigWinsOverTheEnvironment) {
  const auto c = config_with({{"client_secret", "from-file"}, {"client_secret_env", "DEMO_SECRET"}});
  EXPECT_EQ(SettingsReader(c, "demo", env_with("DEMO_SECRET", "from-env")).client_secret(), "from-file");
}

TEST(PlatformSettings, ClientSecretFromTheNamedVariable) {
  const auto c = config_with({{"client_secret_env", " DEMO_SECRET "}});
  EXPECT_EQ(SettingsReader(c, "demo", env_with("DEMO_SECRET", "from-env")).client_secret(), "from-env");
  EXPECT_EQ(SettingsReader(c, "demo", env_with("OTHER", "x")).client_secret(), "");
}

TEST(PlatformSettings, ClientSecretReadsTheProcessEnvironmentByDefault) {
  ::setenv("MULTIVIO_SETTINGS_TEST_SECRET", "s3cret", 1);
  const auto c = config_with({{"client_secret_env", "MULTIVIO_SETTINGS_TEST_SECRET"}});
  EXPECT_EQ(SettingsReader(c, "demo").client_secret(), "s3cret");
  ::unsetenv("MULTIVIO_SETTINGS_TEST_SECRET");
  EXPECT_EQ(SettingsReader(c, "demo").client_secret(), "");
}

TEST(PlatformSettings, SizesInsideTheBoundsAreTaken) {
  EXPECT_EQ(SettingsReader(config_with({{"chunk", "1"}}), "demo").size("chunk", 1, 100, 50), 1U);
  EXPECT_EQ(SettingsReader(config_with({{"chunk", "100"}}), "demo").size("chunk", 1, 100, 50), 100U);
  EXPECT_EQ(SettingsReader(config_with({{"chunk", " 64 "}}), "demo").size("chunk", 1, 100, 50), 64U);
}

TEST(PlatformSettings, SizesOutsideTheBoundsOrNotNumbersAreUsageErrors) {
  for (const std::string bad : {"0", "101", "12x", "-5", "1e3", "99999999999999999999999"}) {
    const SettingsReader r(config_with({{"chunk", bad}}), "demo");
    const auto read = [&] { (void)r.size("chunk", 1, 100, 50); };
    const Error e = error_of(read);
    EXPECT_EQ(e.kind(), ErrorKind::usage) << bad;
    EXPECT_STREQ(e.what(), ("platforms.demo.chunk: '" + bad + "' is not a size from 1 to 100 bytes").c_str());
  }
}

TEST(PlatformSettings, Durations) {
  EXPECT_EQ(SettingsReader(config_with({{"media_timeout", "90s"}}), "demo").duration("media_timeout", 1min), 90s);
  EXPECT_EQ(SettingsReader(config_with({{"media_timeout", "2h"}}), "demo").duration("media_timeout", 1min), 2h);
  const SettingsReader bad(config_with({{"media_timeout", "soon"}}), "demo");
  const auto read = [&] { (void)bad.duration("media_timeout", 1min); };
  const Error e = error_of(read);
  EXPECT_EQ(e.kind(), ErrorKind::usage);
  EXPECT_THAT(e.what(), HasSubstr("invalid duration 'soon'"));
}

TEST(PlatformSettings, ParseUnsigned) {
  EXPECT_EQ(parse_unsigned("262144"), 262144U);
  EXPECT_EQ(parse_unsigned("0"), 0U);
  EXPECT_EQ(parse_unsigned(""), std::nullopt);
  EXPECT_EQ(parse_unsigned("12 "), std::nullopt);
  EXPECT_EQ(parse_unsigned("-1"), std::nullopt);
}

TEST(JsonFields, Strings) {
  const auto j = nlohmann::json::parse(R"({"token":"abc","n":5,"nul":null,"obj":{}})");
  EXPECT_EQ(json_string(j, "token"), "abc");
  EXPECT_EQ(json_string(j, "n"), "");
  EXPECT_EQ(json_string(j, "nul"), "");
  EXPECT_EQ(json_string(j, "obj"), "");
  EXPECT_EQ(json_string(j, "missing"), "");
  EXPECT_EQ(json_string(nlohmann::json::array({"token"}), "token"), "");
  EXPECT_EQ(json_string(nlohmann::json("token"), "token"), "");
  EXPECT_EQ(json_string(nlohmann::json(), "token"), "");
}

TEST(JsonFields, Integers) {
  const auto j = nlohmann::json::parse(
      R"({"int":-7,"big":18000000000,"text":"1700000000","bad":"17x","empty":"","float":1.5,"bool":true})");
  EXPECT_EQ(json_integer(j, "int"), -7);
  EXPECT_EQ(json_integer(j, "big"), 18'000'000'000LL);
  EXPECT_EQ(json_integer(j, "text"), 1'700'000'000LL);
  EXPECT_EQ(json_integer(j, "bad"), std::nullopt);
  EXPECT_EQ(json_integer(j, "empty"), std::nullopt);
  EXPECT_EQ(json_integer(j, "float"), std::nullopt);
  EXPECT_EQ(json_integer(j, "bool"), std::nullopt);
  EXPECT_EQ(json_integer(j, "missing"), std::nullopt);
  EXPECT_EQ(json_integer(nlohmann::json::array({1}), "int"), std::nullopt);
}

TEST(JsonFields, IntegersWithoutText) {
  const auto j = nlohmann::json::parse(R"({"int":42,"text":"42"})");
  EXPECT_EQ(json_integer(j, "int", NumericText::reject), 42);
  EXPECT_EQ(json_integer(j, "text", NumericText::reject), std::nullopt);
}

}  // namespace
}  // namespace multivio::platforms
