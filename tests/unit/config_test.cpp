// SPDX-License-Identifier: MIT
#include "common/config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "common/error.hpp"

namespace multivio::config {
namespace {

using namespace std::chrono_literals;
using testing::HasSubstr;
using testing::StartsWith;
namespace fs = std::filesystem;

// A temporary HOME plus a fake environment, so no test reads the real one.
class ConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string templ = testing::TempDir() + "mv_config_XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    home_ = (dir_ / "home").string();
    vars_["HOME"] = home_;
  }
  void TearDown() override { fs::remove_all(dir_); }

  EnvLookup env() const {
    return [vars = vars_](const std::string& name) -> std::optional<std::string> {
      const auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  Config load_text(const std::string& text) { return load(write("config.yaml", text), env()); }

  // The usage error message that loading `text` produces.
  std::string error_for(const std::string& text) {
    try {
      load_text(text);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "no error for:\n" << text;
    return {};
  }

  std::string file() const { return (dir_ / "config.yaml").string(); }

  fs::path dir_;
  std::string home_;
  std::map<std::string, std::string> vars_;
};

TEST_F(ConfigTest, DefaultsWithoutAFile) {
  const Config c = load(std::nullopt, env());
  EXPECT_EQ(c.file, "");
  EXPECT_EQ(c.database, "sqlite://" + home_ + "/.local/share/multivio/multivio.db");
  EXPECT_EQ(c.key_file, home_ + "/.config/multivio/key");
  EXPECT_EQ(c.data_dir, home_ + "/.local/share/multivio");
  EXPECT_EQ(c.timezone, "");
  EXPECT_EQ(c.daemon.workers, 8);
  EXPECT_EQ(c.daemon.lease, 120s);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.ai.model, "grok-4");
  EXPECT_TRUE(c.platforms.empty());
  EXPECT_EQ(c.origins.at("database"), "default");
  EXPECT_EQ(c.origins.at("daemon.workers"), "default");
}

TEST_F(ConfigTest, DefaultPathsFollowXdg) {
  vars_["XDG_CONFIG_HOME"] = "/xdg/config";
  vars_["XDG_DATA_HOME"] = "/xdg/data";
  const Paths p = default_paths(env());
  EXPECT_EQ(p.config_dir, "/xdg/config/multivio");
  EXPECT_EQ(p.config_file, "/xdg/config/multivio/config.yaml");
  EXPECT_EQ(p.key_file, "/xdg/config/multivio/key");
  EXPECT_EQ(p.data_dir, "/xdg/data/multivio");
  EXPECT_EQ(p.database, "sqlite:///xdg/data/multivio/multivio.db");

  // The XDG spec says relative values are to be ignored.
  vars_["XDG_CONFIG_HOME"] = "relative";
  vars_["XDG_DATA_HOME"] = "";
  EXPECT_EQ(default_paths(env()).config_dir, home_ + "/.config/multivio");
  EXPECT_EQ(default_paths(env()).data_dir, home_ + "/.local/share/multivio");
}

TEST_F(ConfigTest, ReadsTheDefaultFile) {
  const auto path = write("home/.config/multivio/config.yaml", "timezone: Europe/Berlin\n");
  const Config c = load(std::nullopt, env());
  EXPECT_EQ(c.file, path);
  EXPECT_EQ(c.timezone, "Europe/Berlin");
  EXPECT_EQ(c.origins.at("timezone"), path + ":1");
}

TEST_F(ConfigTest, FullValidFile) {
  const Config c = load_text(R"(# every key
database: postgresql://mv:pw@db.example/multivio
timezone: Europe/Berlin
key_file: /etc/multivio/key
data_dir: /var/lib/multivio
daemon:
  workers: 16
  max_attempts: 7
  retry_base: 10s
  retry_max: 2h
  lease: 90s
  poll_interval: 250ms
  shutdown_grace: 0
  http_timeout: 45
  connect_timeout: 5s
  listen: 127.0.0.1:8787
feed: {max_entries: 500}
log: {level: debug, format: json}
ai: {base_url: "http://127.0.0.1:9000/v1", model: grok-3, api_key_env: MY_KEY, timeout: 2m}
notify:
  webhook: {url: "https://hooks.example/abc", format: slack}
platforms:
  x: {client_id: abc, api_base: "http://127.0.0.1:1234", redirect_port: 8976}
  linkedin:
    client_id: li
    client_secret_env: LI_SECRET
    client_secret: hunter2
  mastodon:
)");
  EXPECT_EQ(c.file, file());
  EXPECT_EQ(c.database, "postgresql://mv:pw@db.example/multivio");
  EXPECT_EQ(c.timezone, "Europe/Berlin");
  EXPECT_EQ(c.key_file, "/etc/multivio/key");
  EXPECT_EQ(c.data_dir, "/var/lib/multivio");
  EXPECT_EQ(c.daemon.workers, 16);
  EXPECT_EQ(c.daemon.max_attempts, 7);
  EXPECT_EQ(c.daemon.retry_base, 10s);
  EXPECT_EQ(c.daemon.retry_max, 2h);
  EXPECT_EQ(c.daemon.lease, 90s);
  EXPECT_EQ(c.daemon.poll_interval, 250ms);
  EXPECT_EQ(c.daemon.shutdown_grace, 0ms);
  EXPECT_EQ(c.daemon.http_timeout, 45s);
  EXPECT_EQ(c.daemon.connect_timeout, 5s);
  EXPECT_EQ(c.daemon.listen, "127.0.0.1:8787");
  EXPECT_EQ(c.feed.max_entries, 500);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.ai.base_url, "http://127.0.0.1:9000/v1");
  EXPECT_EQ(c.ai.model, "grok-3");
  EXPECT_EQ(c.ai.api_key_env, "MY_KEY");
  EXPECT_EQ(c.ai.timeout, 2min);
  EXPECT_EQ(c.notify.webhook_url, "https://hooks.example/abc");
  EXPECT_EQ(c.notify.webhook_format, "slack");
  EXPECT_EQ(c.platforms.at("x").at("client_id"), "abc");
  EXPECT_EQ(c.platforms.at("x").at("api_base"), "http://127.0.0.1:1234");
  EXPECT_EQ(c.platforms.at("x").at("redirect_port"), "8976");
  EXPECT_EQ(c.platforms.at("linkedin").at("client_secret"), "hunter2");
  EXPECT_TRUE(c.platforms.at("mastodon").empty());

  EXPECT_EQ(c.origins.at("database"), file() + ":2");
  EXPECT_EQ(c.origins.at("daemon.workers"), file() + ":7");
  EXPECT_EQ(c.origins.at("platforms.linkedin.client_secret_env"), file() + ":26");
  EXPECT_EQ(c.origins.at("feed.max_entries"), file() + ":17");

  const auto j = c.to_json();
  EXPECT_EQ(j["platforms"]["linkedin"]["client_secret"], "***");
  EXPECT_EQ(j["platforms"]["linkedin"]["client_secret_env"], "LI_SECRET");
  EXPECT_EQ(j["database"], "postgresql://mv:***@db.example/multivio");
  EXPECT_EQ(j["daemon"]["retry_max"], "2h");
  EXPECT_EQ(j["daemon"]["poll_interval"], "250ms");
  EXPECT_EQ(j["daemon"]["shutdown_grace"], "0s");
  EXPECT_EQ(j["daemon"]["workers"], 16);
  EXPECT_EQ(j["notify"]["webhook"]["format"], "slack");
  EXPECT_EQ(j["file"], file());
  EXPECT_EQ(j["origins"]["daemon.workers"], file() + ":7");
  EXPECT_EQ(j.dump().find("hunter2"), std::string::npos);
  EXPECT_EQ(j.dump().find(":pw@"), std::string::npos);
}

TEST_F(ConfigTest, AiGenerationSettings) {
  const Config defaults = load(std::nullopt, env());
  EXPECT_FALSE(defaults.ai.temperature);
  EXPECT_FALSE(defaults.ai.max_tokens);
  EXPECT_EQ(defaults.ai.retries, 3);
  EXPECT_EQ(defaults.ai.rewrites, 2);
  EXPECT_TRUE(defaults.to_json()["ai"]["temperature"].is_null());

  const Config c = load_text("ai:\n  temperature: 0.7\n  max_tokens: 400\n  retries: 0\n  rewrites: 5\n");
  EXPECT_EQ(c.ai.temperature, 0.7);
  EXPECT_EQ(c.ai.max_tokens, 400);
  EXPECT_EQ(c.ai.retries, 0);
  EXPECT_EQ(c.ai.rewrites, 5);
  EXPECT_EQ(c.origins.at("ai.temperature"), file() + ":2");
  EXPECT_EQ(c.origins.at("ai.rewrites"), file() + ":5");
  EXPECT_EQ(c.to_json()["ai"]["max_tokens"], 400);
  EXPECT_EQ(c.to_json()["ai"]["temperature"], 0.7);
}

TEST_F(ConfigTest, AiSettingsOutOfRange) {
  EXPECT_EQ(error_for("ai:\n  temperature: 2.5\n"), file() + ":2: ai.temperature: must be between 0 and 2, got 2.5");
  EXPECT_EQ(error_for("ai:\n  temperature: warm\n"), file() + ":2: ai.temperature: expected a number, got 'warm'");
  EXPECT_EQ(error_for("ai:\n  max_tokens: 0\n"), file() + ":2: ai.max_tokens: must be between 1 and 1000000, got 0");
  EXPECT_EQ(error_for("ai:\n  rewrites: 11\n"), file() + ":2: ai.rewrites: must be between 0 and 10, got 11");
}

TEST_F(ConfigTest, EmptyAndCommentOnlyFilesMeanDefaults) {
  for (const std::string text : {"", "\n\n", "# nothing here\n  # still nothing\n", "---\n"}) {
    const Config c = load_text(text);
    EXPECT_EQ(c.file, file());
    EXPECT_EQ(c.daemon.workers, 8);
  }
}

TEST_F(ConfigTest, KeysWithoutValuesKeepDefaults) {
  const Config c = load_text("daemon:\n  workers:\nlog:\ntimezone:\n");
  EXPECT_EQ(c.daemon.workers, 8);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.origins.at("daemon.workers"), "default");
}

