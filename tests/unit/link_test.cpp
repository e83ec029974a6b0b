// SPDX-License-Identifier: MIT
// app::link_oauth2 end to end against the fake Mastodon instance, in the
// --no-browser shape: the "user" opens the URL (a GET that stops at the
// consent page's redirect) and pastes the address it leads to.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "common/app/link.hpp"
#include "common/crypto/crypto.hpp"
#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/oauth/auth_error.hpp"
#include "tests/fakes/mastodon_server.hpp"
#include "tests/fakes/oauth_server.hpp"

namespace multivio::app {
namespace {

namespace fs = std::filesystem;
using fakes::MastodonServer;

class LinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::off);
    try {
      server_ = std::make_unique<MastodonServer>();
    } catch (const std::exception& e) {
      GTEST_SKIP() << "no loopback socket: " << e.what();
    }
    std::string tmpl = (fs::temp_directory_path() / "multivio-link-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ / "config.yaml") << "daemon:\n  http_timeout: 5s\n  connect_timeout: 2s\n";
    env_ = {{"HOME", dir_.string()}, {"TZ", "UTC"}, {"MULTIVIO_KEY", crypto::base64_encode(crypto::random_bytes(32))}};
    Options o;
    o.config_path = (dir_ / "config.yaml").string();
    o.database = (dir_ / "multivio.db").string();
    o.env = [env = env_](const std::string& name) -> std::optional<std::string> {
      const auto it = env.find(name);
      return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    ctx_ = std::make_unique<Context>(o);
    http_ = http::make_client();
  }

  void TearDown() override {
    ctx_.reset();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  OAuth2LinkRequest request(const std::string& name) const {
    OAuth2LinkRequest r;
    r.account.platform = "mastodon";
    r.account.name = name;
    r.account.options = {{"instance", server_->base_url()}};
    r.no_browser = true;
    return r;
  }

  // Opens the URL like a browser would and returns where the consent page
  // sends it, optionally after `tamper` changed it.
  LinkPrompt paste_prompt(std::function<std::string(std::string)> tamper = {}) {
    LinkPrompt p;
    p.show_url = [this](const std::string& url, bool browser) {
      shown_ = url;
      opened_browser_ = browser;
    };
    p.read_line = [this, tamper](const std::string&) {
      http::Request req;
      req.url = shown_;
      const http::Response resp = http_->send(req);
      EXPECT_EQ(resp.status, 302) << resp.body;
      std::string location = resp.header("Location").value_or("");
      return tamper ? tamper(location) : location;
    };
    return p;
  }

  std::unique_ptr<MastodonServer> server_;
  fs::path dir_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<Context> ctx_;
  std::unique_ptr<http::Client> http_;
  std::string shown_;
  bool opened_browser_ = true;
};

TEST_F(LinkTest, PastedRedirectLinksTheAccountAndTheAppIsRegisteredOnce) {
  const model::Account a = link_oauth2(*ctx_, request("one"), paste_prompt());
  EXPECT_FALSE(opened_browser_) << "--no-browser never starts a browser";
  EXPECT_NE(shown_.find("redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback"), std::string::npos) << shown_;
  EXPECT_NE(shown_.find("code_challenge="), std::string::npos);
  EXPECT_NE(shown_.find("state="), std::string::npos);
  EXPECT_EQ(a.handle, "@alice@127.0.0.1:" + std::to_string(server_->port()));
  const auto secrets = open_secrets(*ctx_, a);
  ASSERT_EQ(server_->issued_tokens().size(), 1u);
  EXPECT_EQ(secrets["access_token"], server_->issued_tokens()[0]);
  EXPECT_FALSE(secrets.value("client_secret", "").empty()) << "the app's credentials stay with the account";

  // Same instance and redirect URI: the registration is reused.
  link_oauth2(*ctx_, request("two"), paste_prompt());
  EXPECT_EQ(server_->apps_registered(), 1u);
  EXPECT_EQ(server_->issued_tokens().size(), 2u);
}

TEST_F(LinkTest, TamperedStateIsRefusedAndNothingIsStored) {
  auto tamper = [](std::string location) {
    const auto at = location.find("state=");
    return location.substr(0, at) + "state=forged";
  };
  try {
    link_oauth2(*ctx_, request("evil"), paste_prompt(tamper));
    FAIL() << "a forged state must be refused";
  } catch (const oauth::AuthError& e) {
    EXPECT_EQ(e.oauth_error, "state_mismatch");
  }
  EXPECT_TRUE(list_accounts(*ctx_).empty());
  EXPECT_TRUE(server_->issued_tokens().empty()) << "the code was never exchanged";
}

TEST_F(LinkTest, BareCodePastedIsExchanged) {
  auto code_only = [](std::string location) {
    const auto at = location.find("code=") + 5;
    return location.substr(at, location.find('&', at) - at);
  };
  const model::Account a = link_oauth2(*ctx_, request("code"), paste_prompt(code_only));
  EXPECT_EQ(a.ref(), "mastodon:code");
}

TEST_F(LinkTest, NetworksWithoutOAuthSayHowToLinkThem) {
  OAuth2LinkRequest r;
  r.account.platform = "webhook";
  r.account.name = "w";
  r.account.options = {{"url", "http://127.0.0.1:9/hook"}};
  r.no_browser = true;
  try {
    link_oauth2(*ctx_, std::move(r), paste_prompt());
    FAIL() << "webhooks have no OAuth";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("not linked with --oauth"), std::string::npos) << e.what();
  }
}

// X's OAuth 1.0a PIN flow: request token, the user approves on the page
// and reads the PIN, access token; the fake verifies every signature.
TEST_F(LinkTest, OAuth1PinFlowStoresTheUsersTokenCredentials) {
  fakes::OAuthServer oauth;
  oauth.add_consumer("ck-1", "cs-1");
  std::ofstream(dir_ / "config.yaml", std::ios::app) << "platforms:\n  x:\n    api_base: " << oauth.base_url() << "\n";
  ctx_->reload_config();

  OAuth1LinkRequest r;
  r.account.platform = "x";
  r.account.name = "pin";
  r.consumer_key = "ck-1";
  r.consumer_secret = "cs-1";
  std::string shown;
  LinkPrompt prompt;
  prompt.show_url = [&](const std::string& url, bool) { shown = url; };
  prompt.read_line = [&](const std::string&) {
    const auto at = shown.find("oauth_token=");
    EXPECT_NE(at, std::string::npos) << shown;
    const std::string temporary = shown.substr(at + 12, shown.find('&', at) - at - 12);
    http::Request page;  // the user opens the page, which shows the PIN
    page.url = shown;
    EXPECT_EQ(http_->send(page).status, 200);
    return oauth.oauth1_pin(temporary).value_or("no-pin");
  };
  const model::Account a = link_oauth1(*ctx_, std::move(r), prompt);
  EXPECT_EQ(a.handle, "fakeuser");
  const auto secrets = open_secrets(*ctx_, a);
  EXPECT_EQ(secrets["consumer_key"], "ck-1");
  EXPECT_FALSE(secrets.value("token", "").empty());
  EXPECT_FALSE(secrets.value("token_secret", "").empty());
  for (const auto& check : oauth.oauth1_checks()) EXPECT_TRUE(check.ok) << check.path << ": " << check.reason;

  // A wrong PIN is refused and nothing is stored.
  OAuth1LinkRequest bad;
  bad.account.platform = "x";
  bad.account.name = "badpin";
  bad.consumer_key = "ck-1";
  bad.consumer_secret = "cs-1";
  prompt.read_line = [](const std::string&) { return std::string("0000000"); };
  EXPECT_THROW(link_oauth1(*ctx_, std::move(bad), prompt), Error);
  EXPECT_EQ(list_accounts(*ctx_).size(), 1u);
}

}  // namespace
}  // namespace multivio::app
