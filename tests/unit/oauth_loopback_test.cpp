// SPDX-License-Identifier: MIT
// The loopback redirect receiver (a real socket on 127.0.0.1) and the parser
// for redirect URLs pasted with --no-browser.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/http/client.hpp"
#include "common/oauth/auth_error.hpp"
#include "common/oauth/loopback.hpp"

namespace multivio::oauth {
namespace {

using namespace std::chrono_literals;

// A listening socket on 127.0.0.1, to hold a port or to learn a free one.
class PortHolder {
 public:
  PortHolder() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 1) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      port_ = 0;
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~PortHolder() { release(); }
  void release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class LoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      receiver_ = std::make_unique<LoopbackReceiver>("expected-state");
    } catch (const Error& e) {
      GTEST_SKIP() << "no loopback socket: " << e.what();
    }
    http_ = http::make_client();
  }

  // The browser following the redirect.
  http::Response visit(const std::string& url) {
    http::Request r;
    r.url = url;
    r.total_timeout = 5s;
    return http_->send(r);
  }

  std::unique_ptr<LoopbackReceiver> receiver_;
  std::unique_ptr<http::Client> http_;
};

TEST_F(LoopbackTest, RedirectUriNamesTheBoundPort) {
  EXPECT_GT(receiver_->port(), 0);
  EXPECT_EQ(receiver_->redirect_uri(), "http://127.0.0.1:" + std::to_string(receiver_->port()) + "/callback");
}

TEST_F(LoopbackTest, ReceivesTheCodeAndThanksTheBrowser) {
  const http::Response page = visit(receiver_->redirect_uri() + "?code=abc%2F123&state=expected-state");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("multivio: you can close this tab"), std::string::npos);
  EXPECT_NE(page.header("Content-Type").value_or("").find("text/html"), std::string::npos);
  EXPECT_EQ(page.header("Cache-Control"), "no-store");

  const AuthorizationResponse r = receiver_->wait(5s);
  EXPECT_EQ(r.code, "abc/123");
  EXPECT_EQ(r.state, "expected-state");

  // Later visits (a reload) do not change the answer.
  const http::Response again = visit(receiver_->redirect_uri() + "?code=other&state=expected-state");
  EXPECT_NE(again.body.find("finished"), std::string::npos);
  EXPECT_EQ(receiver_->wait(10ms).code, "abc/123");
}

TEST_F(LoopbackTest, StateMismatchFailsAndTheBrowserIsTold) {
  const http::Response page = visit(receiver_->redirect_uri() + "?code=abc&state=forged");
  EXPECT_EQ(page.status, 400);
  EXPECT_NE(page.body.find("linking failed"), std::string::npos);
  EXPECT_NE(page.body.find("does not match"), std::string::npos);
  try {
    receiver_->wait(5s);
    FAIL() << "no throw";
  } catch (const AuthError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::auth);
    EXPECT_EQ(e.oauth_error, "state_mismatch");
    EXPECT_FALSE(e.relink_required);
  }
}