TEST_F(ConfigTest, UnknownTopLevelKeySuggestsTheClosest) {
  EXPECT_EQ(error_for("timezone: UTC\ndeamon:\n  workers: 2\n"),
            file() + ":2: deamon: unknown key 'deamon' (did you mean 'daemon'?)");
  EXPECT_EQ(error_for("platfroms: {}\n"),
            file() + ":1: platfroms: unknown key 'platfroms' (did you mean 'platforms'?)");
  // Even with no value the typo is reported.
  EXPECT_THAT(error_for("databse:\n"), HasSubstr("did you mean 'database'?"));
}

TEST_F(ConfigTest, UnknownKeyWithoutCloseMatchListsTheAllowedOnes) {
  EXPECT_EQ(error_for("log:\n  colour: always\n"),
            file() + ":2: log.colour: unknown key 'colour' (expected one of: level, format)");
  EXPECT_EQ(error_for("x: 1\n"), file() +
                                     ":1: x: unknown key 'x' (expected one of: database, timezone, key_file, "
                                     "data_dir, daemon, media, auth, feed, log, ai, notify, platforms)");
}

TEST_F(ConfigTest, UnknownNestedKey) {
  EXPECT_EQ(error_for("daemon:\n  workers: 2\n  wrokers: 3\n"),
            file() + ":3: daemon.wrokers: unknown key 'wrokers' (did you mean 'workers'?)");
  EXPECT_EQ(error_for("notify:\n  webhook:\n    uri: http://x\n"),
            file() + ":3: notify.webhook.uri: unknown key 'uri' (did you mean 'url'?)");
  EXPECT_EQ(error_for("platforms:\n  x:\n    client_idd: a\n"),
            file() + ":3: platforms.x.client_idd: unknown key 'client_idd' (did you mean 'client_id'?)");
}

TEST_F(ConfigTest, UnknownPlatform) {
  EXPECT_EQ(error_for("platforms:\n  mastodn: {api_base: x}\n"),
            file() + ":2: platforms.mastodn: unknown platform 'mastodn' (did you mean 'mastodon'?)");
  EXPECT_THAT(error_for("platforms:\n  myspace: {}\n"), HasSubstr("unknown platform 'myspace' (expected one of: x,"));
}

TEST_F(ConfigTest, WrongTypeNamesTheExactLine) {
  EXPECT_EQ(error_for("# comment\ndaemon:\n  lease: 30s\n\n  workers: eight\n"),
            file() + ":5: daemon.workers: expected an integer, got 'eight'");
  EXPECT_EQ(error_for("daemon: {workers: 2.5}\n"), file() + ":1: daemon.workers: expected an integer, got '2.5'");
  EXPECT_EQ(error_for("timezone:\n  - a\n  - b\n"), file() + ":2: timezone: expected a string, got a list");
  EXPECT_EQ(error_for("daemon: fast\n"), file() + ":1: daemon: expected a map of settings, got 'fast'");
  EXPECT_EQ(error_for("platforms:\n  x: [1]\n"), file() + ":2: platforms.x: expected a map of settings, got a list");
  EXPECT_EQ(error_for("platforms:\n  x: {client_id: {a: b}}\n"),
            file() + ":2: platforms.x.client_id: expected a string, got a map");
  EXPECT_EQ(error_for("log:\n  level: verbose\n"),
            file() + ":2: log.level: expected one of trace, debug, info, warn, error, off; got 'verbose'");
  EXPECT_EQ(error_for("notify: {webhook: {format: teams}}\n"),
            file() + ":1: notify.webhook.format: expected one of json, slack, discord; got 'teams'");
  EXPECT_EQ(error_for("platforms:\n  x: {redirect_port: http}\n"),
            file() + ":2: platforms.x.redirect_port: expected an integer, got 'http'");
}