TEST_F(LoopbackTest, ErrorRedirectShowsAnEscapedErrorPage) {
  const http::Response page = visit(receiver_->redirect_uri() +
                                    "?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
                                    "&state=expected-state");
  EXPECT_EQ(page.status, 400);
  EXPECT_NE(page.body.find("linking failed"), std::string::npos);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_NE(page.body.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  try {
    receiver_->wait(5s);
    FAIL() << "no throw";
  } catch (const AuthError& e) {
    EXPECT_EQ(e.oauth_error, "access_denied");
    EXPECT_NE(std::string(e.what()).find("access_denied"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("not granted"), std::string::npos);
  }
}

TEST_F(LoopbackTest, StrayVisitsDoNotEndTheWait) {
  EXPECT_EQ(visit(receiver_->redirect_uri()).status, 400);
  EXPECT_EQ(visit(receiver_->redirect_uri() + "?foo=bar").status, 400);
  EXPECT_EQ(visit("http://127.0.0.1:" + std::to_string(receiver_->port()) + "/favicon.ico").status, 404);
  EXPECT_THROW(receiver_->wait(50ms), Error);
  visit(receiver_->redirect_uri() + "?state=expected-state&code=late");
  EXPECT_EQ(receiver_->wait(5s).code, "late");
}

TEST_F(LoopbackTest, TimesOutWithAHintForSshSessions) {
  const auto start = std::chrono::steady_clock::now();
  try {
    receiver_->wait(1000ms);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_STREQ(e.what(), "no answer from the browser within 1 s; rerun with --no-browser to paste the redirect URL");
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1000ms);
}

TEST(Loopback, ChosenPortAndBusyPort) {
  PortHolder probe;
  if (probe.port() == 0) GTEST_SKIP() << "no loopback socket";
  const int port = probe.port();
  try {
    LoopbackReceiver busy("s", port);
    FAIL() << "bound a port another socket listens on";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find(std::to_string(port)), std::string::npos);
  }
  probe.release();
  LoopbackReceiver chosen("s", port, "oauth/done");
  EXPECT_EQ(chosen.port(), port);
  EXPECT_EQ(chosen.redirect_uri(), "http://127.0.0.1:" + std::to_string(port) + "/oauth/done");
  EXPECT_THROW(LoopbackReceiver("s", 70000), Error);
}

// ---------------------------------------------------------------- --no-browser

TEST(PastedRedirect, FullUrlQueryOnlyAndBareCode) {
  const auto full = parse_pasted_redirect("  http://127.0.0.1:8765/callback?state=S1&code=c%2Bd\n", "S1");
  EXPECT_EQ(full.code, "c+d");
  EXPECT_EQ(full.state, "S1");
  EXPECT_EQ(parse_pasted_redirect("https://example.com/cb?code=abc&state=S1#_", "S1").code, "abc");  // Meta's "#_"
  EXPECT_EQ(parse_pasted_redirect("code=xyz&state=S1", "S1").code, "xyz");
  const auto bare = parse_pasted_redirect("4/0AbCdEf-123_x.y~z", "S1");
  EXPECT_EQ(bare.code, "4/0AbCdEf-123_x.y~z");
  EXPECT_EQ(bare.state, "");
  // Without an expected state, a URL's state is returned unchecked.
  EXPECT_EQ(parse_pasted_redirect("http://h/cb?code=a&state=whatever").state, "whatever");
}

TEST(PastedRedirect, StateIsCheckedWhenTheUrlIsPasted) {
  for (const char* url : {"http://127.0.0.1:8765/callback?code=a&state=S2", "http://127.0.0.1:8765/callback?code=a"}) {
    try {
      parse_pasted_redirect(url, "S1");
      ADD_FAILURE() << url;
    } catch (const AuthError& e) {
      EXPECT_EQ(e.oauth_error, "state_mismatch") << url;
    }
  }
}

TEST(PastedRedirect, ErrorRedirectIsAnAuthError) {
  try {
    parse_pasted_redirect("http://127.0.0.1:1/callback?error=access_denied&error_description=User+said+no&state=S",
                          "S");
    FAIL() << "no throw";
  } catch (const AuthError& e) {
    EXPECT_EQ(e.oauth_error, "access_denied");
    EXPECT_NE(std::string(e.what()).find("User said no"), std::string::npos);
  }
}

TEST(PastedRedirect, MalformedInputIsAUsageErrorSayingWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "nothing was pasted"},
      {"   \n", "nothing was pasted"},
      {"abc def", "spaces"},
      {"http://127.0.0.1:8765/callback", "no query string"},
      {"http://127.0.0.1:8765/callback?state=S", "neither a code nor an error"},
      {"http://127.0.0.1:8765/callback?code=%zz&state=S", "malformed"},
      {"a&b", "neither a redirect URL nor a code"},
  };
  for (const auto& [input, expected] : cases) {
    try {
      parse_pasted_redirect(input, "S");
      ADD_FAILURE() << "accepted '" << input << "'";
    } catch (const AuthError& e) {
      ADD_FAILURE() << "AuthError for '" << input << "': " << e.what();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage) << input;
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << input << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace multivio::oauth