TEST_F(ConfigTest, OutOfRangeIntegers) {
  EXPECT_EQ(error_for("daemon:\n  workers: 300\n"), file() + ":2: daemon.workers: must be between 1 and 256, got 300");
  EXPECT_EQ(error_for("daemon:\n  workers: 0\n"), file() + ":2: daemon.workers: must be between 1 and 256, got 0");
  EXPECT_EQ(error_for("daemon:\n  max_attempts: -1\n"),
            file() + ":2: daemon.max_attempts: must be between 1 and 100, got -1");
  EXPECT_EQ(error_for("feed:\n  max_entries: 99999999999999999999999\n"),
            file() + ":2: feed.max_entries: must be between 1 and 100000, got 99999999999999999999999");
}

TEST_F(ConfigTest, RestCorsOriginsAndTls) {
  EXPECT_TRUE(load_text("").daemon.http_cors_origins.empty()) << "no origin may call the API by default";
  const Config c = load_text(
      "daemon:\n  http:\n    cors_origins: [https://app.example.com, http://localhost:5173]\n"
      "  tls: {cert: /etc/multivio/cert.pem, key: /etc/multivio/key.pem}\n");
  EXPECT_EQ(c.daemon.http_cors_origins, (std::vector<std::string>{"https://app.example.com", "http://localhost:5173"}));
  EXPECT_EQ(c.daemon.tls_cert, "/etc/multivio/cert.pem");
  EXPECT_EQ(c.daemon.tls_key, "/etc/multivio/key.pem");
  EXPECT_EQ(c.to_json()["daemon"]["http"]["cors_origins"].size(), 2u);
  // What a browser sends in Origin never has a path or a wildcard; a value
  // that could never match is an error, not a silent no-op.
  for (const std::string bad : {"app.example.com", "https://app.example.com/", "https://*.example.com", "*",
                                "https://app.example.com/ui"}) {
    EXPECT_EQ(error_for("daemon:\n  http:\n    cors_origins: ['" + bad + "']\n"),
              file() + ":3: daemon.http.cors_origins: '" + bad +
                  "' is not an origin like https://app.example.com or http://localhost:5173")
        << bad;
  }
}

TEST_F(ConfigTest, BadDurations) {
  EXPECT_EQ(error_for("daemon:\n  lease: soon\n"),
            file() + ":2: daemon.lease: invalid duration 'soon' (use forms like 30s, 5m, 2h)");
  EXPECT_EQ(error_for("ai:\n  timeout: -5s\n"),
            file() + ":2: ai.timeout: invalid duration '-5s' (use forms like 30s, 5m, 2h)");
  EXPECT_EQ(error_for("daemon:\n  poll_interval: 0s\n"), file() + ":2: daemon.poll_interval: must be longer than zero");
}

TEST_F(ConfigTest, MalformedYamlNamesFileAndLine) {
  const auto msg = error_for("timezone: UTC\ndaemon:\n  workers: 2\n   lease: 3s\n");
  EXPECT_THAT(msg, StartsWith(file() + ":4: malformed YAML: "));
  EXPECT_THAT(error_for("daemon: {workers: 2\n"), StartsWith(file() + ":"));
  EXPECT_THAT(error_for("daemon: {workers: 2\n"), HasSubstr(": malformed YAML: "));
}

TEST_F(ConfigTest, TopLevelMustBeAMap) {
  EXPECT_EQ(error_for("- database\n- timezone\n"), file() + ":1: the top level must be a map of settings, got a list");
  EXPECT_EQ(error_for("\n\nhello\n"), file() + ":3: the top level must be a map of settings, got 'hello'");
}

TEST_F(ConfigTest, DuplicatesAndExtraDocumentsAreErrors) {
  EXPECT_EQ(error_for("daemon:\n  workers: 2\n  workers: 3\n"), file() + ":3: daemon.workers: duplicate key 'workers'");
  EXPECT_EQ(error_for("timezone: UTC\n---\ntimezone: Asia/Tokyo\n"), file() + ":3: only one YAML document is allowed");
}

TEST_F(ConfigTest, EnvironmentOverridesTheFile) {
  write("config.yaml", "database: sqlite:///from/file.db\nkey_file: /file/key\nlog: {level: debug}\n");
  vars_["MULTIVIO_DB"] = "postgresql://localhost/mv";
  vars_["MULTIVIO_KEY_FILE"] = "/env/key";
  vars_["MULTIVIO_LOG_LEVEL"] = "warn";
  const Config c = load(file(), env());
  EXPECT_EQ(c.database, "postgresql://localhost/mv");
  EXPECT_EQ(c.key_file, "/env/key");
  EXPECT_EQ(c.log.level, "warn");
  EXPECT_EQ(c.origins.at("database"), "env MULTIVIO_DB");
  EXPECT_EQ(c.origins.at("key_file"), "env MULTIVIO_KEY_FILE");
  EXPECT_EQ(c.origins.at("log.level"), "env MULTIVIO_LOG_LEVEL");

  vars_["MULTIVIO_LOG_LEVEL"] = "loud";
  try {
    load(file(), env());
    FAIL() << "bad MULTIVIO_LOG_LEVEL accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_THAT(e.what(), HasSubstr("MULTIVIO_LOG_LEVEL"));
    EXPECT_THAT(e.what(), HasSubstr("'loud'"));
  }
}

TEST_F(ConfigTest, EmptyEnvironmentValuesAreIgnored) {
  vars_["MULTIVIO_DB"] = "";
  vars_["MULTIVIO_CONFIG"] = "";
  const Config c = load(std::nullopt, env());
  EXPECT_EQ(c.origins.at("database"), "default");
}

TEST_F(ConfigTest, MissingExplicitFileIsAnError) {
  const auto missing = (dir_ / "nope.yaml").string();
  try {
    load(missing, env());
    FAIL() << "missing --config accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_EQ(std::string(e.what()), "config file " + missing + " does not exist");
  }
  vars_["MULTIVIO_CONFIG"] = missing;
  EXPECT_THROW(load(std::nullopt, env()), Error);
}

TEST_F(ConfigTest, ConfigFileChoiceOrder) {
  write("home/.config/multivio/config.yaml", "timezone: Default/Zone\n");
  const auto from_env = write("env.yaml", "timezone: Env/Zone\n");
  const auto from_flag = write("flag.yaml", "timezone: Flag/Zone\n");
  vars_["MULTIVIO_CONFIG"] = from_env;
  EXPECT_EQ(load(std::nullopt, env()).timezone, "Env/Zone");
  EXPECT_EQ(load(std::nullopt, env()).file, from_env);
  EXPECT_EQ(load(from_flag, env()).timezone, "Flag/Zone");
  vars_.erase("MULTIVIO_CONFIG");
  EXPECT_EQ(load(std::nullopt, env()).timezone, "Default/Zone");
}

TEST_F(ConfigTest, TildeExpansion) {
  const Config c = load_text("key_file: ~/keys/mv\ndata_dir: ~/data\ndatabase: sqlite://~/db/mv.db\n");
  EXPECT_EQ(c.key_file, home_ + "/keys/mv");
  EXPECT_EQ(c.data_dir, home_ + "/data");
  EXPECT_EQ(c.database, "sqlite://" + home_ + "/db/mv.db");

  vars_["MULTIVIO_KEY_FILE"] = "~/env-key";
  EXPECT_EQ(load(std::nullopt, env()).key_file, home_ + "/env-key");

  EXPECT_EQ(expand_home("~", env()), home_);
  EXPECT_EQ(expand_home("~/a/b", env()), home_ + "/a/b");
  EXPECT_EQ(expand_home("/abs/~/x", env()), "/abs/~/x");
  EXPECT_EQ(expand_home("~other/x", env()), "~other/x");
  EXPECT_EQ(expand_home("rel", env()), "rel");
}

TEST_F(ConfigTest, DataDirMovesTheDefaultDatabase) {
  const Config c = load_text("data_dir: /srv/mv\n");
  EXPECT_EQ(c.database, "sqlite:///srv/mv/multivio.db");
  EXPECT_EQ(load_text("data_dir: /srv/mv\ndatabase: sqlite:///elsewhere.db\n").database, "sqlite:///elsewhere.db");
}

TEST(ParseDuration, AcceptsUnits) {
  const std::pair<std::string, std::chrono::milliseconds> table[] = {
      {"250ms", 250ms}, {"30s", 30s}, {"90m", 90min}, {"2h", 2h},   {"1d", 24h},
      {"45", 45s},      {"0", 0ms},   {"0ms", 0ms},   {"007s", 7s}, {"100000d", 100000 * 24h},
  };
  for (const auto& [text, expected] : table) EXPECT_EQ(parse_duration(text), expected) << text;
}

TEST(ParseDuration, RejectsGarbageNegativesAndOverflow) {
  for (const std::string bad : {"", "s", "ms", "-5s", "+5s", " 5s", "5s ", "5 s", "1.5h", "5x", "5S", "5sec", "5m5s",
                                "1e3", "9223372036854775807s", "106751991167301d", "99999999999999999999999"}) {
    try {
      parse_duration(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage);
      EXPECT_EQ(std::string(e.what()), "invalid duration '" + bad + "' (use forms like 30s, 5m, 2h)");
    }
  }
}

// ---------------------------------------------------------------- notify

TEST_F(ConfigTest, NotifyDefaults) {
  const Config c = load(std::nullopt, env());
  EXPECT_EQ(c.notify.batch_window, 30s);
  EXPECT_EQ(c.notify.timeout, 30s);
  EXPECT_EQ(c.notify.webhook_url, "");
  EXPECT_EQ(c.notify.webhook_format, "json");
  EXPECT_EQ(c.notify.email.provider, "smtp");
  EXPECT_EQ(c.notify.email.subject_prefix, "[multivio]");
  EXPECT_TRUE(c.notify.email.starttls);
  EXPECT_FALSE(c.notify.email.enabled());
  EXPECT_EQ(c.origins.at("notify.email.smtp_url"), "default");
}

TEST_F(ConfigTest, NotifySection) {
  const Config c = load_text(R"(notify:
  batch_window: 1m
  timeout: 10s
  webhook: {url: "https://discord.com/api/webhooks/123/tok3n", format: discord}
  email:
    provider: smtp
    from: "Multivio <alerts@example.com>"
    to:
      - ops@example.com
      - "Dev <dev@example.com>"
    subject_prefix: "[mv]"
    smtp_url: smtp://mail.example.com:587
    starttls: false
    username_env: SMTP_USER
    password_env: SMTP_PASS
)");
  EXPECT_EQ(c.notify.batch_window, 60s);
  EXPECT_EQ(c.notify.timeout, 10s);
  EXPECT_EQ(c.notify.webhook_url, "https://discord.com/api/webhooks/123/tok3n");
  EXPECT_EQ(c.notify.webhook_format, "discord");
  const auto& e = c.notify.email;
  EXPECT_TRUE(e.enabled());
  EXPECT_EQ(e.from, "Multivio <alerts@example.com>");
  EXPECT_EQ(e.to, (std::vector<std::string>{"ops@example.com", "Dev <dev@example.com>"}));
  EXPECT_EQ(e.subject_prefix, "[mv]");
  EXPECT_EQ(e.smtp_url, "smtp://mail.example.com:587");
  EXPECT_FALSE(e.starttls);
  EXPECT_EQ(e.username_env, "SMTP_USER");
  EXPECT_EQ(e.password_env, "SMTP_PASS");
  EXPECT_EQ(c.origins.at("notify.email.to"), file() + ":9");
  EXPECT_EQ(c.origins.at("notify.email.starttls"), file() + ":13");

  const auto j = c.to_json()["notify"];
  EXPECT_EQ(j["batch_window"], "1m");
  EXPECT_EQ(j["webhook"]["url"], "https://discord.com/***");  // the token is in the path
  EXPECT_EQ(j["email"]["to"][1], "Dev <dev@example.com>");
  EXPECT_EQ(j["email"]["password_env"], "SMTP_PASS");
  EXPECT_EQ(j["email"]["starttls"], false);
}

TEST_F(ConfigTest, NotifyEmailApiProviders) {
  const Config c = load_text(
      "notify:\n  email: {provider: mailgun, from: a@example.com, to: \"x@example.com, y@example.com\",\n"
      "          domain: mg.example.com, api_key_env: MG_KEY, api_base: \"http://127.0.0.1:9\"}\n");
  EXPECT_EQ(c.notify.email.provider, "mailgun");
  EXPECT_EQ(c.notify.email.to, (std::vector<std::string>{"x@example.com", "y@example.com"}));
  EXPECT_EQ(c.notify.email.domain, "mg.example.com");
  EXPECT_EQ(c.notify.email.api_key_env, "MG_KEY");
  EXPECT_EQ(c.notify.email.api_base, "http://127.0.0.1:9");
  EXPECT_EQ(load_text("notify: {email: {provider: resend, from: a@b.c, to: d@e.f}}\n").notify.email.provider, "resend");
}

TEST_F(ConfigTest, NotifyErrors) {
  EXPECT_EQ(error_for("notify:\n  batch_window: 30s\n  email:\n    from: a@example.com\n    to: b@example.com\n"),
            file() + ":4: notify.email: 'smtp_url' is required for provider smtp");
  EXPECT_EQ(error_for("notify:\n  email:\n    provider: mailgun\n    from: a@b.c\n    to: d@e.f\n"),
            file() + ":3: notify.email: 'domain' is required for provider mailgun");
  EXPECT_EQ(error_for("notify:\n  email:\n    provider: resend\n    from: a@b.c\n"),
            file() + ":3: notify.email: 'to' is required (one address or a list)");
  EXPECT_EQ(error_for("notify:\n  email:\n    provider: postmark\n"),
            file() + ":3: notify.email.provider: expected one of smtp, resend, sendgrid, mailgun; got 'postmark'");
  EXPECT_EQ(error_for("notify:\n  email:\n    starttls: maybe\n"),
            file() + ":3: notify.email.starttls: expected true or false, got 'maybe'");
  EXPECT_EQ(error_for("notify:\n  email:\n    to:\n      - a@b.c\n      - {x: y}\n"),
            file() + ":5: notify.email.to: expected a string, got a map");
  EXPECT_EQ(error_for("notify:\n  email:\n    to: \"a@b.c,,d@e.f\"\n"),
            file() + ":3: notify.email.to: empty entry in the list");
  EXPECT_THAT(error_for("notify:\n  email:\n    smtp_url: \"smtp://u:pw@mail.example.com\"\n"),
              StartsWith(file() + ":3: notify.email.smtp_url: credentials do not belong in the URL"));
  EXPECT_EQ(error_for("notify:\n  email:\n    smtp_url: mail.example.com:25\n"),
            file() + ":3: notify.email.smtp_url: expected a URL smtp://... or smtps://..., got 'mail.example.com:25'");
  EXPECT_EQ(error_for("notify: {webhook: {url: hooks.example}}\n"),
            file() + ":1: notify.webhook.url: expected a URL http://... or https://..., got 'hooks.example'");
  EXPECT_EQ(error_for("notify:\n  email:\n    password_env: P\n    from: a@b.c\n    to: d@e.f\n"
                      "    smtp_url: smtp://h\n"),
            file() + ":3: notify.email: set both 'username_env' and 'password_env', or neither");
  EXPECT_EQ(error_for("notify:\n  emial: {}\n"),
            file() + ":2: notify.emial: unknown key 'emial' (did you mean 'email'?)");
}

}  // namespace
}  // namespace multivio::config
